// FuseDistillationTerm (see fuse_distillation.h).
#include "nmt/train/objectives/fuse_distillation.h"

#include <cstdio>

#include "data/spm.h"
#include "kernels/output_loss.h"
#include "nmt/train/loss.h"

namespace strata::nmt {

std::unique_ptr<LossTerm> FuseDistillationTerm::make(const ObjectiveSetup& s) {
  const auto& tc = s.cfg.train;
  if (!tc.fuse_distillation) return nullptr;
  return std::make_unique<FuseDistillationTerm>(tc.label_smoothing, tc.fd_weight);
}

torch::Tensor FuseDistillationTerm::apply(const LossContext& ctx, const torch::Tensor& loss,
                                          TrainMetrics& m) {
  TORCH_INTERNAL_ASSERT(!loss.defined(), "Fuse Distillation must be the recipe's first term");
  const Batch& b = ctx.batch;
  // The shared pass up to the output layer.
  auto sh = ctx.model->decode_states(b.prev, ctx.model->encode(b.src, nullptr, ctx.lms_keys(true)));
  sh = sh.view({-1, sh.size(-1)});  // [B·T, d]
  torch::Tensor total, ce_ls, ce_sh, kl, nll;
  if (ctx.lprobs.defined()) {  // another term needed the distribution: the plain composition
    auto lps = torch::log_softmax(ctx.model->project(sh), -1);  // [B·T, V]
    auto l = label_smoothed_nll(ctx.lprobs, ctx.target, label_smoothing_, data::kPadId);
    auto ls = label_smoothed_nll(lps, ctx.target, label_smoothing_, data::kPadId);
    kl = symmetric_kl(ctx.lprobs, lps, ctx.target, data::kPadId);
    total = 0.5 * (l.loss + ls.loss) + weight_ * kl;
    ce_ls = l.loss, ce_sh = ls.loss, nll = l.nll;
  } else {  // both passes through the output layer and the loss in chunks (kernels/output_loss.h)
    auto f = kernels::output_layer_fd_loss(ctx.states, sh, ctx.model->embed->weight, ctx.target,
                                           label_smoothing_, weight_, data::kPadId);
    total = f.loss, ce_ls = f.ce_a, ce_sh = f.ce_b, kl = f.kl, nll = f.nll_a;
  }
  m.add("ce.loss", ce_ls.item<double>());
  m.add("ce.nll", nll.item<double>());
  m.add("fd.ce_ls", ce_ls.item<double>());
  m.add("fd.ce_sh", ce_sh.item<double>());
  m.add("fd.kl", kl.item<double>());
  return total;
}

std::string FuseDistillationTerm::log(const TrainMetrics& m, nlohmann::json& record) const {
  const double tokens = m.get("target_tokens");
  const double ce_ls = m.get("fd.ce_ls"), ce_sh = m.get("fd.ce_sh"), kl = m.get("fd.kl");
  record["loss"] = m.get("ce.loss") / tokens;  // the language-specific side, as without FD
  record["nll"] = m.get("ce.nll") / tokens;
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
