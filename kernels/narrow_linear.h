#pragma once
// x·wᵀ for an output of a few columns (a router's logits: one per expert), inference on CPU: one
// dot product per (row, output), rows spread over LibTorch's threads. LibTorch's fp32 linear goes
// to OpenBLAS, whose own thread pool keeps spinning after a call beside LibTorch's OpenMP threads
// (int8 decoding of a Switch model: the ops after each router ran up to 3x slower). Each row's
// result depends on that row only.
//   auto logits = kernels::narrow_linear(x, router_weight);   // x [..., K], w [E, K] -> [..., E]
//
// Reference (tests/kernels/narrow_linear_test.cpp): fp64 products in LibTorch.
#include <torch/torch.h>

namespace strata::kernels {

// x [..., K] f32, w [E, K] f32 (E small) -> [..., E] f32. Not differentiable.
torch::Tensor narrow_linear(const torch::Tensor& x, const torch::Tensor& w);

}  // namespace strata::kernels
