#include "nmt/train/loss.h"

#include <cmath>

namespace strata::nmt {

LossOut label_smoothed_nll(const torch::Tensor& lprobs, const torch::Tensor& target,
                           double epsilon, int64_t pad) {
  TORCH_CHECK(lprobs.dim() == 2 && target.dim() == 1 && lprobs.size(0) == target.size(0),
              "label_smoothed_nll: expected lprobs [N, V] and target [N], got ", lprobs.sizes(),
              " and ", target.sizes());
  const int64_t V = lprobs.size(1);
  auto keep = target.ne(pad).to(lprobs.dtype());                     // [N]
  auto nll = -lprobs.gather(1, target.unsqueeze(1)).squeeze(1);       // [N]
  auto smooth = -lprobs.sum(1);                                       // [N]
  const double eps_i = V > 1 ? epsilon / (V - 1) : 0.0;
  auto loss = (1.0 - epsilon - eps_i) * nll + eps_i * smooth;
  return {(loss * keep).sum(), (nll * keep).sum()};
}

torch::Tensor symmetric_kl(const torch::Tensor& lp, const torch::Tensor& lq,
                           const torch::Tensor& target, int64_t pad) {
  TORCH_CHECK(lp.dim() == 2 && lp.sizes() == lq.sizes() && target.dim() == 1 &&
                  target.size(0) == lp.size(0),
              "symmetric_kl: expected lp, lq [N, V] and target [N], got ", lp.sizes(), ", ",
              lq.sizes(), " and ", target.sizes());
  auto keep = target.ne(pad).to(lp.dtype());                           // [N]
  auto per_token = 0.5 * ((lp.exp() - lq.exp()) * (lp - lq)).sum(1);  // [N]
  return (per_token * keep).sum();
}

torch::Tensor distill_ce(const torch::Tensor& ls, const torch::Tensor& lt,
                         const torch::Tensor& target, int64_t pad) {
  TORCH_CHECK(ls.dim() == 2 && ls.sizes() == lt.sizes() && target.dim() == 1 &&
                  target.size(0) == ls.size(0),
              "distill_ce: expected ls, lt [N, V] and target [N], got ", ls.sizes(), ", ",
              lt.sizes(), " and ", target.sizes());
  auto keep = target.ne(pad).to(ls.dtype());                  // [N]
  auto per_token = -(lt.detach().exp() * ls).sum(1);         // [N]
  return (per_token * keep).sum();
}

double inverse_sqrt_lr(int64_t update, double peak, int64_t warmup, double init) {
  if (warmup > 0 && update < warmup) return init + update * (peak - init) / warmup;
  if (warmup <= 0) return peak / std::sqrt(static_cast<double>(std::max<int64_t>(update, 1)));
  return peak * std::sqrt(static_cast<double>(warmup) / update);
}

}  // namespace strata::nmt
