#include "kernels/cpu_dispatch.h"

#include <ATen/Parallel.h>

#include <atomic>

namespace strata::kernels {

// Compiled like the kernels' own loops (strata_openmp_sources): the threads that one
// at::parallel_for of `items` single-item tasks occupies here.
int parallel_for_threads(int64_t items) {
  std::atomic<uint64_t> seen{0};
  at::parallel_for(0, items, 1, [&](int64_t, int64_t) {
    seen.fetch_or(uint64_t{1} << (at::get_thread_num() % 64));
  });
  return __builtin_popcountll(seen.load());
}

}  // namespace strata::kernels
