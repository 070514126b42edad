// strata train --config configs/X.yaml [--set a.b=c ...] [--restart]
//              [--nproc N | --rank R --world-size W (--master-addr A --master-port P | --file-store F)]
// With --nproc N (N > 1) this process is only the launcher: it re-executes itself as ranks
// 0..N-1 on this machine (loopback rendezvous), forwards rank 0's progress, and when a rank fails
// stops the others and exits non-zero with that rank's one-line error.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <thread>

#include "nmt/util/error.h"
#include "nmt/cli/commands.h"
#include "nmt/cli/options.h"
#include "nmt/config.h"
#include "nmt/train/trainer.h"

namespace po = boost::program_options;

namespace strata::cli {

namespace {

// A free TCP port on loopback (the kernel's choice; released again for rank 0's store to take).
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error("--nproc: cannot open a socket to find a free port");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  close(fd);
  if (!ok) throw Error("--nproc: cannot find a free port on 127.0.0.1 (give --master-port)");
  return ntohs(a.sin_port);
}

struct Rank {
  pid_t pid = -1;
  int fd = -1;              // read end of its stderr
  std::string pending;      // an incomplete line
  std::string error;        // its "strata: error: " line, without the prefix
  int status = -1;          // waitpid status once exited
  bool exited = false;
};

const char kErrorPrefix[] = "strata: error: ";

// Forwards complete lines: rank 0's as they are, the others' prefixed with their rank; keeps each
// rank's error line for the launcher's own (one) error line.
void forward_lines(Rank& r, int rank, bool flush_all) {
  size_t start = 0, nl;
  while ((nl = r.pending.find('\n', start)) != std::string::npos || (flush_all && start < r.pending.size())) {
    if (nl == std::string::npos) nl = r.pending.size();
    std::string line = r.pending.substr(start, nl - start);
    start = nl + 1;
    if (line.rfind(kErrorPrefix, 0) == 0) {
      r.error = line.substr(sizeof kErrorPrefix - 1);
    } else if (rank == 0) {
      std::fprintf(stderr, "%s\n", line.c_str());
    } else if (!line.empty()) {
      std::fprintf(stderr, "[rank %d] %s\n", rank, line.c_str());
    }
  }
  r.pending.erase(0, std::min(start, r.pending.size()));
}

void drain(Rank& r, int rank) {
  char buf[4096];
  for (;;) {
    ssize_t n = read(r.fd, buf, sizeof buf);
    if (n > 0) {
      r.pending.append(buf, static_cast<size_t>(n));
      forward_lines(r, rank, false);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {  // EOF
      forward_lines(r, rank, true);
      close(r.fd);
      r.fd = -1;
    }
    return;  // EOF or EAGAIN
  }
}

std::string describe(const Rank& r, int rank, int world) {
  std::string s = "rank " + std::to_string(rank) + " of " + std::to_string(world);
  if (WIFSIGNALED(r.status)) s += " was killed by signal " + std::to_string(WTERMSIG(r.status));
  else s += " exited with status " + std::to_string(WEXITSTATUS(r.status));
  if (!r.error.empty()) s += ": " + r.error;
  return s;
}

// Runs ranks 0..n-1 of `args` (the train arguments without --nproc) plus `extra[r]`.
int launch(int n, const std::vector<std::string>& args,
           const std::vector<std::vector<std::string>>& extra) {
  char exe[4096];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len <= 0) throw Error("--nproc: cannot find this program (/proc/self/exe)");
  exe[len] = 0;
  std::vector<Rank> ranks(n);
  for (int r = 0; r < n; ++r) {
    std::vector<std::string> a = {exe, "train"};
    a.insert(a.end(), args.begin(), args.end());
    a.insert(a.end(), extra[r].begin(), extra[r].end());
    std::vector<char*> argv;
    for (auto& s : a) argv.push_back(s.data());
    argv.push_back(nullptr);
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) throw Error("--nproc: cannot create a pipe");
    const pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) throw Error("--nproc: cannot start rank " + std::to_string(r));
    if (pid == 0) {  // the child: only async-signal-safe calls until exec
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // the launcher gone: so are its ranks
      if (getppid() != parent) _exit(125);
      dup2(p[1], 2);
      execv(exe, argv.data());
      _exit(127);
    }
    close(p[1]);
    fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
    ranks[r].pid = pid;
    ranks[r].fd = p[0];
  }
  int failed = -1;  // the rank reported as the cause
  auto deadline = std::chrono::steady_clock::time_point::max();
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<int> who;
    for (int r = 0; r < n; ++r)
      if (ranks[r].fd >= 0) {
        fds.push_back({ranks[r].fd, POLLIN, 0});
        who.push_back(r);
      }
    if (!fds.empty()) poll(fds.data(), fds.size(), 100);
    else std::this_thread::sleep_for(std::chrono::milliseconds(50));
    for (size_t i = 0; i < fds.size(); ++i)
      if (fds[i].revents) drain(ranks[who[i]], who[i]);
    std::vector<int> newly_failed;
    int running = 0;
    for (int r = 0; r < n; ++r) {
      if (ranks[r].exited) continue;
      int st = 0;
      if (waitpid(ranks[r].pid, &st, WNOHANG) == ranks[r].pid) {
        ranks[r].exited = true;
        ranks[r].status = st;
        if (ranks[r].fd >= 0) drain(ranks[r], r);
        if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) newly_failed.push_back(r);
      } else {
        ++running;
      }
    }
    if (failed < 0 && !newly_failed.empty()) {
      // Several at once: the cause is likelier a rank that was killed, or one whose error is not
      // a failed exchange (its peers' errors then name the exchange it left).
      auto score = [&](int r) {
        if (WIFSIGNALED(ranks[r].status)) return 0;
        return ranks[r].error.find("comm(") == std::string::npos ? 1 : 2;
      };
      failed = newly_failed[0];
      for (int r : newly_failed)
        if (score(r) < score(failed)) failed = r;
      for (int r = 0; r < n; ++r)
        if (!ranks[r].exited) kill(ranks[r].pid, SIGTERM);
      deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    }
    if (running == 0) break;
    if (std::chrono::steady_clock::now() > deadline)
      for (int r = 0; r < n; ++r)
        if (!ranks[r].exited) kill(ranks[r].pid, SIGKILL);
  }
  for (int r = 0; r < n; ++r)
    if (ranks[r].fd >= 0) {
      fcntl(ranks[r].fd, F_SETFL, fcntl(ranks[r].fd, F_GETFL) & ~O_NONBLOCK);
      drain(ranks[r], r);
    }
  if (failed >= 0) throw Error(describe(ranks[failed], failed, n));
  return 0;
}

}  // namespace

