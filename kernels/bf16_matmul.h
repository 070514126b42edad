#pragma once
// bf16 products with fp32 results through oneDNN's matmul (CPU): the training path of
// Precision::kBf16 (linear.h). Operands are bf16, accumulation and results fp32, so a product
// needs no fp32 <-> bf16 conversion of its result, and the transposed operands of the backward
// pass are strided views, not copies. LibTorch 1.13's own bf16 products return bf16, which costs
// a conversion per result and per gradient (docs/PERFORMANCE.md, "bf16 training").
//
//   auto y = kernels::bf16_matmul(x16, w16.t(), bias);   // x16 [M, K], w16 [N, K] bf16 -> [M, N] f32
//
// Reference: the operands' values (exact in fp32) multiplied in fp32 or fp64; the order of the
// sums is oneDNN's (tests/kernels/bf16_matmul_test.cpp).
#include <torch/torch.h>

namespace strata::kernels {

// a [..., M, K] · b [..., K, N] (+ bias [N] f32) -> [..., M, N] f32. a and b are bf16 CPU
// tensors with the same batch dimensions; any strides (a copy is made only when neither of the
// last two dimensions has stride 1).
torch::Tensor bf16_matmul(const torch::Tensor& a, const torch::Tensor& b,
                          const torch::Tensor& bias = {});

// out (f32 [..., M, N], any strides) = a · b, or += a · b when accumulate.
void bf16_matmul_out(torch::Tensor& out, const torch::Tensor& a, const torch::Tensor& b,
                     bool accumulate);

// w rounded to bf16 (a tensor without autograd history). For a parameter (a leaf that requires
// a gradient) the copy is kept and reused until the parameter changes (its version counter
// moves, as every in-place update does), so each weight is converted once per update however
// many products use it.
torch::Tensor bf16_weight(const torch::Tensor& w);

}  // namespace strata::kernels
