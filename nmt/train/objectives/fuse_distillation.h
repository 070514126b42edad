#pragma once
// Fuse Distillation (Xu et al. 2023, LMS models; train.fuse_distillation): a second pass through
// the shared LMS slot; the loss becomes ½(CE_ls + CE_sh) + λ·symmetric KL (train.fd_weight),
// summed over tokens, no stop-gradient.
// Metrics: fd.ce_ls, fd.ce_sh, fd.kl. Log: "fd": {loss, ce_ls, ce_sh, kl} (per target token).
#include "nmt/train/objectives/loss_term.h"

namespace strata::nmt {

class FuseDistillationTerm : public LossTerm {
 public:
  FuseDistillationTerm(double label_smoothing, double weight)
      : label_smoothing_(label_smoothing), weight_(weight) {}
  static std::unique_ptr<LossTerm> make(const ObjectiveSetup& s);  // nullptr unless configured
  // `loss`: the language-specific side's label-smoothed CE (the term before this one).
  bool needs_lprobs() const override { return true; }
  torch::Tensor apply(const LossContext& ctx, const torch::Tensor& loss, TrainMetrics& m) override;
  std::string log(const TrainMetrics& m, nlohmann::json& record) const override;

 private:
  double label_smoothing_;
  double weight_;  // λ
};

}  // namespace strata::nmt
