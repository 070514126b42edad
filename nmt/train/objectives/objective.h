#pragma once
// The training loss of a batch: one teacher-forced pass, then the named terms of the recipe
// (label-smoothed CE, router aux/z, Fuse Distillation, word-level KD; loss_term.h):
//   loss = fold(kTokens terms) / norm + Σ kUpdate terms
// Usage:
//   Objective objective({cfg, teacher.get()});
//   objective.loss(model, batch, norm, lms, metrics).backward();
//   for (auto& line : objective.log(metrics, record)) puts(line.c_str());  // at each log
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nmt/train/lms_languages.h"
#include "nmt/train/objectives/loss_term.h"

namespace strata::nmt {

class Objective {
 public:
  explicit Objective(const ObjectiveSetup& setup);  // assembles the recipe from the config
  // The batch's loss divided by `norm` (the update's target tokens; see the trainer), ready
  // for backward(); adds every term's metrics and "target_tokens", "input_tokens" to `m`.
  torch::Tensor loss(Transformer& model, const Batch& b, double norm, const LmsLanguages& lms,
                     TrainMetrics& m);
  // Every term's part of the train record; returns their progress lines, in recipe order.
  std::vector<std::string> log(const TrainMetrics& m, nlohmann::json& record) const;

 private:
  void add(std::unique_ptr<LossTerm> term);  // ignores nullptr (a term the config leaves off)
  std::vector<std::unique_ptr<LossTerm>> terms_;
  bool needs_lprobs_ = false;  // some term reads the full [B·T, V] distribution
};

}  // namespace strata::nmt
