#pragma once
// A sparse FFN layer: router -> dispatch -> experts -> combine, with capacity (separately for
// training and evaluation), token dropping (a dropped token's output is zero, so the residual
// carries it through), a dropless mode, and the router's auxiliary losses returned to the caller.
//
//   MoeLayer moe(MoeLayerOptions(d_model, ffn, /*experts=*/8).top_k(2));
//   MoeOutput y = moe(x, pad);   // x [B, T, d], pad [B, T] bool (true = padding, not routed)
#include <torch/torch.h>

#include "moe/dispatch.h"
#include "moe/router.h"

namespace strata::moe {

struct MoeLayerOptions {
  MoeLayerOptions(int64_t d_model, int64_t ffn, int64_t num_experts)
      : d_model_(d_model), ffn_(ffn), num_experts_(num_experts) {}
  TORCH_ARG(int64_t, d_model);
  TORCH_ARG(int64_t, ffn);           // hidden width of each expert
  TORCH_ARG(int64_t, num_experts);
  TORCH_ARG(int64_t, top_k) = 1;     // 1: Switch, 2: GShard
  TORCH_ARG(double, capacity_factor) = 1.25;    // training; <= 0: dropless
  TORCH_ARG(double, eval_capacity_factor) = 0;  // evaluation; <= 0: dropless (batch-invariant)
  TORCH_ARG(SecondExpertPolicy, second_policy) = SecondExpertPolicy::kSampling;
  TORCH_ARG(double, jitter) = 0.0;
};

struct MoeOutput {
  torch::Tensor output;    // like x
  torch::Tensor aux_loss;  // scalar (load balancing)
  torch::Tensor z_loss;    // scalar (router z-loss)
  torch::Tensor load;      // [E] f32: fraction of routed (kept) rows per expert
  double drop_rate = 0;    // fraction of (token, choice) pairs dropped by capacity
  torch::Tensor top1;      // [N] i64: first-choice expert of each position of x (-1 for padding)
};

class MoeLayerImpl : public torch::nn::Module {
 public:
  explicit MoeLayerImpl(MoeLayerOptions options);
  MoeOutput forward(const torch::Tensor& x, const torch::Tensor& pad = torch::Tensor());
  MoeLayerOptions options;
  TopKRouter router{nullptr};
  Experts experts{nullptr};
};
TORCH_MODULE(MoeLayer);

}  // namespace strata::moe
