#include "nmt/util/system.h"

#include <ATen/Parallel.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

namespace strata {

namespace {
char** saved_argv = nullptr;
}

void configure_runtime(char** argv) {
  saved_argv = argv;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_MMAP_MAX, 0);  // never mmap from the main arena: big tensors come from the heap too
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("STRATA_NO_REEXEC")) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  setenv("STRATA_NO_REEXEC", "1", 1);
  setenv("STRATA_OMP_POLICY_CHOSEN", "1", 1);  // the policy is ours, not the user's
  execv("/proc/self/exe", argv);  // returns only on failure: carry on with the default policy
}

std::string omp_wait_policy() {
  const char* p = std::getenv("OMP_WAIT_POLICY");
  return p ? p : "";
}

void use_spinning_threads(Spin how) {
  if (!saved_argv || !std::getenv("STRATA_OMP_POLICY_CHOSEN") || omp_wait_policy() != "PASSIVE")
    return;  // the user's policy, or already spinning
  std::fflush(nullptr);
  if (how == Spin::kAlways) setenv("OMP_WAIT_POLICY", "ACTIVE", 1);
  else unsetenv("OMP_WAIT_POLICY");
  // What still runs on OpenBLAS (validation decodes in fp32) would fight the spinning threads
  // with its own: one OpenBLAS thread (validation 7 s -> 2 s on the quickstart).
  const bool blas_threads_mine = !std::getenv("OPENBLAS_NUM_THREADS");
  if (blas_threads_mine) setenv("OPENBLAS_NUM_THREADS", "1", 1);
  execv("/proc/self/exe", saved_argv);  // returns only on failure: carry on with PASSIVE
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  if (blas_threads_mine) unsetenv("OPENBLAS_NUM_THREADS");
}

int set_threads(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  return at::get_num_threads();
}

std::string loaded_blas() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash);
    std::string base = path.substr(path.rfind('/') + 1);
    if (base.rfind("libblas.so", 0) == 0 || base.rfind("libopenblas", 0) == 0 ||
        base.rfind("libblis", 0) == 0 || base.rfind("libmkl_rt", 0) == 0) {
      std::error_code ec;
      auto real = std::filesystem::canonical(path, ec);
      return ec ? path : real.string();
    }
  }
  return "";
}

void warn_if_slow_blas() {
  std::string blas = loaded_blas();
  // Debian's reference BLAS lives in .../blas/libblas.so.3; OpenBLAS, BLIS and MKL are fine.
  if (blas.find("/blas/libblas.so") != std::string::npos)
    std::fprintf(stderr,
                 "strata: warning: using the slow reference BLAS (%s); run scripts/bootstrap.sh "
                 "or 'apt-get install libopenblas0-pthread' for ~10x faster matrix products\n",
                 blas.c_str());
}

}  // namespace strata

namespace strata {

void release_free_memory() { malloc_trim(0); }

namespace {
int64_t status_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  const std::string key = std::string(field) + ":";
  for (std::string line; std::getline(in, line);)
    if (line.compare(0, key.size(), key) == 0) return std::stoll(line.substr(key.size())) * 1024;
  return -1;
}
}  // namespace

int64_t resident_bytes() { return status_kb("VmRSS"); }
int64_t peak_resident_bytes() { return status_kb("VmHWM"); }

}  // namespace strata
