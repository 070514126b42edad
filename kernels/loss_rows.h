#pragma once
// The element work of the fused output loss (output_loss.h) on one chunk of logit rows, in one
// kernel: per row three passes over its V logits (max and Σz; exp(z − max) and its sum; the
// gradient, written in the products' dtype) instead of the eight or so LibTorch passes of the
// composition (sum, amax, sub, exp, sum, mul, sub, the bf16 conversion), which were a third of a
// bf16 training update at d 128. AVX-512 only (a vectorised exp with the same polynomial in
// every lane); `smoothed_ce_rows_available()` says whether this CPU runs it, and output_loss.cpp
// falls back to the composition elsewhere.
//
// Row i with target t, keep k (0 for padding), ε' = epsilon_i, w = w_nll (output_loss.h):
//   lse = max + log Σ exp(z − max);  nll_i = lse − z_t;  loss_i = w·nll_i + ε'·(V·lse − Σ_v z_v)
//   grad_iv = k·(p_v − ε') − k·w·[v = t]           (p_v = exp(z_v − max) / Σ)
#include <torch/torch.h>

namespace strata::kernels {

bool smoothed_ce_rows_available();

struct SmoothedCeRows {
  torch::Tensor loss;  // [c] f32: loss_i (not multiplied by keep)
  torch::Tensor nll;   // [c] f32: nll_i (not multiplied by keep)
  torch::Tensor grad;  // [c, V] in grad_dtype (f32: z's own storage), or undefined
};

// z [c, V] contiguous f32 logits (overwritten), target [c] i64, keep [c] f32. grad_dtype kFloat or
// kBFloat16 (bf16 needs AVX512_BF16: cpu_has_avx512_bf16()); with_grad false skips the third pass.
SmoothedCeRows smoothed_ce_rows(torch::Tensor z, const torch::Tensor& target,
                                const torch::Tensor& keep, double epsilon_i, double w_nll,
                                bool with_grad, torch::ScalarType grad_dtype);

}  // namespace strata::kernels
