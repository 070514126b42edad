#pragma once
// a·b over n floats for the hand-written loops of kernels/ (include in .cpp files only): a plain
// loop, and AVX-512 intrinsics (GCC does not vectorise the float reduction without fast-math).
//   static const DotFn dot = pick_dot();   // once, by the CPU
//   float s = dot(a, b, n);
#include <cstdint>

#include "kernels/cpu_dispatch.h"
#include "kernels/simd.h"

namespace strata::kernels {
namespace {

inline float dot_plain(const float* a, const float* b, int64_t n) {
  float s = 0;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f"))) inline float dot_avx512(const float* a, const float* b, int64_t n) {
  __m512 acc = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc);
  float s = _mm512_reduce_add_ps(acc);
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}
#endif
using DotFn = float (*)(const float*, const float*, int64_t);
inline DotFn pick_dot() {
#if defined(__x86_64__) && defined(__GNUC__)
  if (cpu_has_avx512bw()) return dot_avx512;
#endif
  return dot_plain;
}

}  // namespace
}  // namespace strata::kernels
