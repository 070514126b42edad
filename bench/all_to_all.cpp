// bench/all_to_all: the expert-parallel token exchange of one MoE layer's forward pass on Gloo
// (loopback, CPU): per-expert counts, then the rows to the experts' owners, then the results back
// (the backward pass repeats the two payload exchanges). Top-1 routing, experts chosen uniformly at
// random, so a rank keeps ~1/W of its rows and sends the rest. The program launches itself as W
// processes (FileStore rendezvous) for each world size and prints a markdown table; times are the
// slowest rank's mean over --repeat steps after one warm-up step.
//   build/bench/bench_all_to_all [--d 512] [--experts 8] [--repeat 20] [--threads 1]
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "moe/comm.h"
#include "moe/expert_parallel.h"

extern char** environ;

using namespace strata;

namespace {

const int64_t kTokens[] = {512, 2048, 8192, 32768};

struct Args {
  int64_t d = 512, experts = 8, repeat = 20, threads = 1;
};

// One worker: for each token count, prints "tokens sent_bytes seconds" (rank 0 only).
int worker(const Args& a, int rank, int world, const std::string& store, const std::string& out) {
  torch::set_num_threads(static_cast<int>(a.threads));
  moe::CommOptions o;
  o.rank = rank;
  o.world_size = world;
  o.file_store = store;
  o.timeout = std::chrono::milliseconds(60000);
  auto comm = moe::make_communicator(o);
  std::ofstream f;
  if (rank == 0) f.open(out);
  for (int64_t n : kTokens) {
    torch::manual_seed(rank + 1);
    auto expert = torch::randint(a.experts, {n}, torch::kLong);
    auto order = std::get<1>(expert.sort(/*stable=*/true, 0, false));
    auto x = torch::randn({n, a.d}).index_select(0, order);  // [n, d] f32, sorted by expert
    auto c = torch::bincount(expert, {}, a.experts);
    std::vector<int64_t> counts(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + a.experts);
    const int64_t per = a.experts / world;
    auto exchange = [&] {
      auto recv_counts = comm->exchange_counts(counts);
      std::vector<int64_t> send(world, 0), recv(world, 0);
      for (int j = 0; j < world; ++j)
        for (int64_t e = 0; e < per; ++e) {
          send[j] += counts[j * per + e];
          recv[j] += recv_counts[j * per + e];
        }
      auto y = comm->all_to_all(x, send, recv);  // rows to the experts' owners
      auto back = comm->all_to_all(y, recv, send);  // results back
      int64_t sent = 0;  // bytes that leave this process (own rows stay)
      for (int j = 0; j < world; ++j)
        if (j != rank) sent += (send[j] + recv[j]) * a.d * 4 + per * 8;
      return sent;
    };
    exchange();
    comm->barrier();
    auto t0 = std::chrono::steady_clock::now();
    int64_t sent = 0;
    for (int64_t i = 0; i < a.repeat; ++i) sent = exchange();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / a.repeat;
    auto t = torch::tensor({s}, torch::kDouble);
    comm->all_reduce(t, moe::ReduceOp::kMax);
    auto b = torch::tensor({sent}, torch::kLong);
    comm->all_reduce(b, moe::ReduceOp::kSum);
    if (rank == 0) f << n << " " << sent << " " << b.item<int64_t>() << " " << t.item<double>() << "\n";
  }
  comm->barrier();
  return 0;
}

std::string self_exe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, n) : "";
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  int i = 1;
  if (argc > 1 && std::string(argv[1]) == "--worker") i = 6;
  for (; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    int64_t v = std::atoll(argv[i + 1]);
    if (k == "--d") a.d = v;
    else if (k == "--experts") a.experts = v;
    else if (k == "--repeat") a.repeat = v;
    else if (k == "--threads") a.threads = v;
    else {
      std::fprintf(stderr, "unknown option %s (--d, --experts, --repeat, --threads)\n", k.c_str());
      return 2;
    }
  }
  if (argc > 1 && std::string(argv[1]) == "--worker") {
    try {
      return worker(a, std::atoi(argv[2]), std::atoi(argv[3]), argv[4], argv[5]);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      std::_Exit(1);
    }
  }
  auto dir = std::filesystem::temp_directory_path() /
             ("strata_bench_a2a_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::printf("All-to-all exchange of one MoE layer forward (counts + rows out + rows back), Gloo on "
              "loopback, fp32 rows of d %lld, %lld experts, top-1 uniform routing, %lld thread(s) "
              "per rank, mean of %lld steps (slowest rank)\n\n",
              static_cast<long long>(a.d), static_cast<long long>(a.experts),
              static_cast<long long>(a.threads), static_cast<long long>(a.repeat));
  std::printf("| world | tokens/rank | bytes out/rank/step | bytes out, all ranks/step | time/step (ms) "
              "| GB/s out/rank |\n|---:|---:|---:|---:|---:|---:|\n");
  for (int world : {2, 4}) {
    if (a.experts % world) continue;
    const std::string store = (dir / ("store" + std::to_string(world))).string();
    const std::string out = (dir / ("out" + std::to_string(world))).string();
    std::vector<pid_t> pids;
    const std::string exe = self_exe();
    for (int r = 0; r < world; ++r) {
      std::vector<std::string> args = {exe, "--worker", std::to_string(r), std::to_string(world),
                                       store, out, "--d", std::to_string(a.d), "--experts",
                                       std::to_string(a.experts), "--repeat",
                                       std::to_string(a.repeat), "--threads",
                                       std::to_string(a.threads)};
      std::vector<char*> av;
      for (auto& s : args) av.push_back(s.data());
      av.push_back(nullptr);
      pid_t pid;
      if (posix_spawn(&pid, exe.c_str(), nullptr, nullptr, av.data(), environ) != 0) {
        std::fprintf(stderr, "cannot start %s\n", exe.c_str());
        return 1;
      }
      pids.push_back(pid);
    }
    bool ok = true;
    for (pid_t p : pids) {
      int st = 0;
      waitpid(p, &st, 0);
      ok = ok && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    if (!ok) {
      std::fprintf(stderr, "world %d: a worker failed\n", world);
      return 1;
    }
    std::ifstream in(out);
    long long n, sent, total;
    double s;
    while (in >> n >> sent >> total >> s)
      std::printf("| %d | %lld | %.2f MB | %.2f MB | %.2f | %.2f |\n", world, n, sent / 1e6,
                  total / 1e6, s * 1e3, sent / s / 1e9);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
