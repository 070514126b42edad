// strata: the command-line interface. Parses arguments, calls the libraries, and turns every
// error into one line on stderr and a non-zero exit.
#include <c10/util/Exception.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "nmt/util/error.h"
#include "nmt/util/file_io.h"
#include "nmt/cli/commands.h"
#include "nmt/util/system.h"
#include "strata_version.h"
#include "nmt/util/torch_compat.h"

namespace po = boost::program_options;

namespace {

struct Command {
  const char* name;
  const char* summary;
  std::function<int(const std::vector<std::string>&)> run;
};

const std::vector<Command>& commands() {
  static const std::vector<Command> cmds = {
      {"data", "build the benchmark corpus and the SentencePiece model", strata::cli::run_data},
      {"train", "train a model from a YAML config (resumable)", strata::cli::run_train},
      {"translate", "translate stdin into a target language", strata::cli::run_translate},
      {"eval", "BLEU/chrF as sacreBLEU computes them; score a model on a benchmark",
       strata::cli::run_eval},
      {"distill", "condense an LMS model into a dense one; knowledge distillation",
       strata::cli::run_distill},
      {"analyze", "MoE routing: expert load, cross-layer agreement, usage by language",
       strata::cli::run_analyze},
      {"checkpoint", "split a checkpoint into per-rank shards or merge them; write its expert file",
       strata::cli::run_checkpoint},
      {"predictor", "train an MoE model's expert predictor (offloading); measure its accuracy",
       strata::cli::run_predictor},
      {"compress", "compress a checkpoint's MoE experts (ResMoE, pruning, SVD, merging)",
       strata::cli::run_compress},
      {"quantize", "write an int8 checkpoint (linear layers, experts, embedding)", strata::cli::run_quantize},
      {"serve", "translation server speaking LibreTranslate's HTTP API", strata::cli::run_serve},
  };
  return cmds;
}

void print_usage() {
  std::printf("usage: strata [--version] [--help] <command> [<args>]\n\ncommands:\n");
  for (const auto& c : commands()) std::printf("  %-10s %s\n", c.name, c.summary);
  std::printf("\n'strata <command> --help' describes a command.\n");
}

int dispatch(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    print_usage();
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::printf("strata %s (LibTorch %s)\n", STRATA_VERSION, strata::compat::torch_version());
    return 0;
  }
  for (const auto& c : commands())
    if (args[0] == c.name) {
      strata::set_threads(0);
      strata::warn_if_slow_blas();
      return c.run({args.begin() + 1, args.end()});
    }
  std::string names;
  for (const auto& c : commands()) names += (names.empty() ? "" : ", ") + std::string(c.name);
  throw strata::Error("unknown command '" + args[0] + "' (commands: " + names + ")");
}

}  // namespace

int main(int argc, char** argv) {
  strata::configure_runtime(argv);
  try {
    const int rc = dispatch(argc, argv);
    strata::check_stdout();  // output lost to a full disk or a closed descriptor is an error
    return rc;
  } catch (const strata::Interrupted& e) {
    std::fprintf(stderr, "strata: %s\n", e.what());
    return 128 + e.signal();
  } catch (const strata::Error& e) {
    std::fprintf(stderr, "strata: error: %s\n", e.what());
  } catch (const po::error& e) {
    std::fprintf(stderr, "strata: error: %s (see --help)\n", e.what());
  } catch (const c10::Error& e) {
    std::string msg = strata::compat::error_message(e);
    std::fprintf(stderr, "strata: error: %s\n", msg.substr(0, msg.find('\n')).c_str());
  } catch (const std::exception& e) {  // e.g. TorchScript's ErrorReport: its first line only
    std::string msg = e.what();
    size_t b = msg.find_first_not_of("\n \t");
    msg = b == std::string::npos ? "unknown error" : msg.substr(b, msg.find('\n', b) - b);
    std::fprintf(stderr, "strata: error: %s\n", msg.c_str());
  }
  return 1;
}
