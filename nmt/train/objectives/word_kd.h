#pragma once
// Word-level knowledge distillation (Hinton et al. 2015; Kim & Rush 2016; train.kd_teacher):
// the loss becomes (1 − α)·CE + α·Σ_tokens CE(p_teacher, p_student), α = train.kd_weight.
// Metrics: kd.ce_teacher. Log: "kd": {ce_teacher (per target token), weight}.
#include "nmt/train/objectives/loss_term.h"

namespace strata::nmt {

class WordKdTerm : public LossTerm {
 public:
  WordKdTerm(KdTeacher& teacher, double weight) : teacher_(teacher), weight_(weight) {}
  static std::unique_ptr<LossTerm> make(const ObjectiveSetup& s);  // nullptr without a teacher
  // `loss`: the label-smoothed CE (the term before this one).
  bool needs_lprobs() const override { return true; }
  torch::Tensor apply(const LossContext& ctx, const torch::Tensor& loss, TrainMetrics& m) override;
  std::string log(const TrainMetrics& m, nlohmann::json& record) const override;

 private:
  KdTeacher& teacher_;
  double weight_;  // α
};

}  // namespace strata::nmt
