#include "moe/ac_router.h"

#include "moe/registry.h"

namespace strata::moe {

torch::Tensor cluster_dispersion(const torch::Tensor& x, const torch::Tensor& cluster,
                                 int64_t num_experts, Dispersion kind, torch::Tensor* counts) {
  TORCH_CHECK(x.dim() == 2 && cluster.dim() == 1 && cluster.size(0) == x.size(0),
              "cluster_dispersion: x [N, d] and cluster [N] expected, got ", x.sizes(), " and ",
              cluster.sizes());
  const int64_t d = x.size(1);
  auto n = torch::bincount(cluster, {}, num_experts);  // [E] i64
  auto denom = n.clamp_min(1).to(x.dtype()).unsqueeze(1);  // [E, 1]
  auto idx = cluster.unsqueeze(1).expand({x.size(0), d});
  auto mean = torch::zeros({num_experts, d}, x.options()).scatter_add(0, idx, x) / denom;  // [E, d]
  auto dev = x - mean.index_select(0, cluster);  // [N, d]
  dev = kind == Dispersion::kMad ? dev.abs() : dev.pow(2);
  if (counts) *counts = n;
  return torch::zeros({num_experts, d}, x.options()).scatter_add(0, idx, dev) / denom;
}

torch::Tensor ac_feature_weights(const torch::Tensor& dispersion, Dispersion kind) {
  const double eps = kind == Dispersion::kMad ? 1e-4 : 0.1;
  auto w = 1.0 / (dispersion + eps);                   // [E, d]
  w = torch::minimum(w, 10.0 * w.mean());              // clamp (e.g. empty clusters: D = 0)
  return w / w.mean(0, /*keepdim=*/true);              // per-feature normalisation over experts
}

AcRouterImpl::AcRouterImpl(AcRouterOptions o) : options(std::move(o)) { reset(); }

void AcRouterImpl::reset() {
  TORCH_CHECK(options.top_k() == 1 || options.top_k() == 2, "ac router: top_k must be 1 or 2");
  TORCH_CHECK(options.momentum() > 0 && options.momentum() <= 1,
              "ac router: momentum must be in (0, 1], got ", options.momentum());
  if (make_wg(options.d_model(), options.num_experts(), options.shared())) {
    torch::NoGradGuard ng;
    wg->weight.normal_(0, 0.02);
  }
  running_dispersion = register_buffer(
      "running_dispersion", torch::ones({options.num_experts(), options.d_model()}));
}

torch::Tensor AcRouterImpl::running_weights() const {
  return ac_feature_weights(running_dispersion, options.dispersion());
}

Routing AcRouterImpl::route(const RouterInput& in) {
  const torch::Tensor &x = in.x, &prev_top1 = in.prev_top1;
  const int64_t capacity = in.capacity;
  const auto dtype = x.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  auto xr = x.to(dtype);  // [N, d]
  if (prev_top1.defined() && xr.size(0) > 0) {
    TORCH_CHECK(prev_top1.numel() == xr.size(0), "ac router: ", prev_top1.numel(),
                " previous choices for ", xr.size(0), " tokens");
    auto k = prev_top1.reshape({-1});
    TORCH_CHECK(k.min().item<int64_t>() >= 0 && k.max().item<int64_t>() < options.num_experts(),
                "ac router: previous choices must be experts in [0, ", options.num_experts(), ")");
    torch::Tensor w;  // [E, d], no gradient (as the reference: statistics under no_grad)
    {
      torch::NoGradGuard ng;
      if (is_training()) {
        torch::Tensor n;
        auto disp = cluster_dispersion(xr.detach(), k, options.num_experts(), options.dispersion(), &n);
        auto seen = n.gt(0).unsqueeze(1);  // [E, 1]
        auto run = running_dispersion.to(dtype);
        disp = torch::where(seen, disp, run);  // experts without tokens: running statistics
        const double m = options.momentum();
        running_dispersion.copy_(torch::where(seen, (1 - m) * run + m * disp, run));
        w = ac_feature_weights(disp, options.dispersion());
      } else {
        w = ac_feature_weights(running_dispersion.to(dtype), options.dispersion());
      }
    }
    xr = xr * w.index_select(0, k);  // x_t ⊙ w[k_t]
  }
  auto logits = torch::nn::functional::linear(xr, wg->weight.to(dtype));  // [N, E]
  return route_topk(logits, options.top_k(), capacity,
                    second_choice_noise(logits, options.top_k(), is_training(),
                                        options.second_policy()));
}

// Registry entry: Adaptive Clustering.
namespace {
std::shared_ptr<RouterBase> make_ac_router(const MoeLayerOptions& o) {
  return std::make_shared<AcRouterImpl>(AcRouterOptions(o.d_model(), o.num_experts())
                                            .top_k(o.top_k())
                                            .second_policy(o.second_policy())
                                            .dispersion(o.ac_dispersion())
                                            .momentum(o.ac_momentum())
                                            .shared(o.shared_router()));
}

void validate_ac(const MoeConfig& c, bool, const ConfigFail& fail) {
  if (c.ac_momentum <= 0 || c.ac_momentum > 1)
    fail("ac_momentum", "must be in (0, 1], got " + std::to_string(c.ac_momentum));
}
}  // namespace

RouterType ac_router_type() {
  RouterType t;
  t.name = "ac";
  t.make = make_ac_router;
  t.validate = validate_ac;
  t.max_top_k = top1_or_top2;
  t.uses_prev_top1 = true;
  return t;
}

}  // namespace strata::moe
