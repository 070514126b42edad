#pragma once
// Adaptive Clustering (AC) router (Nielsen, Teo, Abdullaev, Nguyen, ICLR 2025, "Tight Clusters
// Make Specialized Experts"; Fsoft-AIC/Tight-Clusters-Make-Specialized-Experts, COSAGate_Balance).
// The tokens' first-choice experts k_t at the previous MoE layer form clusters. Per cluster k and
// feature j, the dispersion D[k, j] (mean absolute deviation, or variance) of the tokens in the
// cluster gives a feature weight w[k, j] ∝ 1/D (tight features count more), and token t is
// routed in the re-weighted space: logits = W_g (x_t ⊙ w[k_t]); top-1/top-2 and losses as
// TopKRouter. At the first MoE layer of a stack (no previous choice) it is a plain TopKRouter.
//
// DEPARTURE FROM THE REFERENCE: the reference computes D from the current batch also at
// inference, so a token's route depends on the other sentences of the batch, and step-wise
// decoding (one token per sentence per step) sees degenerate clusters. Here training uses the
// batch statistics (as the reference) and keeps an exponential moving average of them
// (`running_dispersion`, like BatchNorm's running variance); evaluation and decoding use only the
// running statistics, so routing is per token and decoding is batch-invariant and equal to full
// recomputation. Experts without tokens in a training batch keep their running dispersion (the
// reference gets D = 0 there, i.e. the clamped maximum weight).
//
//   AcRouter r(AcRouterOptions(d_model, experts).top_k(2));
//   Routing out = r->route(x, capacity, prev_top1);   // x [N, d], prev_top1 [N] i64
#include <torch/torch.h>

#include "moe/moe_config.h"
#include "moe/router.h"

namespace strata::moe {


struct AcRouterOptions {
  AcRouterOptions(int64_t d_model, int64_t num_experts)
      : d_model_(d_model), num_experts_(num_experts) {}
  TORCH_ARG(int64_t, d_model);
  TORCH_ARG(int64_t, num_experts);
  TORCH_ARG(int64_t, top_k) = 1;
  TORCH_ARG(SecondExpertPolicy, second_policy) = SecondExpertPolicy::kSampling;
  TORCH_ARG(Dispersion, dispersion) = Dispersion::kMad;
  TORCH_ARG(double, momentum) = 0.1;  // running = (1 − m)·running + m·batch, per seen cluster
  TORCH_ARG(torch::nn::Linear, shared) = nullptr;  // Omni-router: the model's shared weight
};

// Per-cluster dispersion of x [N, d] with clusters c [N] i64 in [0, E): [E, d] (zero rows for
// empty clusters); `counts` (optional) receives the tokens per cluster [E] i64.
torch::Tensor cluster_dispersion(const torch::Tensor& x, const torch::Tensor& cluster,
                                 int64_t num_experts, Dispersion kind,
                                 torch::Tensor* counts = nullptr);
// Feature weights [E, d] from dispersions [E, d] as the reference: w̃ = 1/(D + ε) (ε 1e-4 for
// MAD, 0.1 for variance), w̃ = min(w̃, 10·mean(w̃)), w[k, j] = w̃[k, j] / mean_k w̃[k, j].
torch::Tensor ac_feature_weights(const torch::Tensor& dispersion, Dispersion kind);

class AcRouterImpl : public RouterBase {
 public:
  explicit AcRouterImpl(AcRouterOptions options);
  void reset();
  // Uses in.prev_top1 (each token's cluster); the first MoE layer of a stack routes plainly.
  Routing route(const RouterInput& in) override;
  // The feature weights [E, d] routing uses now: from `running_dispersion` (evaluation).
  torch::Tensor running_weights() const;
  AcRouterOptions options;
  torch::Tensor running_dispersion;  // [E, d] buffer, EMA of the training batches' dispersions
};
TORCH_MODULE(AcRouter);

}  // namespace strata::moe
