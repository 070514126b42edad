// FuseDistillationTerm (see fuse_distillation.h).
#include "nmt/train/objectives/fuse_distillation.h"

#include <cstdio>

#include "data/spm.h"
#include "nmt/train/loss.h"

namespace strata::nmt {

std::unique_ptr<LossTerm> FuseDistillationTerm::make(const ObjectiveSetup& s) {
  const auto& tc = s.cfg.train;
  if (!tc.fuse_distillation) return nullptr;
  return std::make_unique<FuseDistillationTerm>(tc.label_smoothing, tc.fd_weight);
}

torch::Tensor FuseDistillationTerm::apply(const LossContext& ctx, const torch::Tensor& loss,
                                          TrainMetrics& m) {
  const Batch& b = ctx.batch;
  auto sh = ctx.model->forward(b.src, b.prev, nullptr, ctx.lms_keys(true));
  auto lps = torch::log_softmax(sh, -1).view({-1, sh.size(-1)});  // [B·T, V]
  auto ls = label_smoothed_nll(lps, ctx.target, label_smoothing_, data::kPadId);
  auto kl = symmetric_kl(ctx.lprobs, lps, ctx.target, data::kPadId);
  m.add("fd.ce_ls", loss.item<double>());
  m.add("fd.ce_sh", ls.loss.item<double>());
  m.add("fd.kl", kl.item<double>());
  return 0.5 * (loss + ls.loss) + weight_ * kl;
}

std::string FuseDistillationTerm::log(const TrainMetrics& m, nlohmann::json& record) const {
  const double tokens = m.get("target_tokens");
  const double ce_ls = m.get("fd.ce_ls"), ce_sh = m.get("fd.ce_sh"), kl = m.get("fd.kl");
  record["fd"] = {{"loss", (0.5 * (ce_ls + ce_sh) + weight_ * kl) / tokens},
                  {"ce_ls", ce_ls / tokens},
                  {"ce_sh", ce_sh / tokens},
                  {"kl", kl / tokens}};
  char line[160];
  std::snprintf(line, sizeof line, "[train]   fuse distillation: ce_ls %.3f | ce_sh %.3f | kl %.4f",
                ce_ls / tokens, ce_sh / tokens, kl / tokens);
  return line;
}

}  // namespace strata::nmt
