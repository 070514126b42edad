#pragma once
// A sparse FFN layer: router -> dispatch -> experts -> combine, with capacity (separately for
// training and evaluation), token dropping (a dropped token's output is zero, so the residual
// carries it through), a dropless mode, and the router's auxiliary losses returned to the caller.
//
//   MoeLayer moe(MoeLayerOptions(d_model, ffn, /*experts=*/8).top_k(2));
//   MoeOutput y = moe(x, pad);   // x [B, T, d], pad [B, T] bool (true = padding, not routed)
#include <torch/torch.h>

#include <memory>

#include "moe/ac_router.h"
#include "moe/comm.h"
#include "moe/dispatch.h"
#include "moe/router.h"
#include "moe/sigma_router.h"

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
  TORCH_ARG(double, eom) = 0.0;                 // expert-output masking probability (NLLB; 0: off)
  TORCH_ARG(double, expert_ffn_dropout) = 0.0;  // dropout on the experts' hidden activation (Switch)
  // Router (moe/router.h): top-k softmax, σ-MoE (dropless: capacities are ignored, top_k in
  // [1, E], experts get σ-MoE's init) or Adaptive Clustering (uses the previous MoE layer's choices).
  TORCH_ARG(RouterKind, router) = RouterKind::kTopK;
  TORCH_ARG(torch::nn::Linear, shared_router) = nullptr;  // Omni-router: the model's one weight
  TORCH_ARG(double, expert_dropout) = 0.0;  // σ-MoE: selection dropout δ (training)
  TORCH_ARG(double, init_scale) = 1.0;      // σ-MoE init scale s (sqrt(2 / n_layers) for pre-LN)
  TORCH_ARG(Dispersion, ac_dispersion) = Dispersion::kMad;
  TORCH_ARG(double, ac_momentum) = 0.1;     // AC: EMA momentum of the running dispersion
  // Expert parallelism (moe/expert_parallel.h): when set, this rank holds only its
  // num_experts / world experts and exchanges tokens with the other ranks in every forward.
  TORCH_ARG(std::shared_ptr<Communicator>, comm) = nullptr;
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
  // prev_top1 [B·T] i64: first choices of the previous MoE layer at the same positions (-1 for
  // padding), or undefined; only the AC router uses it.
  MoeOutput forward(const torch::Tensor& x, const torch::Tensor& pad = torch::Tensor(),
                    const torch::Tensor& prev_top1 = torch::Tensor());
  MoeLayerOptions options;
  std::shared_ptr<RouterBase> router;  // registered as "router" (its weight: see Omni-router)
  Experts experts{nullptr};  // all experts, or this rank's [first_local_expert, +E/world)
  int64_t first_local_expert = 0;
};
TORCH_MODULE(MoeLayer);

}  // namespace strata::moe
