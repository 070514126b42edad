#include "kernels/loss_rows.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include <cmath>
#include <limits>

#include "kernels/simd.h"

#include "kernels/cpu_dispatch.h"

namespace strata::kernels {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define STRATA_LOSS_ROWS_AVX512 1
#endif

#ifdef STRATA_LOSS_ROWS_AVX512
namespace {

#define STRATA_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))
#define STRATA_AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

// exp(x) for x ≤ 0 (the arguments here are z − max): x = n·ln2 + r with |r| ≤ ln2/2 (ln2 in two
// parts), exp(r) by Cephes' degree-6 polynomial (relative error ~2e-7 on that interval), times
// 2^n by scalef (which goes to 0 for very negative n instead of overflowing the exponent).
STRATA_AVX512 inline __m512 exp_ps(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-104.f));  // exp(−104) is below the smallest denormal
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  const __m512 r2 = _mm512_mul_ps(r, r);
  p = _mm512_fmadd_ps(p, r2, _mm512_add_ps(r, _mm512_set1_ps(1.f)));
  return _mm512_scalef_ps(p, n);
}

STRATA_AVX512 inline __mmask16 tail_mask(int64_t left) {
  return left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1u);
}

// Passes 1 and 2 of one row: its max, Σ exp(z − max) and Σz; z becomes exp(z − max).
STRATA_AVX512 void row_stats(float* z, int64_t V, float* max, float* e_sum, float* z_sum) {
  const float kNegInf = -std::numeric_limits<float>::infinity();
  __m512 vmax = _mm512_set1_ps(kNegInf), vsum = _mm512_setzero_ps();
  for (int64_t j = 0; j < V; j += 16) {
    const __mmask16 m = tail_mask(V - j);
    const __m512 x = _mm512_mask_loadu_ps(_mm512_set1_ps(kNegInf), m, z + j);
    vmax = _mm512_max_ps(vmax, x);
    vsum = _mm512_add_ps(vsum, _mm512_maskz_mov_ps(m, x));
  }
  const float mx = _mm512_reduce_max_ps(vmax);
  const __m512 vmx = _mm512_set1_ps(mx);
  __m512 esum = _mm512_setzero_ps();
  for (int64_t j = 0; j < V; j += 16) {
    const __mmask16 m = tail_mask(V - j);
    const __m512 e = exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, z + j), vmx));
    _mm512_mask_storeu_ps(z + j, m, e);
    esum = _mm512_add_ps(esum, _mm512_maskz_mov_ps(m, e));
  }
  *max = mx;
  *e_sum = _mm512_reduce_add_ps(esum);
  *z_sum = _mm512_reduce_add_ps(vsum);
}

// Pass 3, f32 in place: e -> k·(e/Σ − ε') − k·w·[v = t]. inv = k/Σ, off = k·ε', hot = k·w.
STRATA_AVX512 void row_grad_f32(float* e, int64_t V, int64_t t, float inv, float off, float hot) {
  const __m512 vinv = _mm512_set1_ps(inv), voff = _mm512_set1_ps(off), vhot = _mm512_set1_ps(hot);
  for (int64_t j = 0; j < V; j += 16) {
    const __mmask16 m = tail_mask(V - j);
    __m512 g = _mm512_fmsub_ps(_mm512_maskz_loadu_ps(m, e + j), vinv, voff);
    if (t >= j && t < j + 16) g = _mm512_mask_sub_ps(g, __mmask16(1u << (t - j)), g, vhot);
    _mm512_mask_storeu_ps(e + j, m, g);
  }
}

// Pass 3 into bf16 (round to nearest even, as LibTorch's conversion).
STRATA_AVX512_BF16 void row_grad_bf16(const float* e, int64_t V, int64_t t, float inv, float off,
                                      float hot, at::BFloat16* out) {
  const __m512 vinv = _mm512_set1_ps(inv), voff = _mm512_set1_ps(off), vhot = _mm512_set1_ps(hot);
  for (int64_t j = 0; j < V; j += 16) {
    const __mmask16 m = tail_mask(V - j);
    __m512 g = _mm512_fmsub_ps(_mm512_maskz_loadu_ps(m, e + j), vinv, voff);
    if (t >= j && t < j + 16) g = _mm512_mask_sub_ps(g, __mmask16(1u << (t - j)), g, vhot);
    const __m256i b = reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(g));
    _mm256_mask_storeu_epi16(out + j, m, b);
  }
}

}  // namespace
#endif

