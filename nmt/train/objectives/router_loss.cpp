// RouterLossTerm (see router_loss.h).
#include "nmt/train/objectives/router_loss.h"

#include <cmath>
#include <cstdio>

namespace strata::nmt {

std::unique_ptr<LossTerm> RouterLossTerm::make(const ObjectiveSetup& s) {
  const auto& mc = s.cfg.model.moe;
  return std::make_unique<RouterLossTerm>(mc.aux_loss_weight, mc.z_loss_weight,
                                          s.cfg.train.update_freq);
}

torch::Tensor RouterLossTerm::apply(const LossContext& ctx, const torch::Tensor& loss,
                                    TrainMetrics& m) {
  const MoeAux& aux = ctx.aux;
  m.add("moe.aux_loss", 0.0);  // every rank holds the names, MoE or not
  m.add("moe.batches", 0.0);
  if (aux.layers == 0) return loss;
  auto router_loss = (aux_weight_ * aux.aux_loss + z_weight_ * aux.z_loss) /
                     static_cast<double>(aux.layers * update_freq_);
  m.add("moe.aux_loss", aux.aux_loss.item<double>() / aux.layers);
  m.add("moe.batches", 1.0);
  load_ = aux.load;
  drop_rate_ = aux.drop_rate;
  agreement_ = aux.agreement;
  return loss + router_loss;
}

std::string RouterLossTerm::log(const TrainMetrics& m, nlohmann::json& record) const {
  const double batches = m.get("moe.batches");
  if (batches <= 0) return "";
  const double aux_loss = m.get("moe.aux_loss") / batches;
  nlohmann::json layers = nlohmann::json::array();
  for (size_t i = 0; i < load_.size(); ++i) {
    auto load = load_[i].to(torch::kDouble).cpu().contiguous();
    std::vector<double> v(load.data_ptr<double>(), load.data_ptr<double>() + load.numel());
    layers.push_back({{"load", v}, {"drop_rate", drop_rate_[i]}});
    // Cross-layer routing agreement (issue 7): fraction of tokens with the same first choice as
    // the previous MoE layer of the stack (null for the first).
    const double a = i < agreement_.size() ? agreement_[i] : NAN;
    layers.back()["agreement"] = std::isnan(a) ? nlohmann::json() : nlohmann::json(a);
  }
  double agree = 0;
  int agree_n = 0;
  for (double a : agreement_)
    if (!std::isnan(a)) agree += a, ++agree_n;
  record["moe"] = {{"aux_loss", aux_loss}, {"layers", layers}};
  if (agree_n > 0) record["moe"]["agreement"] = agree / agree_n;  // mean over layer pairs
  char line[160];
  std::snprintf(line, sizeof line, "[train]   moe: aux %.4f, drop rate %.3f (last batch, layer 0)",
                aux_loss, drop_rate_.empty() ? 0.0 : drop_rate_[0]);
  return line;
}

}  // namespace strata::nmt
