#pragma once
// One named term of the training loss (docs/ARCHITECTURE.md "Training"). The Objective
// (objective.h) runs the model once per batch and folds its terms into the loss; each term adds
// its own metrics and writes its own part of the train log record.
//
// Adding an objective: a file pair here with a LossTerm and a `make` returning nullptr when the
// config leaves it off, plus one line in Objective::Objective.
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "nmt/config.h"
#include "nmt/model/transformer.h"
#include "nmt/train/batcher.h"
#include "nmt/train/kd_teacher.h"
#include "nmt/train/train_metrics.h"

namespace strata::nmt {

// What the terms see of one batch: the model's main (teacher-forced) pass and its inputs.
struct LossContext {
  Transformer& model;                             // the model being trained
  const Batch& batch;                             // its tensors and examples
  // [B·T, V] f32 log-probabilities of the pass; undefined unless a term needs_lprobs() (the
  // cross-entropy alone computes its loss from `states` in chunks, kernels/output_loss.h).
  torch::Tensor lprobs;
  torch::Tensor states;                           // [B·T, d] f32 decoder output (before projection)
  torch::Tensor target;                           // [B·T] i64 (pad 0)
  const MoeAux& aux;                              // router losses and statistics of the pass
  std::function<LmsKeys(bool shared)> lms_keys;   // the batch's LMS keys (shared: fused slot)
};

// What the terms may be built from.
struct ObjectiveSetup {
  const Config& cfg;             // the run's configuration
  KdTeacher* teacher = nullptr;  // word-level KD's teacher (train.kd_teacher), nullptr: none
};

class LossTerm {
 public:
  // kTokens: the term folds into the loss summed over target tokens, which the objective then
  // divides by the update's tokens; kUpdate: the term adds a value already normalised per update.
  enum class Scale { kTokens, kUpdate };
  virtual ~LossTerm() = default;
  virtual Scale scale() const { return Scale::kTokens; }
  // True when the term reads the pass's full distribution (LossContext::lprobs).
  virtual bool needs_lprobs() const { return false; }
  // The loss with this term, given the loss so far (undefined for the first kTokens term);
  // adds the term's metrics (for every batch, so that every rank holds the same names).
  virtual torch::Tensor apply(const LossContext& ctx, const torch::Tensor& loss,
                              TrainMetrics& m) = 0;
  // The term's part of the train record from the sums since the last log; returns its
  // progress line ("" for none).
  virtual std::string log(const TrainMetrics& m, nlohmann::json& record) const = 0;
};

}  // namespace strata::nmt
