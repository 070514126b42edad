#include "moe/sparse_ffn.h"

#include <limits>

#include "moe/router.h"

namespace strata::moe {

void MoeAux::add(const torch::Tensor& layer_aux, const torch::Tensor& layer_z,
                 torch::Tensor layer_load, double layer_drop_rate, const torch::Tensor& layer_top1) {
  aux_loss = aux_loss.defined() ? aux_loss + layer_aux : layer_aux;
  if (layer_z.defined()) z_loss = z_loss.defined() ? z_loss + layer_z : layer_z;
  else if (!z_loss.defined()) z_loss = torch::zeros({}, layer_aux.options());
  ++layers;
  load.push_back(std::move(layer_load));
  drop_rate.push_back(layer_drop_rate);
  agreement.push_back(prev_top1.defined() && prev_top1.numel() == layer_top1.numel()
                          ? top1_agreement(prev_top1, layer_top1)
                          : std::numeric_limits<double>::quiet_NaN());
  top1.push_back(layer_top1);
  prev_top1 = layer_top1;
}

void MoeAux::start_stack(const torch::Tensor& tokens) {
  prev_top1 = torch::Tensor();
  token_ids = tokens;
}

}  // namespace strata::moe
