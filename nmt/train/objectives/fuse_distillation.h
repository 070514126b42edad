#pragma once
// Fuse Distillation (Xu et al. 2023, LMS models; train.fuse_distillation): a second pass through
// the shared LMS slot; the loss becomes ½(CE_ls + CE_sh) + λ·symmetric KL (train.fd_weight),
// summed over tokens, no stop-gradient. The term takes the cross-entropy term's place (its loss
// holds both sides' CE): the output layer and the whole loss of both passes run fused in chunks
// (kernels::output_layer_fd_loss), unless another term made the full distribution anyway.
// Metrics: ce.loss, ce.nll (the language-specific side, as the CE term's), fd.ce_ls, fd.ce_sh,
// fd.kl. Log: loss, nll and "fd": {loss, ce_ls, ce_sh, kl} (per target token).
#include "nmt/train/objectives/loss_term.h"

namespace strata::nmt {

class FuseDistillationTerm : public LossTerm {
 public:
  FuseDistillationTerm(double label_smoothing, double weight)
      : label_smoothing_(label_smoothing), weight_(weight) {}
  static std::unique_ptr<LossTerm> make(const ObjectiveSetup& s);  // nullptr unless configured
  torch::Tensor apply(const LossContext& ctx, const torch::Tensor& loss, TrainMetrics& m) override;
  std::string log(const TrainMetrics& m, nlohmann::json& record) const override;

 private:
  double label_smoothing_;
  double weight_;  // λ
};

}  // namespace strata::nmt
