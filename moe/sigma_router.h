#pragma once
// σ-MoE router (Csordás, Irie, Schmidhuber, Findings of EMNLP 2023; RobertCsordas/moe): sigmoid
// gates s = σ(W_sel x), the top-k experts by s with their raw s as combine weights (no
// renormalisation), no capacity and no token dropping (the same computation at inference).
// Training only: expert dropout masks each (token, expert) score with probability δ before the
// top-k. Aux loss: the entropy regulariser −H(p̄), p̄ = the mean over all routed tokens of
// softmax(W_sel x), computed in log space (weight γ = 1e-4..1e-3 in the paper).
//
//   SigmaRouter r(SigmaRouterOptions(d_model, /*experts=*/16).top_k(4).expert_dropout(0.05));
//   Routing out = r(x);   // x [N, d]
#include <torch/torch.h>

#include "moe/router.h"

namespace strata::moe {

struct SigmaRouterOptions {
  SigmaRouterOptions(int64_t d_model, int64_t num_experts)
      : d_model_(d_model), num_experts_(num_experts) {}
  TORCH_ARG(int64_t, d_model);
  TORCH_ARG(int64_t, num_experts);
  TORCH_ARG(int64_t, top_k) = 4;             // K, 1..E (the paper: K = 4 of 16 or 32)
  TORCH_ARG(double, expert_dropout) = 0.0;   // δ (the paper: 0.05..0.1), training only
  TORCH_ARG(double, init_scale) = 1.0;       // s of the init: 1 post-LN, sqrt(2 / n_layers) pre-LN
  TORCH_ARG(torch::nn::Linear, shared) = nullptr;  // Omni-router: the model's shared weight
};

// Routing from given selection logits [N, E] (the router's pure core). `dropped` [N, E] bool
// marks (token, expert) scores removed from the selection (expert dropout), or is undefined.
// A token whose k-th choice had to be a dropped expert (fewer than K left) does not keep it.
Routing route_sigma(const torch::Tensor& logits, int64_t top_k,
                    const torch::Tensor& dropped = torch::Tensor());

// σ-MoE's router init of an [E, d] weight: N(0, (s/√d)²), then every row rescaled to the same L2
// norm keeping the overall standard deviation (renorm_keep_std).
void sigma_router_init(torch::Tensor& weight, double init_scale);
// σ-MoE's expert init: W1 ~ N(0, (s/√d)²), W2 ~ N(0, (s/√(E·G))²) (W2 as one dense layer of width
// E·G), zero biases. w1 [E, d, G], w2 [E, G, d].
void sigma_experts_init(torch::Tensor& w1, torch::Tensor& b1, torch::Tensor& w2,
                        torch::Tensor& b2, double init_scale);

class SigmaRouterImpl : public RouterBase {
 public:
  explicit SigmaRouterImpl(SigmaRouterOptions options);
  void reset();
  Routing forward(const torch::Tensor& x);  // x [N, d]
  Routing route(const RouterInput& in) override { return forward(in.x); }
  SigmaRouterOptions options;
};
TORCH_MODULE(SigmaRouter);

}  // namespace strata::moe
