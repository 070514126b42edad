#pragma once
// The translation loss: label-smoothed cross-entropy of the main pass (train.label_smoothing;
// Szegedy et al. 2016, as in fairseq), summed over target tokens. Always on, first in the
// recipe; the terms after it may re-weight it (Fuse Distillation, word-level KD).
// Metrics: ce.loss, ce.nll (sums over tokens). Log: "loss", "nll" (per target token).
#include "nmt/train/objectives/loss_term.h"

namespace strata::nmt {

class CrossEntropyTerm : public LossTerm {
 public:
  explicit CrossEntropyTerm(double label_smoothing) : label_smoothing_(label_smoothing) {}
  static std::unique_ptr<LossTerm> make(const ObjectiveSetup& s);
  torch::Tensor apply(const LossContext& ctx, const torch::Tensor& loss, TrainMetrics& m) override;
  std::string log(const TrainMetrics& m, nlohmann::json& record) const override;

 private:
  double label_smoothing_;
};

}  // namespace strata::nmt
