// strata distill condense -m lms.pt -o shared.pt
// strata distill kd --teacher T.pt --config student.yaml [--level seq|word|both]
// KD data generation is nmt/distill/kd_data.h, condensing nmt/model/checkpoint.h (condense_lms).
#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "nmt/util/error.h"
#include "nmt/cli/commands.h"
#include "nmt/cli/options.h"
#include "nmt/config.h"
#include "nmt/distill/kd_data.h"
#include "nmt/model/checkpoint.h"
#include "nmt/train/trainer.h"

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
  const auto [in, out] = read_model_and_output(vm);
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
      "beam", ranged<int>("beam", 1, 1024), "teacher beam size (default: the teacher's decode.beam)")(
      "batch-size", ranged<int>("batch-size", 1, 1 << 20), "teacher sentences per batch")(
      "max-rows", po::value<size_t>()->default_value(0), "translate a random sample of N rows (0 = all)")(
      "chunk-rows", po::value<size_t>()->default_value(512), "rows per resumable chunk")(
      "generate-only", po::bool_switch(), "stop after writing the KD data")(
      "restart", po::bool_switch(), "ignore an existing student checkpoint in train.out_dir");
  add_compute_type_option(desc);
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
  nmt::KdDataOptions s;
  s.teacher = vm["teacher"].as<std::string>();
  if (!fs::exists(s.teacher)) throw Error(s.teacher + ": no such checkpoint");
  s.chunk_rows = vm["chunk-rows"].as<size_t>();
  s.max_rows = vm["max-rows"].as<size_t>();
  s.seed = static_cast<uint64_t>(cfg.train.seed);
  s.compute_type = read_compute_type(vm, "distill", true);  // auto: resolved for the teacher below
  if (s.chunk_rows < 1) throw Error("--chunk-rows must be >= 1");
  if (level != "word") {
    nmt::Config tcfg = nmt::load_checkpoint(s.teacher).config;
    if (s.compute_type == kernels::ComputeType::kAuto)
      std::fprintf(stderr, "[distill] compute type auto: %s\n",
                   kernels::describe_auto_compute_type(tcfg.model.d_model).c_str());
    s.compute_type = kernels::resolve_compute_type(s.compute_type, tcfg.model.d_model);
    s.beam = vm.count("beam") ? vm["beam"].as<int>() : tcfg.decode.beam;
    s.batch = vm.count("batch-size") ? vm["batch-size"].as<int>() : tcfg.decode.batch_size;
    if (s.beam < 1) throw Error("--beam must be >= 1");
    if (s.batch < 1) throw Error("--batch-size must be >= 1");
    cfg.train.data = nmt::generate_kd_data(cfg, s);
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
