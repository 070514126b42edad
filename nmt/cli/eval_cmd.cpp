// strata eval: sacreBLEU-exact BLEU / chrF / chrF++ of a hypothesis file, or of a model on every
// direction of a benchmark split.
#include <boost/program_options.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/clean.h"
#include "data/data_config.h"
#include "nmt/util/error.h"
#include "data/prepare.h"
#include "nmt/cli/commands.h"
#include "nmt/decode/translator.h"
#include "nmt/eval/bleu.h"
#include "nmt/eval/chrf.h"
#include "nmt/eval/tokenizers.h"
#include "nmt/model/checkpoint.h"
#include "nmt/util/system.h"

namespace po = boost::program_options;

namespace strata::cli {

namespace {

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    lines.push_back(l);
  }
  return lines;
}

std::vector<std::string> split_csv(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');)
    if (!x.empty()) out.push_back(x);
  return out;
}

int score_files(const po::variables_map& vm) {
  auto hyps = read_lines(vm["hyp"].as<std::string>());
  auto refs = read_lines(vm["ref"].as<std::string>());
  if (hyps.size() != refs.size())
    throw Error("--hyp has " + std::to_string(hyps.size()) + " lines but --ref has " +
                std::to_string(refs.size()));
  eval::BleuTokenizer tok = eval::BleuTokenizer::k13a;
  if (vm.count("tokenize")) {
    try {
      tok = eval::parse_tokenizer(vm["tokenize"].as<std::string>());
    } catch (const std::invalid_argument&) {
      throw Error("--tokenize: expected 13a, zh, char, none or intl, got '" +
                  vm["tokenize"].as<std::string>() + "'");
    }
  } else if (vm.count("tgt-lang")) {
    tok = eval::default_tokenizer_for(vm["tgt-lang"].as<std::string>());
  }
  for (const auto& m : split_csv(vm["metrics"].as<std::string>())) {
    if (m == "bleu") std::printf("%s\n", eval::corpus_bleu(hyps, refs, tok).format(2, true).c_str());
    else if (m == "chrf") std::printf("%s\n", eval::corpus_chrf(hyps, refs, 0).format(2, true).c_str());
    else if (m == "chrf++") std::printf("%s\n", eval::corpus_chrf(hyps, refs, 2).format(2, true).c_str());
    else throw Error("--metrics: unknown metric '" + m + "' (bleu, chrf, chrf++)");
  }
  return 0;
}

struct DirScore {
  double bleu = 0, chrf = 0, copy_chrf = 0;
  size_t n = 0;
};

void print_matrix(const char* title, const std::vector<std::string>& langs,
                  const std::map<std::pair<std::string, std::string>, DirScore>& s,
                  double DirScore::*field) {
  std::printf("\n%s (rows: source, columns: target)\n| src\\tgt |", title);
  for (const auto& l : langs) std::printf(" %s |", l.c_str());
  std::printf("\n|---|");
  for (size_t i = 0; i < langs.size(); ++i) std::printf("---:|");
  std::printf("\n");
  for (const auto& a : langs) {
    std::printf("| %s |", a.c_str());
    for (const auto& b : langs) {
      auto it = s.find({a, b});
      if (it == s.end()) std::printf(" - |");
      else std::printf(" %.1f |", it->second.*field);
    }
    std::printf("\n");
  }
}

