#pragma once
// MoE routers: Switch top-1 (Fedus et al. 2022) and GShard top-2 as in fairseq's moe branch
// (Lepikhin et al. 2021). A router maps tokens to experts and returns everything the dispatch
// needs plus its auxiliary losses (returned, never stored in globals). Every router implements
// RouterBase (here: TopKRouter; moe/sigma_router.h: σ-MoE; moe/ac_router.h: Adaptive Clustering;
// moe/hash_router.h: Hash layers) and is registered by name in moe/registry.cpp; those with a
// learned weight can use one shared by all MoE layers (Omni-router, `shared` in their options).
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
  // Omni-router: use this [E, d] weight (owned and registered by the model) instead of a new one.
  TORCH_ARG(torch::nn::Linear, shared) = nullptr;
};

// What a router sees of the routed tokens (padding already removed).
struct RouterInput {
  torch::Tensor x;          // [N, d] token states
  int64_t capacity = 0;     // tokens per expert (<= 0: no limit; routers without capacity ignore it)
  torch::Tensor prev_top1;  // [N] i64: first choice at the previous MoE layer of the same stack,
                            // or undefined at the first one (AC)
  torch::Tensor token_ids;  // [N] i64: the tokens' ids, or undefined (hash)
  torch::Tensor allowed;    // [E] bool: the experts tokens may be sent to, or undefined (all);
                            // only routers whose RouterType says `restricts` read it (analysis)
};

// The router interface of an MoE layer.
class RouterBase : public torch::nn::Module {
 public:
  virtual Routing route(const RouterInput& in) = 0;
  // The [E, d] router weight (no bias; null for routers without one). With a shared weight
  // (Omni-router) it is not registered here: the model registers it once, so its gradient
  // accumulates from every layer.
  torch::nn::Linear wg{nullptr};

 protected:
  // Registers a fresh [E, d] "wg" and returns true (the caller initialises it), or adopts `shared`
  // without registering it and returns false.
  bool make_wg(int64_t d_model, int64_t num_experts, const torch::nn::Linear& shared);
};

// A [E, d] router weight without bias, N(0, 0.02) as flaxformer's router init (Omni: the model's
// one shared router).
torch::nn::Linear make_router_weight(int64_t d_model, int64_t num_experts);

// Routing agreement of two layers' first choices a, b [N] i64 (-1: not routed, skipped):
// the fraction of tokens with the same expert; NaN when no token is routed by both.
double top1_agreement(const torch::Tensor& a, const torch::Tensor& b);
// Joint counts [E, E] f64 of (a, b) over the tokens routed by both.
torch::Tensor joint_counts(const torch::Tensor& a, const torch::Tensor& b, int64_t num_experts);
// Normalised mutual information 2·I(A;B) / (H(A) + H(B)) of a joint count table (natural log;
// 1 when both are constant, 0 for an empty table).
double normalized_mutual_information(const torch::Tensor& joint);

// Capacity per expert: ceil(factor · k · N / E) (at least 1); factor <= 0 means dropless.
int64_t expert_capacity(int64_t tokens, int64_t num_experts, int64_t top_k, double factor);

// The largest top_k of routers that pick one or two experts (softmax top-k, AC): min(2, E).
int64_t top1_or_top2(int64_t num_experts);

class TopKRouterImpl : public RouterBase {
 public:
  explicit TopKRouterImpl(TopKRouterOptions options);
  void reset();
  // x [N, d] -> routing with at most `capacity` tokens per expert (<= 0: no limit). Choices are
  // served in priority order: all first choices (in token order) before any second choice.
  Routing forward(const torch::Tensor& x, int64_t capacity);
  // allowed [E] bool or undefined: choose only among those experts (analysis, see route_topk).
  Routing forward(const torch::Tensor& x, int64_t capacity, const torch::Tensor& allowed);
  Routing route(const RouterInput& in) override { return forward(in.x, in.capacity, in.allowed); }
  TopKRouterOptions options;
};
TORCH_MODULE(TopKRouter);

// Routing from given logits (the router's pure core, used by tests with hand-built logits).
// `noise` [N, E] is added to the logits when choosing the second expert (Gumbel sampling), or
// undefined for a plain second argmax. `allowed` [E] bool, or undefined for all experts: the
// choices are made among those experts only (at least top_k of them), while probabilities, gates
// and losses keep the unrestricted softmax (a chosen expert is weighted as the router weighs it).
Routing route_topk(const torch::Tensor& logits, int64_t top_k, int64_t capacity,
                   const torch::Tensor& noise = torch::Tensor(),
                   const torch::Tensor& allowed = torch::Tensor());
// The noise route_topk adds for the second choice: Gumbel(0, 1) [N, E] like `logits` when
// training a top-2 router with SecondExpertPolicy::kSampling, otherwise undefined (plain argmax).
torch::Tensor second_choice_noise(const torch::Tensor& logits, int64_t top_k, bool training,
                                  SecondExpertPolicy policy);

}  // namespace strata::moe
