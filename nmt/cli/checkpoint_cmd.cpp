// strata checkpoint split --in last.pt --world-size W [--out-prefix P]
// strata checkpoint merge --out whole.pt SHARD...
// strata checkpoint experts --in moe.pt --out moe.experts
// Converts between a whole checkpoint (what training writes at every world size) and per-rank
// shard files <prefix>.rank<r>-of-<W>.pt (docs/SCALING.md, "Checkpoint layouts"), and writes an
// MoE checkpoint's experts to a memory-mapped expert file (nmt/model/expert_file.h).
#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "nmt/util/error.h"
#include "nmt/cli/commands.h"
#include "nmt/cli/options.h"
#include "nmt/model/checkpoint.h"
#include "nmt/model/expert_file.h"
#include "nmt/train/distributed.h"

namespace po = boost::program_options;

namespace strata::cli {

namespace {

int run_split(const std::vector<std::string>& args) {
  po::options_description desc(
      "strata checkpoint split: one shard file per rank (rank r holds experts\n"
      "[r*E/W, (r+1)*E/W) and a copy of the rest, with the matching optimizer state)");
  desc.add_options()("help,h", "show this help")(
      "in,i", po::value<std::string>(), "a whole checkpoint (e.g. run/last.pt)")(
      "world-size", ranged<int>("world-size", 1, 4096), "number of ranks (must divide model.moe.num_experts)")(
      "out-prefix", po::value<std::string>(),
      "shards go to <prefix>.rank<r>-of-<W>.pt (default: --in without .pt)");
  po::variables_map vm;
  if (!parse_or_help(args, desc, vm)) return 0;
  if (!vm.count("in")) throw Error("checkpoint split: --in is required");
  if (!vm.count("world-size")) throw Error("checkpoint split: --world-size is required");
  std::string in = vm["in"].as<std::string>();
  std::string prefix = vm.count("out-prefix") ? vm["out-prefix"].as<std::string>() : in;
  if (!vm.count("out-prefix") && prefix.size() > 3 && prefix.substr(prefix.size() - 3) == ".pt")
    prefix.resize(prefix.size() - 3);
  for (const auto& p : nmt::split_checkpoint(in, vm["world-size"].as<int>(), prefix))
    std::printf("%s\n", p.c_str());
  return 0;
}

int run_merge(const std::vector<std::string>& args) {
  po::options_description desc(
      "strata checkpoint merge: reassemble shard files (every rank once) into one whole\n"
      "checkpoint that loads at any world size and in `strata translate`");
  desc.add_options()("help,h", "show this help")("out,o", po::value<std::string>(),
                                                 "the whole checkpoint to write")(
      "shards", po::value<std::vector<std::string>>(), "shard files (positional)");
  po::positional_options_description pos;
  pos.add("shards", -1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  po::notify(vm);
  if (!vm.count("out")) throw Error("checkpoint merge: --out is required");
  if (!vm.count("shards")) throw Error("checkpoint merge: no shard files given");
  nmt::merge_checkpoint(vm["shards"].as<std::vector<std::string>>(), vm["out"].as<std::string>());
  std::printf("%s\n", vm["out"].as<std::string>().c_str());
  return 0;
}

int run_experts(const std::vector<std::string>& args) {
  po::options_description desc(
      "strata checkpoint experts: write an MoE checkpoint's experts to an expert file that\n"
      "translate and eval read from on dispatch (--expert-file F --expert-memory SIZE), so that\n"
      "only SIZE of experts is resident");
  desc.add_options()("help,h", "show this help")(
      "in,i", po::value<std::string>(), "an MoE checkpoint (not compressed)")(
      "out,o", po::value<std::string>(), "the expert file to write (e.g. best.experts)")(
      "slim", po::value<std::string>(),
      "also write this checkpoint without the experts (e.g. best.slim.pt): loading it with --expert-file\n"
      "never allocates the experts, so the process's peak memory follows --expert-memory");
  po::variables_map vm;
  if (!parse_or_help(args, desc, vm)) return 0;
  if (!vm.count("in")) throw Error("checkpoint experts: --in is required");
  if (!vm.count("out")) throw Error("checkpoint experts: --out is required");
  const std::string in = vm["in"].as<std::string>(), out = vm["out"].as<std::string>();
  nmt::Checkpoint ck = nmt::load_checkpoint(in);
  if (!ck.compressed.empty())
    throw Error(in + ": its experts are stored compressed; translate it with --expert-memory alone");
  if (ck.digest.empty()) throw Error(in + ": a format-1 checkpoint has no digest to bind an expert file to");
  nmt::write_expert_file(out, *ck.model, ck.digest);
  const nmt::ExpertFile f(out);
  int64_t experts = 0, bytes = 0;
  for (size_t l = 0; l < f.layers().size(); ++l) {
    experts += f.layers()[l].experts;
    bytes += f.layers()[l].experts * f.expert_bytes(l);
  }
  std::fprintf(stderr, "[checkpoint] %s: %zu MoE layers, %lld experts, %.2f MB of expert weights\n", out.c_str(),
               f.layers().size(), static_cast<long long>(experts), bytes / 1e6);
  std::printf("%s\n", out.c_str());
  if (vm.count("slim")) {
    const std::string slim = vm["slim"].as<std::string>();
    nmt::save_slim_checkpoint(slim, ck);
    // Read back as a user would: the slim file with the expert file just written.
    nmt::LoadOptions lo;
    lo.expert_file = out;
    lo.expert_memory = 0;
    nmt::load_checkpoint(slim, lo);
    std::error_code ec;
    const auto size = std::filesystem::file_size(slim, ec);
    std::fprintf(stderr, "[checkpoint] %s: the model without its experts, %.2f MB (read it with --expert-file %s)\n",
                 slim.c_str(), ec ? 0.0 : size / 1e6, out.c_str());
    std::printf("%s\n", slim.c_str());
  }
  return 0;
}

}  // namespace

int run_checkpoint(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::printf(
        "usage: strata checkpoint <split|merge|experts> [<args>]\n"
        "  split    a whole checkpoint -> one shard file per rank\n"
        "  merge    shard files -> one whole checkpoint\n"
        "  experts  an MoE checkpoint's experts -> an expert file read on dispatch\n");
    return args.empty() ? 2 : 0;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "split") return run_split(rest);
  if (args[0] == "merge") return run_merge(rest);
  if (args[0] == "experts") return run_experts(rest);
  throw Error("checkpoint: unknown subcommand '" + args[0] + "' (split, merge or experts)");
}

}  // namespace strata::cli
