// WordKdTerm (see word_kd.h).
#include "nmt/train/objectives/word_kd.h"

#include <cstdio>

#include "data/spm.h"
#include "nmt/train/loss.h"

namespace strata::nmt {

std::unique_ptr<LossTerm> WordKdTerm::make(const ObjectiveSetup& s) {
  if (!s.teacher) return nullptr;
  return std::make_unique<WordKdTerm>(*s.teacher, s.cfg.train.kd_weight);
}

torch::Tensor WordKdTerm::apply(const LossContext& ctx, const torch::Tensor& loss,
                                TrainMetrics& m) {
  auto kd = distill_ce(ctx.lprobs, teacher_.lprobs(ctx.batch), ctx.target, data::kPadId);
  m.add("kd.ce_teacher", kd.item<double>());
  return (1.0 - weight_) * loss + weight_ * kd;
}

std::string WordKdTerm::log(const TrainMetrics& m, nlohmann::json& record) const {
  const double ce = m.get("kd.ce_teacher") / m.get("target_tokens");
  record["kd"] = {{"ce_teacher", ce}, {"weight", weight_}};
  char line[160];
  std::snprintf(line, sizeof line, "[train]   word-level KD: ce vs teacher %.3f (weight %.2f)", ce,
                weight_);
  return line;
}

}  // namespace strata::nmt
