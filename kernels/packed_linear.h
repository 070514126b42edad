#pragma once
// Linear layers for inference in a low-precision weight format, on oneDNN (inference only: no
// autograd). A weight W [N, K] (y = x·Wᵀ + b) is converted once into a PackedWeight:
//
//   int8  W is quantized per output row: q[n,k] = round(W[n,k] · s_w[n]), s_w[n] = 127 / max_k |W[n,k]|
//         (CTranslate2's scheme). Activations are quantized per row at run time the same way
//         (s_x[m] = 127 / max_k |x[m,k]|), so a row's result never depends on the other rows of the
//         batch; the s8·s8 products accumulate exactly in int32 (oneDNN u8s8s32 with its
//         compensation for the shift to u8) and y[m,n] = acc[m,n] / (s_x[m]·s_w[n]) + b[n].
//   bf16  W is rounded to bf16; x is rounded to bf16 per call; fp32 accumulation and result.
//
// Both keep the weight in oneDNN's blocked layout for the matmul primitive (reordered once, on first
// use, per layout the primitive asks for), so no product repacks the weight. Results are fp32.
//
//   auto p = kernels::PackedWeight::int8(w);     // w [N, K] f32
//   auto y = p.linear(x, b);                      // x [..., K] f32 -> [..., N] f32
//
// References (tests/kernels/packed_linear_test.cpp): int8_linear_reference (integer loops over
// the same quantized operands), fp64 products of the dequantized operands, and fp32 LibTorch.
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "kernels/precision.h"

namespace strata::kernels {

// Per-row symmetric int8 quantization of a 2-D f32 tensor [M, K]: returns (q int8 [M, K], scale f32
// [M]) with q = round-half-even(x · scale), scale = 127 / max|x[m,:]| (1 for an all-zero row).
std::pair<torch::Tensor, torch::Tensor> quantize_rows(const torch::Tensor& x);

class PackedWeight {
 public:
  PackedWeight() = default;
  static PackedWeight int8(const torch::Tensor& w);  // w [N, K] f32
  static PackedWeight bf16(const torch::Tensor& w);  // w [N, K] f32
  // int8(w) or bf16(w) by format; an empty PackedWeight for kNone.
  static PackedWeight make(WeightFormat format, const torch::Tensor& w);
  // From an already quantized weight (an int8 checkpoint): q int8 [N, K], scale f32 [N].
  static PackedWeight from_int8(torch::Tensor q, torch::Tensor scale);

  bool defined() const { return impl_ != nullptr; }
  WeightFormat format() const;
  int64_t out_features() const;  // N
  int64_t in_features() const;   // K
  // The stored weight: int8 q [N, K] (format kInt8) or bf16 [N, K] (kBf16); scale [N] (kInt8 only).
  const torch::Tensor& data() const;
  const torch::Tensor& scale() const;
  // W as f32 (dequantized: q / s_w for int8).
  torch::Tensor dequantized() const;
  // dequantized().index_select(0, rows) (rows any shape of i64) -> [rows..., K], without the rest.
  torch::Tensor dequantized_rows(const torch::Tensor& rows) const;
  // Bytes this weight holds (plain copy plus oneDNN's packed copies).
  int64_t bytes() const;

  // Where the weight came from: made_from(w) is true while w is the same tensor, unmodified since
  // (its storage and LibTorch's version counter), so layers never use a stale copy.
  PackedWeight& from(const torch::Tensor& w);
  bool made_from(const torch::Tensor& w) const;

  // x [..., K] f32 -> x·Wᵀ + b [..., N] f32 (b [N] f32 or undefined). Not differentiable.
  torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& b) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// The experts' FFNs over rows grouped by expert (moe/dispatch.h's x_sorted): rows
// [start_e, start_e + counts[e]) of the result are relu(x_e·W1_eᵀ + b1[e])·W2_eᵀ + b2[e], with
// W1_e = w1[e] [ffn, d] and W2_e = w2[e] [d_out, ffn] packed (int8 or bf16); x [M, d] f32, b1 [E, ffn],
// b2 [E, d_out] f32. `hidden` (or null) replaces each expert's activations before the second
// product (moe/hidden_hook.h). Experts with few rows run concurrently, one per thread, each product
// on its thread alone (decoding's few rows per expert keep two threads of one product mostly
// waiting); an expert with many rows (or any, with `hidden` set or one thread) runs its products over
// all threads. Each row's result is the same either way (int8: exactly, as a batch of one).
torch::Tensor packed_experts_ffn(const torch::Tensor& x, const std::vector<int64_t>& counts,
                                 const std::vector<PackedWeight>& w1, const torch::Tensor& b1,
                                 const std::vector<PackedWeight>& w2, const torch::Tensor& b2,
                                 const std::function<torch::Tensor(int64_t, const torch::Tensor&)>& hidden = {});

// The plain reference of PackedWeight::int8(w).linear(x, b): the same quantization of x and w,
// int32 accumulation in loops, the same dequantization.
torch::Tensor int8_linear_reference(const torch::Tensor& x, const torch::Tensor& w,
                                    const torch::Tensor& b);

}  // namespace strata::kernels
