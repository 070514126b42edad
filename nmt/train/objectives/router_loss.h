#pragma once
// The MoE routers' losses (model.moe): aux_loss_weight · mean over MoE layers of the
// load-balancing loss + z_loss_weight · mean of the router z-loss, counted once per update
// (divided by train.update_freq). Does nothing for a pass without MoE layers. The one place
// where the trainer reads MoeAux's losses and the router weights of the MoE config.
// Metrics: moe.aux_loss (mean over layers, summed over batches), moe.batches.
// Log: "moe": {aux_loss, layers: [{load, drop_rate, agreement}], agreement} from the last batch.
#include <vector>

#include "nmt/train/objectives/loss_term.h"

namespace strata::nmt {

class RouterLossTerm : public LossTerm {
 public:
  RouterLossTerm(double aux_weight, double z_weight, int update_freq)
      : aux_weight_(aux_weight), z_weight_(z_weight), update_freq_(update_freq) {}
  static std::unique_ptr<LossTerm> make(const ObjectiveSetup& s);
  Scale scale() const override { return Scale::kUpdate; }
  torch::Tensor apply(const LossContext& ctx, const torch::Tensor& loss, TrainMetrics& m) override;
  std::string log(const TrainMetrics& m, nlohmann::json& record) const override;

 private:
  double aux_weight_, z_weight_;
  int update_freq_;
  // The last MoE batch's statistics, per MoE layer (for the log).
  std::vector<torch::Tensor> load_;
  std::vector<double> drop_rate_;
  std::vector<double> agreement_;
};

}  // namespace strata::nmt
