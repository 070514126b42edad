#pragma once
// SiDA's router bypass (issue 22): routing decided outside the MoE layers for the forward passes
// of the current thread. For a layer with given logits, its tokens are routed by route_topk over
// those logits (the layer's top-k, gates from their softmax as its router would make them, no
// capacity limit) instead of by its router; for a layer with an allowed set, its router chooses
// only among those experts. Layers are named by identity (the MoeLayerImpl). Softmax top-k
// routers only (RouterType::restricts). Without an override nothing changes.
//
//   moe::RoutingOverride o;
//   o.logits[encoder_layer] = predictor_logits.reshape({-1, E});  // [B·S, E], every position
//   o.allowed[decoder_layer] = allowed;                             // [E] bool
//   moe::RoutingOverrideGuard guard(&o);   // this thread, for the guard's lifetime
#include <torch/torch.h>

#include <map>

namespace strata::moe {

struct RoutingOverride {
  std::map<const void*, torch::Tensor> logits;   // layer -> [B·T, E] f32 logits of all its positions
  std::map<const void*, torch::Tensor> allowed;  // layer -> [E] bool
  // When set: every MoE layer that runs records its router's probabilities here, [B·T, E] (rows of
  // padding positions zero; the layer's last run), for learning from them (the expert predictor's
  // SiDA loss). Routers that give none (hash) record nothing.
  std::map<const void*, torch::Tensor>* probs = nullptr;
};

// The override set on this thread, or null.
const RoutingOverride* routing_override();

// Sets `o` on this thread for the guard's lifetime (the previous one is restored after).
class RoutingOverrideGuard {
 public:
  explicit RoutingOverrideGuard(const RoutingOverride* o);
  ~RoutingOverrideGuard();
  RoutingOverrideGuard(const RoutingOverrideGuard&) = delete;
  RoutingOverrideGuard& operator=(const RoutingOverrideGuard&) = delete;

 private:
  const RoutingOverride* previous_;
};

}  // namespace strata::moe
