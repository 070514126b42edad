#pragma once
// Attention for one query per row (incremental decoding): for every row b and head h,
//   ctx[b,h] = Σ_s softmax_s(scale · q[b,h]·k[b,h,s] over unmasked s) · v[b,h,s]
// in one pass over the keys and values, without materialising [B, H, S, dh] products.
// q [B·G, H, dh]; k, v [B, H, S, dh] in any strides with the last dimension contiguous (the KV
// caches and the head views of the projections are used in place); query row r attends to key
// row r / G (G > 1: beam search's K beams share their sentence's cross-attention keys); key_pad
// [B, S] bool (true = padding, masked) or undefined. Returns ctx [B·G, H, dh] f32, contiguous. A row whose keys are all
// masked gets NaN, as softmax over -inf does.
//
// Reference (tests/kernels/attention_test.cpp): softmax((k * q·scale).sum(-1)) · v in LibTorch.
#include <torch/torch.h>

namespace strata::kernels {

torch::Tensor attention_one_query(const torch::Tensor& q, const torch::Tensor& k,
                                  const torch::Tensor& v, const torch::Tensor& key_pad,
                                  double scale);

// The same for self-attention over a step-indexed cache that beam search never reorders: the keys
// of query row r are steps_k[s, rows[r, s]] for s < t (steps_k, steps_v [capacity >= t, R, H, dh],
// last dimension contiguous; rows [B, t] i64, every entry < R). q [B, H, dh] -> ctx [B, H, dh].
torch::Tensor attention_one_query_steps(const torch::Tensor& q, const torch::Tensor& steps_k,
                                        const torch::Tensor& steps_v, const torch::Tensor& rows,
                                        double scale);

}  // namespace strata::kernels
