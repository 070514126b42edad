#pragma once
// Run-time ISA dispatch for the element loops of kernels/ (the project is built for plain x86-64).
//   STRATA_CLONES void f(...)   // compiled for AVX-512, AVX2 and x86-64; the loader picks one
//   if (cpu_has_avx512bw()) ... // a hand-written AVX-512 variant (target("avx512f,avx512bw"))
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define STRATA_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define STRATA_CLONES
#endif

namespace strata::kernels {

inline bool cpu_has_avx512bw() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool yes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  return yes;
#else
  return false;
#endif
}

}  // namespace strata::kernels
