// CrossEntropyTerm (see cross_entropy.h).
#include "nmt/train/objectives/cross_entropy.h"

#include "data/spm.h"
#include "kernels/output_loss.h"
#include "nmt/train/loss.h"

namespace strata::nmt {

std::unique_ptr<LossTerm> CrossEntropyTerm::make(const ObjectiveSetup& s) {
  return std::make_unique<CrossEntropyTerm>(s.cfg.train.label_smoothing);
}

torch::Tensor CrossEntropyTerm::apply(const LossContext& ctx, const torch::Tensor& loss,
                                      TrainMetrics& m) {
  TORCH_INTERNAL_ASSERT(!loss.defined(), "the cross-entropy must be the recipe's first term");
  if (ctx.lprobs.defined()) {  // another term needed the distribution: reuse it
    auto l = label_smoothed_nll(ctx.lprobs, ctx.target, label_smoothing_, data::kPadId);
    m.add("ce.loss", l.loss.item<double>());
    m.add("ce.nll", l.nll.item<double>());
    return l.loss;
  }
  // The output layer and the loss fused, in chunks of rows (kernels/output_loss.h).
  auto l = kernels::output_layer_loss(ctx.states, ctx.model->embed->weight, ctx.target,
                                      label_smoothing_, data::kPadId);
  m.add("ce.loss", l.loss.item<double>());
  m.add("ce.nll", l.nll.item<double>());
  return l.loss;
}

std::string CrossEntropyTerm::log(const TrainMetrics& m, nlohmann::json& record) const {
  const double tokens = m.get("target_tokens");
  record["loss"] = m.get("ce.loss") / tokens;
  record["nll"] = m.get("ce.nll") / tokens;
  return "";  // the trainer's own progress line shows them
}

}  // namespace strata::nmt