int score_model(const po::variables_map& vm) {
  set_threads(vm["threads"].as<int>());
  nmt::Translator tr(nmt::load_checkpoint(vm["model"].as<std::string>()));
  std::string data_cfg_path =
      vm.count("data") ? vm["data"].as<std::string>() : tr.config().train.data;
  data::DataConfig dcfg = data::load_data_config(data_cfg_path, {});
  nmt::SearchOptions opt = tr.default_options();
  if (vm.count("beam")) opt.beam = vm["beam"].as<int>();
  opt.nbest = 1;
  int max_sent = vm["max-sentences"].as<int>();
  int batch = tr.config().decode.batch_size;
  nlohmann::json report;
  for (const auto& split : split_csv(vm["split"].as<std::string>())) {
    std::vector<std::string> langs;
    auto rows = data::read_split(dcfg.out_dir + "/" + split + ".tsv", &langs);
    size_t en = std::find(langs.begin(), langs.end(), "en") - langs.begin();
    std::map<std::pair<std::string, std::string>, DirScore> scores;
    std::vector<std::string> model_langs;
    for (const auto& l : langs)
      if (std::find(tr.langs().begin(), tr.langs().end(), l) != tr.langs().end())
        model_langs.push_back(l);
    std::fprintf(stderr, "[eval] %s: %zu directions, up to %d sentences each, beam %d\n",
                 split.c_str(), model_langs.size() * (model_langs.size() - 1), max_sent, opt.beam);
    for (size_t a = 0; a < langs.size(); ++a)
      for (size_t b = 0; b < langs.size(); ++b) {
        if (a == b) continue;
        if (std::find(model_langs.begin(), model_langs.end(), langs[a]) == model_langs.end() ||
            std::find(model_langs.begin(), model_langs.end(), langs[b]) == model_langs.end())
          continue;
        std::vector<std::string> src, ref;
        for (const auto& r : rows) {
          if (r.text[a].empty() || r.text[b].empty()) continue;
          if (data::count_words(r.text[en]) < dcfg.split.eval_min_words) continue;
          src.push_back(r.text[a]);
          ref.push_back(r.text[b]);
          if (max_sent > 0 && static_cast<int>(src.size()) >= max_sent) break;
        }
        if (src.empty()) continue;
        auto out = tr.translate(src, langs[b], opt, batch, langs[a]);
        std::vector<std::string> hyp;
        for (auto& o : out) hyp.push_back(o.empty() ? "" : o[0].text);
        DirScore d;
        d.n = src.size();
        d.bleu = eval::corpus_bleu(hyp, ref, eval::default_tokenizer_for(langs[b])).score;
        d.chrf = eval::corpus_chrf(hyp, ref).score;
        d.copy_chrf = eval::corpus_chrf(src, ref).score;  // baseline: copy the source
        scores[{langs[a], langs[b]}] = d;
        std::fprintf(stderr, "[eval] %s %s-%s: BLEU %.2f chrF %.2f (copy-source chrF %.2f), %zu sentences\n",
                     split.c_str(), langs[a].c_str(), langs[b].c_str(), d.bleu, d.chrf, d.copy_chrf, d.n);
        report[split]["directions"][langs[a] + "-" + langs[b]] = {
            {"bleu", d.bleu}, {"chrf", d.chrf}, {"copy_chrf", d.copy_chrf}, {"sentences", d.n}};
      }
    // Averages: en->xx, xx->en, non-English.
    struct Avg {
      double bleu = 0, chrf = 0, copy = 0;
      int n = 0;
    };
    std::map<std::string, Avg> avg;
    int beats_copy = 0;
    for (const auto& [k, d] : scores) {
      std::string g = k.first == "en" ? "en->xx" : k.second == "en" ? "xx->en" : "non-English";
      for (const std::string& key : {g, std::string("all")}) {
        avg[key].bleu += d.bleu;
        avg[key].chrf += d.chrf;
        avg[key].copy += d.copy_chrf;
        avg[key].n++;
      }
      beats_copy += d.chrf > d.copy_chrf;
    }
    std::printf("\n== %s (%s, beam %d, signature BLEU %s / chrF %s)\n", split.c_str(),
                vm["model"].as<std::string>().c_str(), opt.beam,
                eval::corpus_bleu({"a"}, {"a"}).signature.c_str(),
                eval::corpus_chrf({"a"}, {"a"}).signature.c_str());
    print_matrix("BLEU", model_langs, scores, &DirScore::bleu);
    print_matrix("chrF", model_langs, scores, &DirScore::chrf);
    std::printf("\n| average | directions | BLEU | chrF | copy-source chrF |\n|---|---:|---:|---:|---:|\n");
    for (const char* g : {"en->xx", "xx->en", "non-English", "all"}) {
      auto it = avg.find(g);
      if (it == avg.end()) continue;
      const Avg& a = it->second;
      std::printf("| %s | %d | %.2f | %.2f | %.2f |\n", g, a.n, a.bleu / a.n, a.chrf / a.n, a.copy / a.n);
      report[split]["averages"][g] = {{"bleu", a.bleu / a.n}, {"chrf", a.chrf / a.n},
                                      {"copy_chrf", a.copy / a.n}, {"directions", a.n}};
    }
    std::printf("chrF above copying the source in %d of %zu directions\n", beats_copy, scores.size());
    report[split]["beats_copy"] = beats_copy;
    report[split]["num_directions"] = scores.size();
  }
  if (vm.count("json")) {
    std::ofstream out(vm["json"].as<std::string>());
    if (!out) throw Error(vm["json"].as<std::string>() + ": cannot write");
    out << report.dump(2) << "\n";
  }
  return 0;
}

}  // namespace

int run_eval(const std::vector<std::string>& args) {
  po::options_description desc(
      "strata eval: BLEU / chrF / chrF++ exactly as sacreBLEU 2.x computes them.\n"
      "  strata eval --hyp out.txt --ref ref.txt --tgt-lang ja\n"
      "  strata eval --model best.pt --split test,ood_test [--max-sentences 200]");
  desc.add_options()("help,h", "show this help")(
      "hyp", po::value<std::string>(), "hypotheses, one per line")(
      "ref", po::value<std::string>(), "references, one per line")(
      "tgt-lang", po::value<std::string>(), "target language (picks the BLEU tokenizer: zh, char for ja, else 13a)")(
      "tokenize", po::value<std::string>(), "BLEU tokenizer: 13a, zh, char, none, intl")(
      "metrics", po::value<std::string>()->default_value("bleu,chrf"), "bleu, chrf, chrf++")(
      "model,m", po::value<std::string>(), "checkpoint to evaluate on a benchmark split")(
      "data", po::value<std::string>(), "data config (default: the one the model was trained on)")(
      "split", po::value<std::string>()->default_value("test,ood_test"), "splits to evaluate")(
      "max-sentences", po::value<int>()->default_value(0), "per direction (0 = all)")(
      "beam", po::value<int>(), "beam size (default: the model's)")(
      "json", po::value<std::string>(), "also write the scores as JSON here")(
      "threads", po::value<int>()->default_value(0), "threads (0 = all cores)");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  if (vm.count("help") || args.empty()) {
    std::cout << desc << "\n";
    return args.empty() ? 2 : 0;
  }
  po::notify(vm);
  if (vm.count("model")) return score_model(vm);
  if (!vm.count("hyp") || !vm.count("ref")) throw Error("give --hyp and --ref, or --model");
  return score_files(vm);
}

}  // namespace strata::cli
