// strata translate -m MODEL --tgt-lang ja < in > out
#include <algorithm>
#include <boost/program_options.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "nmt/util/error.h"
#include "nmt/util/utf8.h"
#include "nmt/cli/commands.h"
#include "nmt/cli/options.h"
#include "nmt/decode/translator.h"
#include "nmt/model/checkpoint.h"
#include "nmt/util/system.h"

namespace po = boost::program_options;

namespace strata::cli {

int run_translate(const std::vector<std::string>& args) {
  po::options_description desc(
      "strata translate: translate stdin line by line into --tgt-lang (output in input order)");
  desc.add_options()("help,h", "show this help")(
      "model,m", po::value<std::string>(), "checkpoint (e.g. work/models/quickstart/best.pt)")(
      "tgt-lang,t", po::value<std::string>(), "target language code")(
      "src-lang,s", po::value<std::string>(),
      "source language code (required by LMS models, ignored by others)")(
      "lms-shared", po::bool_switch(),
      "LMS models: use the fused shared slot instead of the language-specific banks")(
      "input,i", po::value<std::string>(), "read this file instead of stdin")(
      "beam", ranged<int>("beam", 1, 1024), "beam size (1 = greedy); default from the model's decode config")(
      "lenpen", ranged<double>("lenpen", -kAnyFinite, kAnyFinite), "length penalty")(
      "nbest", ranged<int>("nbest", 1, 1024), "print the n best: 'line<TAB>score<TAB>text'")(
      "batch-size", ranged<int>("batch-size", 1, 1 << 20), "sentences per batch")(
      "max-len-a", ranged<double>("max-len-a", 0, 1e6), "output limit a·source_len + b")(
      "max-len-b", ranged<int>("max-len-b", 0, 1 << 20), "output limit a·source_len + b")(
      "threads", ranged<int>("threads", 0, 1024)->default_value(0), "threads (0 = all cores)");
  add_repetition_options(desc);
  add_compute_type_option(desc);
  add_expert_memory_option(desc);
  add_device_option(desc);
  po::variables_map vm;
  if (!parse_or_help(args, desc, vm)) return 0;
  if (!vm.count("model")) throw Error("--model is required");
  if (!vm.count("tgt-lang")) throw Error("--tgt-lang is required");
  set_threads(vm["threads"].as<int>());
  const kernels::ComputeType compute = read_compute_type(vm, "translate");
  const c10::Device device = read_device(vm);
  const std::string model = vm["model"].as<std::string>();
  nmt::Translator tr(nmt::load_checkpoint(model, read_load_options(vm, device)));
  check_expert_memory(vm, tr.checkpoint(), model);
  tr.to(device);
  tr.set_compute_type(compute);
  tr.use_lms_shared(vm["lms-shared"].as<bool>());
  const std::string src_lang = vm.count("src-lang") ? vm["src-lang"].as<std::string>() : "";
  nmt::SearchOptions opt = tr.default_options();
  int batch = tr.config().decode.batch_size;
  if (vm.count("beam")) opt.beam = vm["beam"].as<int>();
  if (vm.count("lenpen")) opt.lenpen = vm["lenpen"].as<double>();
  if (vm.count("nbest")) opt.nbest = vm["nbest"].as<int>();
  if (vm.count("batch-size")) batch = vm["batch-size"].as<int>();
  if (vm.count("max-len-a")) opt.max_len_a = vm["max-len-a"].as<double>();
  if (vm.count("max-len-b")) opt.max_len_b = vm["max-len-b"].as<int>();
  read_repetition_options(vm, opt.no_repeat_ngram_size, opt.repetition_penalty);
  if (opt.beam < 1) throw Error("--beam must be >= 1");
  if (opt.nbest < 1 || opt.nbest > opt.beam) throw Error("--nbest must be in [1, beam]");
  if (batch < 1) throw Error("--batch-size must be >= 1");
  const std::string tgt = vm["tgt-lang"].as<std::string>();
  if (std::find(tr.langs().begin(), tr.langs().end(), tgt) == tr.langs().end()) {
    std::string all;
    for (const auto& l : tr.langs()) all += (all.empty() ? "" : " ") + l;
    throw Error("--tgt-lang: the model does not translate into '" + tgt + "' (its languages: " +
                all + ")");
  }
  std::FILE* in = stdin;
  std::string name = "<stdin>";
  if (vm.count("input")) {
    name = vm["input"].as<std::string>();
    std::error_code ec;
    if (std::filesystem::is_directory(name, ec)) throw Error(name + ": is a directory, not a text file");
    in = std::fopen(name.c_str(), "rb");
    if (!in) throw Error(name + ": cannot open (" + std::strerror(errno) + ")");
  }
  std::vector<std::string> lines;
  char* buf = nullptr;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&buf, &cap, in)) >= 0) {
    std::string line(buf, n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    size_t bad = find_invalid_utf8(line);
    if (bad != std::string::npos) {
      std::free(buf);
      throw Error(name + ":" + std::to_string(lines.size() + 1) + ": invalid UTF-8 at byte " +
                  std::to_string(bad + 1));
    }
    lines.push_back(std::move(line));
  }
  std::free(buf);
  const bool read_failed = std::ferror(in);
  const int read_errno = errno;
  if (in != stdin) std::fclose(in);
  if (read_failed) throw Error(name + ": cannot read (" + std::strerror(read_errno) + ")");
  auto out = tr.translate(lines, tgt, opt, batch, src_lang);
  for (size_t i = 0; i < out.size(); ++i) {
    if (opt.nbest == 1) {
      std::printf("%s\n", out[i].empty() ? "" : out[i][0].text.c_str());
    } else {
      for (const auto& t : out[i]) std::printf("%zu\t%.4f\t%s\n", i, t.score, t.text.c_str());
    }
  }
  report_expert_cache(tr.checkpoint(), "translate");
  if (tr.truncated() > 0)
    std::fprintf(stderr, "strata: warning: %lld input lines were longer than the model's %d "
                 "positions and were truncated\n", static_cast<long long>(tr.truncated()),
                 tr.config().model.max_positions - 2);
  return 0;
}

}  // namespace strata::cli