bool smoothed_ce_rows_available() {
#ifdef STRATA_LOSS_ROWS_AVX512
  static const bool yes = cpu_has_avx512bw() && __builtin_cpu_supports("avx512vl") &&
                          __builtin_cpu_supports("fma");
  return yes;
#else
  return false;
#endif
}

SmoothedCeRows smoothed_ce_rows(torch::Tensor z, const torch::Tensor& target,
                                const torch::Tensor& keep, double epsilon_i, double w_nll,
                                bool with_grad, torch::ScalarType grad_dtype) {
  TORCH_CHECK(smoothed_ce_rows_available(), "smoothed_ce_rows: needs AVX-512 (F, BW, VL)");
  RECORD_FUNCTION("strata::smoothed_ce_rows", std::vector<c10::IValue>());  // bench_train --profile
  TORCH_CHECK(z.dim() == 2 && z.is_contiguous() && z.scalar_type() == torch::kFloat && z.is_cpu(),
              "smoothed_ce_rows: expected contiguous f32 CPU logits [c, V], got ", z.sizes());
  const int64_t c = z.size(0), V = z.size(1);
  auto t = target.to(torch::kLong).contiguous();
  auto k = keep.to(torch::kFloat).contiguous();
  TORCH_CHECK(t.numel() == c && k.numel() == c, "smoothed_ce_rows: target and keep must be [", c,
              "]");
  if (c > 0) {
    const int64_t lo = t.min().item<int64_t>(), hi = t.max().item<int64_t>();
    TORCH_CHECK(lo >= 0 && hi < V, "smoothed_ce_rows: targets in [", lo, ", ", hi,
                "] outside the vocabulary [0, ", V, ")");
  }
  const bool bf16 = with_grad && grad_dtype == torch::kBFloat16;
  TORCH_CHECK(!with_grad || grad_dtype == torch::kFloat || (bf16 && cpu_has_avx512_bf16()),
              "smoothed_ce_rows: gradient dtype must be f32, or bf16 on a CPU with AVX512_BF16");
  SmoothedCeRows out;
  out.loss = torch::empty({c}, z.options());
  out.nll = torch::empty({c}, z.options());
  if (with_grad) out.grad = bf16 ? torch::empty({c, V}, z.options().dtype(torch::kBFloat16)) : z;
#ifdef STRATA_LOSS_ROWS_AVX512
  float* zp = z.data_ptr<float>();
  const int64_t* tp = t.data_ptr<int64_t>();
  const float* kp = k.data_ptr<float>();
  float* lp = out.loss.data_ptr<float>();
  float* np = out.nll.data_ptr<float>();
  at::BFloat16* gp = bf16 ? out.grad.data_ptr<at::BFloat16>() : nullptr;
  at::parallel_for(0, c, parallel_grain(3 * V), [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      float* row = zp + i * V;
      const int64_t ti = tp[i];
      const float z_t = row[ti];
      float mx = 0.f, e_sum = 0.f, z_sum = 0.f;
      row_stats(row, V, &mx, &e_sum, &z_sum);
      const float lse = mx + std::log(e_sum);
      const double nll = static_cast<double>(lse) - z_t;
      const double smooth = static_cast<double>(lse) * static_cast<double>(V) - z_sum;
      np[i] = static_cast<float>(nll);
      lp[i] = static_cast<float>(nll * w_nll + smooth * epsilon_i);
      if (!with_grad) continue;
      const float inv = kp[i] / e_sum, off = kp[i] * static_cast<float>(epsilon_i),
                  hot = kp[i] * static_cast<float>(w_nll);
      if (bf16)
        row_grad_bf16(row, V, ti, inv, off, hot, gp + i * V);
      else
        row_grad_f32(row, V, ti, inv, off, hot);
    }
  });
#endif
  return out;
}

}  // namespace strata::kernels
