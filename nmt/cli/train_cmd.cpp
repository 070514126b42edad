// strata train --config configs/X.yaml [--set a.b=c ...] [--restart]
//              [--nproc N | --rank R --world-size W (--master-addr A --master-port P | --file-store F)]
// With --nproc N (N > 1) this process is only the launcher: it re-executes itself as ranks
// 0..N-1 on this machine (loopback rendezvous), forwards rank 0's progress, and when a rank fails
// stops the others and exits non-zero with that rank's one-line error (nmt/train/launcher.h).
#include <boost/program_options.hpp>
#include <algorithm>
#include <chrono>
#include <iostream>
#include <thread>

#include "nmt/util/error.h"
#include "nmt/cli/commands.h"
#include "nmt/cli/options.h"
#include "nmt/config.h"
#include "moe/expert_parallel.h"
#include "nmt/train/launcher.h"
#include "nmt/train/trainer.h"
#include "nmt/util/system.h"

namespace po = boost::program_options;

namespace strata::cli {

int run_train(const std::vector<std::string>& args) {
  po::options_description desc(
      "strata train: train a many-to-many model from a YAML config; resumes from\n"
      "<train.out_dir>/last.pt when it exists (at any world size dividing the experts)");
  desc.add_options()("help,h", "show this help")(
      "config,c", po::value<std::string>(), "training config (YAML), e.g. configs/quickstart.yaml")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "override a config field, e.g. --set train.max_updates=100 (repeatable)")(
      "restart", po::bool_switch(), "ignore an existing checkpoint in train.out_dir")(
      "nproc", ranged<int>("nproc", 1, 1024)->default_value(1),
      "expert parallelism on this machine: launch N ranks (each holds num_experts/N experts)")(
      "rank", ranged<int>("rank", 0, 4095), "this process's rank (ranks launched by the user)")(
      "world-size", ranged<int>("world-size", 1, 4096), "number of ranks (with --rank)")(
      "master-addr", po::value<std::string>()->default_value("127.0.0.1"),
      "rendezvous: the host of rank 0's store")(
      "master-port", ranged<int>("master-port", 1, 65535), "rendezvous: the port of rank 0's store (default 29500; "
                                       "with --nproc a free port)")(
      "file-store", po::value<std::string>(),
      "rendezvous through this file (shared by all ranks) instead of --master-addr/--master-port")(
      "comm-timeout", ranged<double>("comm-timeout", 0.001, 1e6)->default_value(300),
      "seconds a rendezvous or exchange may wait for the other ranks before failing");
  po::variables_map vm;
  if (!parse_or_help(args, desc, vm)) return 0;
  if (!vm.count("config")) throw Error("--config is required (e.g. configs/quickstart.yaml)");
  std::vector<std::string> sets;
  if (vm.count("set")) sets = vm["set"].as<std::vector<std::string>>();
  nmt::Config cfg = nmt::load_config(vm["config"].as<std::string>(), sets);
  const int nproc = vm["nproc"].as<int>();
  const double timeout_s = vm["comm-timeout"].as<double>();
  if (nproc < 1) throw Error("--nproc must be >= 1, got " + std::to_string(nproc));
  if (!(timeout_s > 0)) throw Error("--comm-timeout must be > 0 seconds");
  if (nproc > 1 && (vm.count("rank") || vm.count("world-size")))
    throw Error("--nproc launches its own ranks: it cannot be combined with --rank/--world-size");
  if (vm.count("rank") != vm.count("world-size"))
    throw Error(vm.count("rank") ? "--rank needs --world-size" : "--world-size needs --rank");
  if (vm.count("file-store") && vm.count("master-port"))
    throw Error("--file-store and --master-port are two rendezvous: give one");
  const int world = vm.count("world-size") ? vm["world-size"].as<int>() : nproc;
  moe::check_expert_partition(cfg.model.moe, world, nproc > 1 ? "--nproc" : "--world-size");

  if (nproc > 1) {
    // The ranks get this command line (without --nproc) plus their place, and share the cores.
    nmt::LaunchOptions launch;
    launch.args = {"train"};
    for (const auto& a : nmt::drop_options(args, {"--nproc", "--master-port", "--file-store"}))
      launch.args.push_back(a);
    std::vector<std::string> where;
    if (vm.count("file-store")) {
      where = {"--file-store", vm["file-store"].as<std::string>()};
    } else {
      const int port =
          vm.count("master-port") ? vm["master-port"].as<int>() : nmt::free_loopback_port();
      where = {"--master-port", std::to_string(port)};
    }
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    const int threads = cfg.train.threads == 0 ? static_cast<int>(std::max(1u, cores / nproc)) : 0;
    launch.rank_args = nmt::local_rank_args(nproc, where, threads);
    nmt::launch_ranks(launch);
    return 0;
  }

  // One process training in bf16: every product on oneDNN and LibTorch's OpenMP threads, which
  // are faster spinning than sleeping between ops (nmt/util/system.h; docs/PERFORMANCE.md).
  if (world == 1 && cfg.train.device == "cpu" &&
      kernels::resolve_precision(cfg.train.precision) == kernels::Precision::kBf16)
    use_spinning_threads();

  nmt::TrainOptions opt;
  opt.restart = vm["restart"].as<bool>();
  if (world > 1) {
    auto& c = opt.comm;
    c.rank = vm["rank"].as<int>();
    c.world_size = world;
    c.master_addr = vm["master-addr"].as<std::string>();
    c.master_port = vm.count("master-port") ? vm["master-port"].as<int>() : 29500;
    if (vm.count("file-store")) c.file_store = vm["file-store"].as<std::string>();
    c.timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
    if (c.rank < 0 || c.rank >= world)
      throw Error("--rank must be in [0, " + std::to_string(world) + "), got " +
                  std::to_string(c.rank));
  } else if (vm.count("rank") && vm["rank"].as<int>() != 0) {
    throw Error("--rank must be 0 with --world-size 1, got " + std::to_string(vm["rank"].as<int>()));
  }
  nmt::train(cfg, opt);
  return 0;
}

}  // namespace strata::cli
