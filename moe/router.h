#pragma once
// MoE routers: Switch top-1 (Fedus et al. 2022) and GShard top-2 as in fairseq's moe branch
// (Lepikhin et al. 2021). A router maps tokens to experts and returns everything the dispatch
// needs plus its auxiliary losses (returned, never stored in globals).
//
//   TopKRouter router(TopKRouterOptions(d_model, num_experts).top_k(2));
//   Routing r = router(x, /*capacity=*/c);   // x [N, d]
#include <torch/torch.h>

namespace strata::moe {

struct Routing {
  torch::Tensor expert;   // [N, k] i64: chosen experts, first choice first
  torch::Tensor gate;     // [N, k] f32: combine weights (0 where dropped)
  torch::Tensor keep;     // [N, k] bool: within capacity
  torch::Tensor probs;    // [N, E] f32: softmax of the router logits
  torch::Tensor aux_loss; // scalar: E · Σ_e f_e · P_e (f from first choices before dropping)
  torch::Tensor z_loss;   // scalar: mean_t logsumexp(logits_t)^2 (ST-MoE)
};

enum class SecondExpertPolicy {
  kSampling,  // fairseq default: argmax of logits + Gumbel noise over the other experts (training)
  kAll,       // plain second argmax
};

struct TopKRouterOptions {
  TopKRouterOptions(int64_t d_model, int64_t num_experts)
      : d_model_(d_model), num_experts_(num_experts) {}
  TORCH_ARG(int64_t, d_model);
  TORCH_ARG(int64_t, num_experts);
  TORCH_ARG(int64_t, top_k) = 1;  // 1: Switch, 2: GShard
  TORCH_ARG(SecondExpertPolicy, second_policy) = SecondExpertPolicy::kSampling;
  TORCH_ARG(double, jitter) = 0.0;  // Switch: multiply the router input by U[1-ε, 1+ε] in training
};

// Capacity per expert: ceil(factor · k · N / E) (at least 1); factor <= 0 means dropless.
int64_t expert_capacity(int64_t tokens, int64_t num_experts, int64_t top_k, double factor);

class TopKRouterImpl : public torch::nn::Module {
 public:
  explicit TopKRouterImpl(TopKRouterOptions options);
  void reset();
  // x [N, d] -> routing with at most `capacity` tokens per expert (<= 0: no limit). Choices are
  // served in priority order: all first choices (in token order) before any second choice.
  Routing forward(const torch::Tensor& x, int64_t capacity);
  TopKRouterOptions options;
  torch::nn::Linear wg{nullptr};  // [E, d], no bias
};
TORCH_MODULE(TopKRouter);

// Routing from given logits (the router's pure core, used by tests with hand-built logits).
// `noise` [N, E] is added to the logits when choosing the second expert (Gumbel sampling), or
// undefined for a plain second argmax.
Routing route_topk(const torch::Tensor& logits, int64_t top_k, int64_t capacity,
                   const torch::Tensor& noise = torch::Tensor());

}  // namespace strata::moe
