#pragma once
// Label-smoothed cross-entropy as in fairseq (Szegedy et al. 2016): the smoothing mass ε is
// spread over the V-1 wrong classes. Pure functions.
#include <torch/torch.h>

namespace strata::nmt {

struct LossOut {
  torch::Tensor loss;  // scalar: sum over non-pad tokens of the smoothed loss
  torch::Tensor nll;   // scalar: sum over non-pad tokens of -log p(target)
};

// lprobs [N, V] log-probabilities, target [N] i64; positions where target == pad count zero.
//   loss_i = (1 - ε - ε/(V-1)) · nll_i + ε/(V-1) · Σ_v -lprobs_iv
LossOut label_smoothed_nll(const torch::Tensor& lprobs, const torch::Tensor& target,
                           double epsilon, int64_t pad);

// Inverse square-root schedule with linear warm-up (fairseq inverse_sqrt):
//   u < warmup: init + u·(peak − init)/warmup;  else peak·sqrt(warmup/u).
double inverse_sqrt_lr(int64_t update, double peak, int64_t warmup, double init);

}  // namespace strata::nmt
