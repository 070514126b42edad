// strata eval: sacreBLEU-exact BLEU / chrF / chrF++ of a hypothesis file, or of a model on every
// direction of a benchmark split (nmt/evaluate/score_model.h; this file parses and prints).
#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/data_config.h"
#include "data/lid.h"
#include "nmt/cli/commands.h"
#include "nmt/cli/options.h"
#include "nmt/decode/translator.h"
#include "nmt/eval/bleu.h"
#include "nmt/eval/chrf.h"
#include "nmt/eval/tokenizers.h"
#include "nmt/evaluate/score_model.h"
#include "nmt/util/error.h"
#include "nmt/util/file_io.h"
#include "nmt/model/checkpoint.h"
#include "nmt/util/system.h"
#include "nmt/util/utf8.h"

namespace po = boost::program_options;

namespace strata::cli {

namespace {

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    size_t bad = find_invalid_utf8(l);
    if (bad != std::string::npos)
      throw Error(path + ":" + std::to_string(lines.size() + 1) + ": invalid UTF-8 at byte " +
                  std::to_string(bad + 1));
    lines.push_back(l);
  }
  if (in.bad()) throw Error(path + ": cannot read");
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
  nlohmann::json report;
  for (const auto& m : split_csv(vm["metrics"].as<std::string>())) {
    if (m == "bleu") {
      auto b = eval::corpus_bleu(hyps, refs, tok);
      std::printf("%s\n", b.format(2, true).c_str());
      report[m] = {{"score", b.score}, {"signature", b.signature}, {"line", b.format(2, true)}};
    } else if (m == "chrf" || m == "chrf++") {
      auto c = eval::corpus_chrf(hyps, refs, m == "chrf" ? 0 : 2);
      std::printf("%s\n", c.format(2, true).c_str());
      report[m] = {{"score", c.score}, {"signature", c.signature}, {"line", c.format(2, true)}};
    } else {
      throw Error("--metrics: unknown metric '" + m + "' (bleu, chrf, chrf++)");
    }
  }
  if (vm.count("json")) write_file_atomically(vm["json"].as<std::string>(), report.dump(2) + "\n");
  return 0;
}

int score_model(const po::variables_map& vm) {
  set_threads(vm["threads"].as<int>());
  const std::string model = vm["model"].as<std::string>();
  const kernels::ComputeType compute = read_compute_type(vm, "eval", true);
  const c10::Device device = read_device(vm);
  spin_threads_for(compute, device);
  nmt::Translator tr(nmt::load_checkpoint(model, read_load_options(vm, device, compute)));
  check_expert_memory(vm, tr.checkpoint(), model);
  tr.to(device);
  tr.set_compute_type(compute);
  spin_threads_for(tr.compute_type(), device);
  report_compute_type(compute, tr, "eval");
  set_up_expert_prefetch(vm, tr);
  const std::string shortlist = set_up_shortlist(vm, tr, "eval", true);
  std::string data_cfg_path =
      vm.count("data") ? vm["data"].as<std::string>() : tr.config().train.data;
  data::DataConfig dcfg = data::load_data_config(data_cfg_path, {});
  nmt::SearchOptions opt = tr.default_options();
  if (vm.count("beam")) opt.beam = vm["beam"].as<int>();
  read_repetition_options(vm, opt.no_repeat_ngram_size, opt.repetition_penalty);
  const int max_sent = vm["max-sentences"].as<int>();
  const int batch = tr.config().decode.batch_size;
  // The source-use diagnostics: shuffled-source scores unless --no-shuffled; the off-target rate
  // with --lid, or <out_dir>/lid.model when it exists (else one note and no off-target column).
  nmt::SourceUseOptions use;
  use.shuffled = !vm.count("no-shuffled");
  data::LanguageIdentifier lid;
  use.lid_name = vm.count("lid") ? vm["lid"].as<std::string>() : dcfg.out_dir + "/lid.model";
  if (vm.count("lid") || std::filesystem::exists(use.lid_name)) {
    lid = data::LanguageIdentifier::load(use.lid_name);
    use.lid = &lid;
  } else {
    std::fprintf(stderr,
                 "[eval] no language identifier at %s ('strata data lid' trains it): no "
                 "off-target rate\n",
                 use.lid_name.c_str());
  }
  nlohmann::json report;
  for (const auto& split : split_csv(vm["split"].as<std::string>())) {
    const nmt::SplitScores scores = nmt::score_split(tr, dcfg, split, opt, batch, max_sent, use, vm["nll"].as<bool>());
    std::printf("%s", nmt::format_scores(scores, model, opt.beam).c_str());
    report[split] = nmt::scores_json(scores);
    if (!shortlist.empty()) report[split]["shortlist"] = shortlist;  // the file decoding used
  }
  if (vm.count("json")) {
    write_file_atomically(vm["json"].as<std::string>(), report.dump(2) + "\n");
  }
  report_expert_cache(tr, "eval");
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
      "max-sentences", ranged<int>("max-sentences", 0, 1e9)->default_value(0), "per direction (0 = all)")(
      "beam", ranged<int>("beam", 1, 1024), "beam size (default: the model's)")(
      "json", po::value<std::string>(), "also write the scores as JSON here")(
      "no-shuffled", "leave out the shuffled-source scores (the source-use diagnostic)")(
      "nll", po::bool_switch(), "also the teacher-forced nll per reference token (JSON: \"nll\")")(
      "lid", po::value<std::string>(),
      "language identifier for the off-target rate (default <out_dir>/lid.model if present)")(
      "threads", ranged<int>("threads", 0, 1024)->default_value(0), "threads (0 = all cores)");
  add_repetition_options(desc);
  add_compute_type_option(desc);
  add_shortlist_option(desc);
  add_expert_memory_option(desc);
  add_device_option(desc);
  po::variables_map vm;
  store_options(args, desc, vm);
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