int run_train(const std::vector<std::string>& args) {
  po::options_description desc(
      "strata train: train a many-to-many model from a YAML config; resumes from\n"
      "<train.out_dir>/last.pt when it exists (at any world size dividing the experts)");
  desc.add_options()("help,h", "show this help")(
      "config,c", po::value<std::string>(), "training config (YAML), e.g. configs/quickstart.yaml")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "override a config field, e.g. --set train.max_updates=100 (repeatable)")(
      "restart", po::bool_switch(), "ignore an existing checkpoint in train.out_dir")(
      "nproc", po::value<int>()->default_value(1),
      "expert parallelism on this machine: launch N ranks (each holds num_experts/N experts)")(
      "rank", po::value<int>(), "this process's rank (ranks launched by the user)")(
      "world-size", po::value<int>(), "number of ranks (with --rank)")(
      "master-addr", po::value<std::string>()->default_value("127.0.0.1"),
      "rendezvous: the host of rank 0's store")(
      "master-port", po::value<int>(), "rendezvous: the port of rank 0's store (default 29500; "
                                       "with --nproc a free port)")(
      "file-store", po::value<std::string>(),
      "rendezvous through this file (shared by all ranks) instead of --master-addr/--master-port")(
      "comm-timeout", po::value<double>()->default_value(300),
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
  const auto& moe = cfg.model.moe;
  if (world > 1 && moe.enabled() && moe.num_experts % world != 0)
    throw Error("model.moe.num_experts=" + std::to_string(moe.num_experts) +
                " is not divisible by " + (nproc > 1 ? "--nproc " : "--world-size ") +
                std::to_string(world));

  if (nproc > 1) {
    // The ranks get this command line (without --nproc) plus their place, and share the cores.
    std::vector<std::string> rest;
    for (size_t i = 0; i < args.size(); ++i) {
      if (args[i] == "--nproc" || args[i] == "--master-port" || args[i] == "--file-store") {
        ++i;
        continue;
      }
      if (args[i].rfind("--nproc=", 0) == 0 || args[i].rfind("--master-port=", 0) == 0 ||
          args[i].rfind("--file-store=", 0) == 0)
        continue;
      rest.push_back(args[i]);
    }
    std::vector<std::string> where;
    if (vm.count("file-store")) {
      where = {"--file-store", vm["file-store"].as<std::string>()};
    } else {
      const int port = vm.count("master-port") ? vm["master-port"].as<int>() : free_port();
      where = {"--master-port", std::to_string(port)};
    }
    std::vector<std::vector<std::string>> extra(nproc);
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    for (int r = 0; r < nproc; ++r) {
      extra[r] = {"--rank", std::to_string(r), "--world-size", std::to_string(nproc)};
      extra[r].insert(extra[r].end(), where.begin(), where.end());
      if (cfg.train.threads == 0)
        extra[r].insert(extra[r].end(),
                        {"--set", "train.threads=" + std::to_string(std::max(1u, cores / nproc))});
    }
    return launch(nproc, rest, extra);
  }

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
