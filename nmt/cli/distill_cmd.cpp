// strata distill condense -m lms.pt -o shared.pt
// strata distill kd --teacher T.pt --config student.yaml [--level seq|word|both]
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>
#include <random>

#include "data/data_config.h"
#include "nmt/util/error.h"
#include "data/prepare.h"
#include "data/spm.h"
#include "nmt/cli/commands.h"
#include "nmt/cli/options.h"
#include "nmt/config.h"
#include "nmt/decode/translator.h"
#include "nmt/model/checkpoint.h"
#include "nmt/train/trainer.h"
#include "nmt/util/system.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace strata::cli {

namespace {

int run_condense(const std::vector<std::string>& args) {
  po::options_description desc(
      "strata distill condense: fold an LMS model's fused shared slot into plain Linear weights\n"
      "(W = W_s + V[N]·F[N]) and write an ordinary dense checkpoint (model.lms.mode none)");
  desc.add_options()("help,h", "show this help")(
      "model,m", po::value<std::string>(), "LMS checkpoint (trained with train.fuse_distillation)")(
      "output,o", po::value<std::string>(), "dense checkpoint to write");
  po::variables_map vm;
  if (!parse_or_help(args, desc, vm)) return 0;
  if (!vm.count("model")) throw Error("--model is required");
  if (!vm.count("output")) throw Error("--output is required");
  const std::string in = vm["model"].as<std::string>(), out = vm["output"].as<std::string>();
  if (std::filesystem::absolute(in) == std::filesystem::absolute(out))
    throw Error("--output must differ from --model (" + in + ")");
  nmt::Checkpoint lms = nmt::load_checkpoint(in);
  if (!lms.config.train.fuse_distillation && lms.config.model.lms.enabled())
    std::fprintf(stderr, "strata: warning: %s was trained without fuse distillation: its shared "
                 "slot is untrained and the condensed model is the bare W_s\n", in.c_str());
  nmt::Checkpoint dense = nmt::condense_lms(lms, in);
  nmt::save_checkpoint(out, dense.config, dense.langs, dense.spm_model, dense.model, nullptr,
                       nullptr);
  const auto in_size = std::filesystem::file_size(in), out_size = std::filesystem::file_size(out);
  std::printf("%s: %lld parameters, %.2f MB (LMS, mode %s, rank %d)\n", in.c_str(),
              static_cast<long long>(nmt::count_parameters(*lms.model)), in_size / 1e6,
              enum_name(names_of(lms.config.model.lms.mode), lms.config.model.lms.mode).c_str(), lms.config.model.lms.rank);
  std::printf("%s: %lld parameters, %.2f MB (dense, shared slot folded)\n", out.c_str(),
              static_cast<long long>(nmt::count_parameters(*dense.model)), out_size / 1e6);
  return 0;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

struct KdSettings {
  std::string teacher;
  int beam = 0, batch = 0;
  size_t max_rows = 0, chunk_rows = 0;
  uint64_t seed = 1;
};

// Sequence-level KD data (Kim & Rush 2016) in <out_dir>/kd_data: every training row keeps one
// original source text (the row's languages in turn, row i of train.tsv taking the (i mod n)-th)
// and gets the teacher's beam-search translation of it in each other language the row has. The rows
// are taken in a seeded random order: train.tsv is grouped by source (its first 5,000 Core-8 rows
// are all LibreOffice UI strings), so max_rows takes a sample of the whole corpus, and a larger
// max_rows extends the same order. Chunks of chunk_rows rows are written atomically, so an
// interrupted (or enlarged) run resumes where it stopped. Returns the data config of the result.
std::string generate_kd_data(const nmt::Config& cfg, const KdSettings& s) {
  data::DataConfig dcfg = data::load_data_config(cfg.train.data, {});
  const std::string train_tsv = dcfg.out_dir + "/train.tsv", spm_path = dcfg.out_dir + "/spm.model";
  data::Tokenizer tok(spm_path);
  nmt::Checkpoint teacher = nmt::load_checkpoint(s.teacher);
  if (teacher.spm_model != tok.serialized())
    throw Error(s.teacher + ": the teacher's SentencePiece model differs from " + spm_path +
                " (teacher and student must share the vocabulary)");
  std::vector<std::string> langs;
  auto rows = data::read_split(train_tsv, &langs);
  for (const auto& l : langs)
    if (std::find(teacher.langs.begin(), teacher.langs.end(), l) == teacher.langs.end())
      throw Error(s.teacher + ": the teacher has no language '" + l + "' of " + train_tsv);
  const size_t n = s.max_rows > 0 ? std::min(rows.size(), s.max_rows) : rows.size();
  std::vector<size_t> order(rows.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::mt19937_64 rng(s.seed);
  std::shuffle(order.begin(), order.end(), rng);
  const std::string kd_dir = fs::absolute(cfg.train.out_dir + "/kd_data").string();
  fs::create_directories(kd_dir + "/chunks");
  // Chunks are only reused with the settings that made them.
  const std::string settings = "teacher: " + fs::absolute(s.teacher).string() + " (" +
                               std::to_string(fs::file_size(s.teacher)) + " bytes)\ndata: " +
                               fs::absolute(train_tsv).string() + "\nbeam: " +
                               std::to_string(s.beam) + "\nchunk_rows: " +
                               std::to_string(s.chunk_rows) + "\nrow order: shuffled, seed " +
                               std::to_string(s.seed) + "\n";
  const std::string settings_path = kd_dir + "/settings.txt";
  if (fs::exists(settings_path) && slurp(settings_path) != settings)
    throw Error(kd_dir + ": made with other settings (see settings.txt); remove it or use another "
                "train.out_dir");
  std::ofstream(settings_path, std::ios::binary) << settings;

  nmt::Translator tr(std::move(teacher));
  nmt::SearchOptions opt = tr.default_options();
  opt.beam = s.beam;
  opt.nbest = 1;
  const size_t chunks = (n + s.chunk_rows - 1) / s.chunk_rows;
  auto chunk_path = [&](size_t k) {
    char name[48];
    std::snprintf(name, sizeof name, "/chunks/%06zu.tsv", k);
    return kd_dir + name;
  };
  size_t done = 0;
  for (size_t k = 0; k < chunks; ++k) done += fs::exists(chunk_path(k));
  std::fprintf(stderr, "[kd] %zu training rows in %zu chunks, beam %d%s\n", n, chunks, s.beam,
               done ? (", resuming: " + std::to_string(done) + " chunks done").c_str() : "");
  const double t0 = now_s();
  size_t made = 0;
  int64_t sentences = 0;
  for (size_t k = 0; k < chunks; ++k) {
    const std::string path = chunk_path(k);
    if (fs::exists(path)) continue;
    const size_t begin = k * s.chunk_rows, end = std::min(n, begin + s.chunk_rows);
    std::vector<data::Row> out;
    std::map<std::pair<size_t, size_t>, std::vector<size_t>> groups;  // (src, tgt) -> out rows
    for (size_t j = begin; j < end; ++j) {
      const size_t i = order[j];
      out.push_back(rows[i]);
      std::vector<size_t> present;
      for (size_t l = 0; l < langs.size(); ++l)
        if (!rows[i].text[l].empty()) present.push_back(l);
      if (present.size() < 2) continue;
      const size_t src = present[i % present.size()];
      for (size_t l : present)
        if (l != src) groups[{src, l}].push_back(j - begin);
    }
    for (const auto& [dir, idx] : groups) {
      std::vector<std::string> lines;
      for (size_t k : idx) lines.push_back(out[k].text[dir.first]);
      auto hyps = tr.translate(lines, langs[dir.second], opt, s.batch, langs[dir.first]);
      for (size_t j = 0; j < idx.size(); ++j)
        out[idx[j]].text[dir.second] = hyps[j].empty() ? "" : hyps[j][0].text;
      sentences += static_cast<int64_t>(idx.size());
    }
    data::write_split(path + ".tmp", langs, out);
    fs::rename(path + ".tmp", path);
    ++made;
    const double dt = now_s() - t0;
    const size_t left = chunks - done - made;
    std::fprintf(stderr, "[kd] chunk %zu/%zu: %lld sentences translated, %.1f sent/s, ETA %.0f min\n",
                 done + made, chunks, static_cast<long long>(sentences), sentences / dt,
                 dt / made * left / 60);
  }
  std::vector<data::Row> all;
  for (size_t k = 0; k < chunks; ++k) {
    std::vector<std::string> chunk_langs;
    auto part = data::read_split(chunk_path(k), &chunk_langs);
    if (chunk_langs != langs) throw Error(chunk_path(k) + ": languages differ from " + train_tsv);
    all.insert(all.end(), part.begin(), part.end());
  }
  data::write_split(kd_dir + "/train.tsv.tmp", langs, all);
  fs::rename(kd_dir + "/train.tsv.tmp", kd_dir + "/train.tsv");
  for (const char* f : {"valid.tsv", "spm.model"})
    fs::copy_file(dcfg.out_dir + "/" + f, kd_dir + "/" + f, fs::copy_options::overwrite_existing);
  std::string yaml = "# sequence-level KD data made by `strata distill kd` from " +
                     cfg.train.data + "\nlangs: [";
  for (size_t l = 0; l < langs.size(); ++l) yaml += (l ? ", " : "") + langs[l];
  yaml += "]\nout_dir: " + kd_dir + "\n";
  std::ofstream(kd_dir + "/data.yaml", std::ios::binary) << yaml;
  std::fprintf(stderr, "[kd] wrote %s/train.tsv (%zu rows)\n", kd_dir.c_str(), all.size());
  return kd_dir + "/data.yaml";
}

int run_kd(const std::vector<std::string>& args) {
  po::options_description desc(
      "strata distill kd: knowledge distillation from a (sparse) teacher into the student of\n"
      "--config. Sequence level (Kim & Rush 2016): the teacher translates the training sources with\n"
      "beam search into <train.out_dir>/kd_data (resumable; one original source per row, the\n"
      "row's languages in turn; rows in an order shuffled with train.seed), then the student\n"
      "trains on that. Word level: the student's loss adds the cross-entropy against the\n"
      "teacher's distributions (train.kd_weight)");
  desc.add_options()("help,h", "show this help")(
      "teacher,t", po::value<std::string>(), "teacher checkpoint (same SentencePiece model)")(
      "config,c", po::value<std::string>(), "student training config (YAML)")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "override a student config field (repeatable)")(
      "level", po::value<std::string>()->default_value("seq"), "seq, word or both")(
      "beam", po::value<int>(), "teacher beam size (default: the teacher's decode.beam)")(
      "batch-size", po::value<int>(), "teacher sentences per batch")(
      "max-rows", po::value<size_t>()->default_value(0), "translate a random sample of N rows (0 = all)")(
      "chunk-rows", po::value<size_t>()->default_value(512), "rows per resumable chunk")(
      "generate-only", po::bool_switch(), "stop after writing the KD data")(
      "restart", po::bool_switch(), "ignore an existing student checkpoint in train.out_dir");
  po::variables_map vm;
  if (!parse_or_help(args, desc, vm)) return 0;
  if (!vm.count("teacher")) throw Error("--teacher is required");
  if (!vm.count("config")) throw Error("--config is required");
  const std::string level = vm["level"].as<std::string>();
  if (level != "seq" && level != "word" && level != "both")
    throw Error("--level must be seq, word or both, got '" + level + "'");
  std::vector<std::string> sets;
  if (vm.count("set")) sets = vm["set"].as<std::vector<std::string>>();
  nmt::Config cfg = nmt::load_config(vm["config"].as<std::string>(), sets);
  KdSettings s;
  s.teacher = vm["teacher"].as<std::string>();
  if (!fs::exists(s.teacher)) throw Error(s.teacher + ": no such checkpoint");
  s.chunk_rows = vm["chunk-rows"].as<size_t>();
  s.max_rows = vm["max-rows"].as<size_t>();
  s.seed = static_cast<uint64_t>(cfg.train.seed);
  if (s.chunk_rows < 1) throw Error("--chunk-rows must be >= 1");
  if (level != "word") {
    nmt::Config tcfg = nmt::load_checkpoint(s.teacher).config;
    s.beam = vm.count("beam") ? vm["beam"].as<int>() : tcfg.decode.beam;
    s.batch = vm.count("batch-size") ? vm["batch-size"].as<int>() : tcfg.decode.batch_size;
    if (s.beam < 1) throw Error("--beam must be >= 1");
    if (s.batch < 1) throw Error("--batch-size must be >= 1");
    cfg.train.data = generate_kd_data(cfg, s);
    if (vm["generate-only"].as<bool>()) return 0;
  }
  if (level != "seq") {
    if (cfg.train.fuse_distillation)
      throw Error("--level " + level + ": word-level KD cannot be combined with "
                  "train.fuse_distillation");
    cfg.train.kd_teacher = fs::absolute(s.teacher).string();
  }
  nmt::TrainOptions opt;
  opt.restart = vm["restart"].as<bool>();
  nmt::train(cfg, opt);
  return 0;
}

}  // namespace

int run_distill(const std::vector<std::string>& args) {
  const char* usage =
      "usage: strata distill <mode> [<args>]\n\nmodes:\n"
      "  condense   fold an LMS model's shared slot into a dense checkpoint\n"
      "  kd         sequence- or word-level knowledge distillation from a teacher\n";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::printf("%s", usage);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "condense") return run_condense({args.begin() + 1, args.end()});
  if (args[0] == "kd") return run_kd({args.begin() + 1, args.end()});
  throw Error("distill: unknown mode '" + args[0] + "' (modes: condense, kd)");
}

}  // namespace strata::cli
