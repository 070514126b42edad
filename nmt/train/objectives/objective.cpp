// Objective: the loss recipe (see objective.h).
#include "nmt/train/objectives/objective.h"

#include "data/spm.h"
#include "nmt/train/objectives/cross_entropy.h"
#include "nmt/train/objectives/fuse_distillation.h"
#include "nmt/train/objectives/router_loss.h"
#include "nmt/train/objectives/word_kd.h"

namespace strata::nmt {

Objective::Objective(const ObjectiveSetup& setup) {
  // The recipe, in log order. A new objective is one more line here.
  // Fuse Distillation's loss holds both passes' cross-entropies: it takes the CE term's place.
  if (auto fd = FuseDistillationTerm::make(setup))
    add(std::move(fd));
  else
    add(CrossEntropyTerm::make(setup));
  add(RouterLossTerm::make(setup));
  add(WordKdTerm::make(setup));
}

void Objective::add(std::unique_ptr<LossTerm> term) {
  if (!term) return;
  needs_lprobs_ = needs_lprobs_ || term->needs_lprobs();
  terms_.push_back(std::move(term));
}

torch::Tensor Objective::loss(Transformer& model, const Batch& b, double norm,
                              const LmsLanguages& lms, TrainMetrics& m) {
  MoeAux aux;
  auto enc = model->encode(b.src, &aux, lms.keys(model, b.examples, false, false));
  auto states = model->decode_states(b.prev, enc, &aux);
  states = states.view({-1, states.size(-1)});  // [B·T, d]
  torch::Tensor lprobs;  // [B·T, V], only for the terms that read the whole distribution
  if (needs_lprobs_) lprobs = torch::log_softmax(model->project(states), -1);
  LossContext ctx{model,
                  b,
                  lprobs,
                  states,
                  b.target.view(-1).to(states.device()),
                  aux,
                  [&](bool shared) { return lms.keys(model, b.examples, false, shared); }};
  // NOTE: the terms run in this order (kTokens, the division, kUpdate) so that the autograd
  // graph, and hence every gradient bit, is what one hand-written expression gives.
  torch::Tensor loss;
  for (auto& t : terms_)
    if (t->scale() == LossTerm::Scale::kTokens) loss = t->apply(ctx, loss, m);
  loss = loss / norm;
  for (auto& t : terms_)
    if (t->scale() == LossTerm::Scale::kUpdate) loss = t->apply(ctx, loss, m);
  m.add("target_tokens", static_cast<double>(b.target_tokens));
  m.add("input_tokens", static_cast<double>(b.src.numel() + b.prev.numel()));
  return loss;
}

std::vector<std::string> Objective::log(const TrainMetrics& m, nlohmann::json& record) const {
  std::vector<std::string> lines;
  for (const auto& t : terms_) {
    std::string line = t->log(m, record);
    if (!line.empty()) lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace strata::nmt
