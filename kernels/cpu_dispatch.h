#pragma once
// Run-time ISA dispatch for the element loops of kernels/ (the project is built for plain x86-64).
//   STRATA_CLONES void f(...)   // compiled for AVX-512, AVX2 and x86-64; the loader picks one
//   if (cpu_has_avx512bw()) ... // a hand-written AVX-512 variant (target("avx512f,avx512bw"))
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define STRATA_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define STRATA_CLONES
#endif

#include <algorithm>
#include <cstdint>

namespace strata::kernels {

// Items per task of at::parallel_for for items of `work` element operations each: about ATen's
// 32,768 (at::internal::GRAIN_SIZE) per task, so a small loop stays on the calling thread instead
// of waking the other threads for microseconds of work (greedy decoding's 32-row products).
inline int64_t parallel_grain(int64_t work) {
  return std::max<int64_t>(1, int64_t{32768} / std::max<int64_t>(work, 1));
}

inline bool cpu_has_avx512bw() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool yes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  return yes;
#else
  return false;
#endif
}

// How many threads one at::parallel_for of `items` tasks runs on in kernels/ (tests: the loops
// are compiled with OpenMP; without it at::parallel_for runs everything on the calling thread).
int parallel_for_threads(int64_t items);

// AVX512_BF16: the bf16 conversion and dot-product instructions (vcvtneps2bf16, vdpbf16ps).
inline bool cpu_has_avx512_bf16() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool yes = __builtin_cpu_supports("avx512bf16");
  return yes;
#else
  return false;
#endif
}

}  // namespace strata::kernels
