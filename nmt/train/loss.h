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

// Fuse Distillation's symmetric KL (Xu et al. 2023, LMS_FD `symmetric_KL_loss`), summed over the
// non-pad positions like the CE: Σ_i ½ Σ_v (p_iv − q_iv)(log p_iv − log q_iv) = ½(KL(p‖q) + KL(q‖p)).
// lp, lq [N, V] log-probabilities of the two sides; no stop-gradient on either.
torch::Tensor symmetric_kl(const torch::Tensor& lp, const torch::Tensor& lq,
                           const torch::Tensor& target, int64_t pad);

// Word-level knowledge distillation (Hinton et al. 2015; Kim & Rush 2016): the cross-entropy of
// the student against the teacher's distribution, Σ_{i: target_i != pad} Σ_v −exp(lt_iv)·ls_iv.
// ls (student), lt (teacher) [N, V] log-probabilities; the teacher side gets no gradient.
torch::Tensor distill_ce(const torch::Tensor& ls, const torch::Tensor& lt,
                         const torch::Tensor& target, int64_t pad);

// Inverse square-root schedule with linear warm-up (fairseq inverse_sqrt):
//   u < warmup: init + u·(peak − init)/warmup;  else peak·sqrt(warmup/u).
double inverse_sqrt_lr(int64_t update, double peak, int64_t warmup, double init);

}  // namespace strata::nmt
