#include "moe/sigma_router.h"

#include "kernels/linear.h"

#include "moe/registry.h"

#include <cmath>
#include <limits>

namespace strata::moe {

Routing route_sigma(const torch::Tensor& logits_in, int64_t top_k, const torch::Tensor& dropped) {
  TORCH_CHECK(logits_in.dim() == 2, "route_sigma: logits must be [tokens, experts], got ",
              logits_in.sizes());
  auto logits = logits_in.scalar_type() == torch::kDouble ? logits_in : logits_in.to(torch::kFloat);
  const int64_t N = logits.size(0), E = logits.size(1);
  TORCH_CHECK(top_k >= 1 && top_k <= E, "route_sigma: top_k must be in [1, ", E, "], got ", top_k);
  Routing r;
  auto s = torch::sigmoid(logits);  // [N, E]
  auto sel = s.detach();
  if (dropped.defined()) sel = sel.masked_fill(dropped, -std::numeric_limits<double>::infinity());
  r.expert = std::get<1>(sel.topk(top_k, 1, /*largest=*/true, /*sorted=*/true));  // [N, K]
  r.keep = dropped.defined() ? dropped.gather(1, r.expert).logical_not()
                             : torch::ones({N, top_k}, s.options().dtype(torch::kBool));
  r.gate = s.gather(1, r.expert) * r.keep.to(s.dtype());  // raw σ, no renormalisation
  r.probs = torch::softmax(logits, -1);
  if (N == 0) {
    r.aux_loss = torch::zeros({}, logits.options());
    r.z_loss = torch::zeros({}, logits.options());
    return r;
  }
  // Entropy regulariser: log p̄ = logsumexp_t log_softmax(logits)_t − log N; aux = Σ p̄ log p̄.
  auto log_mean = torch::logsumexp(torch::log_softmax(logits, -1), 0) - std::log(double(N));  // [E]
  r.aux_loss = (log_mean.exp() * log_mean).sum();
  r.z_loss = torch::logsumexp(logits, 1).pow(2).mean();
  return r;
}

void sigma_router_init(torch::Tensor& weight, double init_scale) {
  torch::NoGradGuard ng;
  weight.normal_(0, init_scale / std::sqrt(static_cast<double>(weight.size(1))));
  auto std0 = weight.std();
  weight.div_(weight.norm(2, 1, true));
  weight.mul_(std0 / weight.std());
}

void sigma_experts_init(torch::Tensor& w1, torch::Tensor& b1, torch::Tensor& w2,
                        torch::Tensor& b2, double init_scale) {
  torch::NoGradGuard ng;
  const double d = static_cast<double>(w1.size(1)), eg = static_cast<double>(w2.size(0) * w2.size(1));
  // Placeholders (weights restored next from an expert file or int8) are left alone.
  if (!kernels::is_released(w1)) w1.normal_(0, init_scale / std::sqrt(d));
  if (!kernels::is_released(w2)) w2.normal_(0, init_scale / std::sqrt(eg));
  if (!kernels::is_released(b1)) b1.zero_();
  b2.zero_();
}

SigmaRouterImpl::SigmaRouterImpl(SigmaRouterOptions o) : options(std::move(o)) { reset(); }

void SigmaRouterImpl::reset() {
  TORCH_CHECK(options.top_k() >= 1 && options.top_k() <= options.num_experts(),
              "sigma router: top_k must be in [1, num_experts=", options.num_experts(), "], got ",
              options.top_k());
  TORCH_CHECK(options.expert_dropout() >= 0 && options.expert_dropout() < 1,
              "sigma router: expert_dropout must be in [0, 1), got ", options.expert_dropout());
  if (make_wg(options.d_model(), options.num_experts(), options.shared()))
    sigma_router_init(wg->weight, options.init_scale());
}

Routing SigmaRouterImpl::forward(const torch::Tensor& x) {
  const auto dtype = x.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  auto logits = torch::nn::functional::linear(x.to(dtype), wg->weight.to(dtype));  // [N, E]
  torch::Tensor dropped;
  if (is_training() && options.expert_dropout() > 0)
    dropped = torch::rand_like(logits).lt(options.expert_dropout());
  return route_sigma(logits, options.top_k(), dropped);
}

// Registry entry: σ-MoE. Dropless, top_k in [1, E], its own init of the router (also a shared
// one) and of the experts.
namespace {
std::shared_ptr<RouterBase> make_sigma_router(const MoeLayerOptions& o) {
  return std::make_shared<SigmaRouterImpl>(SigmaRouterOptions(o.d_model(), o.num_experts())
                                               .top_k(o.top_k())
                                               .expert_dropout(o.expert_dropout())
                                               .init_scale(o.init_scale())
                                               .shared(o.shared_router()));
}

void validate_sigma(const MoeConfig& c, bool selected, const ConfigFail& fail) {
  if (c.expert_dropout < 0 || c.expert_dropout >= 1)
    fail("expert_dropout", "must be in [0, 1), got " + std::to_string(c.expert_dropout));
  if (c.expert_dropout > 0 && !selected)
    fail("expert_dropout", "only applies to model.moe.router: sigma");
}

int64_t all_experts(int64_t num_experts) { return num_experts; }

void init_sigma_experts(Experts& experts, const MoeLayerOptions& o, int64_t held) {
  // σ-MoE init; W2's scale uses the full E·G even when this rank holds fewer experts.
  sigma_experts_init(experts->w1, experts->b1, experts->w2, experts->b2, o.init_scale());
  torch::NoGradGuard ng;
  if (!kernels::is_released(experts->w2))
    experts->w2.mul_(std::sqrt(static_cast<double>(held) / static_cast<double>(o.num_experts())));
}

void init_sigma_shared(torch::nn::Linear& weight, const MoeLayerOptions& o) {
  sigma_router_init(weight->weight, o.init_scale());
}
}  // namespace

RouterType sigma_router_type() {
  RouterType t;
  t.name = "sigma";
  t.make = make_sigma_router;
  t.validate = validate_sigma;
  t.max_top_k = all_experts;
  t.dropless = true;
  t.init_experts = init_sigma_experts;
  t.init_shared = init_sigma_shared;
  return t;
}

}  // namespace strata::moe
