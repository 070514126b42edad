#include "moe/router.h"

#include "moe/registry.h"

#include "kernels/narrow_linear.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace strata::moe {

int64_t expert_capacity(int64_t tokens, int64_t num_experts, int64_t top_k, double factor) {
  if (factor <= 0) return 0;
  double c = std::ceil(factor * top_k * tokens / static_cast<double>(num_experts));
  return std::max<int64_t>(1, static_cast<int64_t>(c));
}

Routing route_topk(const torch::Tensor& logits_in, int64_t top_k, int64_t capacity,
                   const torch::Tensor& noise, const torch::Tensor& allowed) {
  TORCH_CHECK(logits_in.dim() == 2, "route_topk: logits must be [tokens, experts], got ",
              logits_in.sizes());
  TORCH_CHECK(top_k == 1 || top_k == 2, "route_topk: top_k must be 1 or 2, got ", top_k);
  // Routers compute in at least fp32 (selective precision: never in fp16/bf16).
  auto logits = logits_in.scalar_type() == torch::kDouble ? logits_in : logits_in.to(torch::kFloat);
  const int64_t N = logits.size(0), E = logits.size(1);
  TORCH_CHECK(top_k <= E, "route_topk: top_k ", top_k, " > experts ", E);
  Routing r;
  r.probs = torch::softmax(logits, -1);  // [N, E]
  auto choose = logits.detach();         // what the choices are made on
  if (allowed.defined()) {
    TORCH_CHECK(allowed.dim() == 1 && allowed.size(0) == E && allowed.scalar_type() == torch::kBool,
                "route_topk: allowed must be [", E, "] bool, got ", allowed.sizes(), " ", allowed.scalar_type());
    const int64_t n = allowed.sum().item<int64_t>();
    TORCH_CHECK(n >= top_k, "route_topk: ", n, " allowed experts for top_k ", top_k);
    choose = choose.masked_fill(allowed.logical_not().unsqueeze(0), -std::numeric_limits<float>::infinity());
  }
  auto e1 = choose.argmax(1);  // [N]
  std::vector<torch::Tensor> experts = {e1};
  if (top_k == 2) {
    auto l2 = noise.defined() ? choose + noise : choose;
    l2 = l2.scatter(1, e1.unsqueeze(1), -std::numeric_limits<float>::infinity());
    experts.push_back(l2.argmax(1));
  }
  r.expert = torch::stack(experts, 1);  // [N, k]
  auto g = r.probs.gather(1, r.expert);  // [N, k]

  // Slots in priority order: choice 0 of every token, then choice 1, each in token order.
  auto one_hot = torch::zeros({top_k, N, E}, r.expert.options());  // i64
  for (int64_t k = 0; k < top_k; ++k) one_hot[k].scatter_(1, r.expert.select(1, k).unsqueeze(1), 1);
  auto flat = one_hot.view({top_k * N, E});
  auto slot = (flat.cumsum(0) - flat).mul(flat).sum(1).view({top_k, N}).t();  // [N, k]
  r.keep = capacity > 0 ? slot.lt(capacity)
                        : torch::ones({N, top_k}, slot.options().dtype(torch::kBool));

  auto kept = g * r.keep.to(g.dtype());
  if (top_k == 1) {
    r.gate = kept;  // Switch: the raw probability, no renormalisation
  } else {
    // GShard: renormalise over the kept choices (a token whose 2nd choice was dropped gets 1).
    auto denom = kept.sum(1, true).clamp_min(std::numeric_limits<float>::epsilon());
    r.gate = kept / denom;
  }
  // Load balancing: f_e = fraction of tokens whose first choice is e (before dropping),
  // P_e = mean router probability of e.
  auto f = one_hot[0].to(logits.scalar_type()).mean(0);  // [E]
  auto P = r.probs.mean(0);                       // [E]
  r.aux_loss = (f * P).sum() * static_cast<double>(E);
  r.z_loss = torch::logsumexp(logits, 1).pow(2).mean();
  return r;
}

torch::Tensor second_choice_noise(const torch::Tensor& logits, int64_t top_k, bool training,
                                  SecondExpertPolicy policy) {
  if (top_k != 2 || !training || policy != SecondExpertPolicy::kSampling) return {};
  auto u = torch::rand_like(logits).clamp(1e-9, 1 - 1e-9);
  return -torch::log(-torch::log(u));  // Gumbel(0, 1): -log(-log U)
}

bool RouterBase::make_wg(int64_t d_model, int64_t num_experts, const torch::nn::Linear& shared) {
  if (shared) {
    TORCH_CHECK(shared->weight.size(0) == num_experts && shared->weight.size(1) == d_model,
                "router: the shared router weight is ", shared->weight.sizes(), ", this layer needs [",
                num_experts, ", ", d_model, "] (an Omni-router needs equal E in all MoE layers)");
    wg = shared;
    return false;
  }
  wg = register_module("wg", torch::nn::Linear(
                                 torch::nn::LinearOptions(d_model, num_experts).bias(false)));
  return true;
}

torch::nn::Linear make_router_weight(int64_t d_model, int64_t num_experts) {
  torch::nn::Linear l(torch::nn::LinearOptions(d_model, num_experts).bias(false));
  torch::NoGradGuard ng;
  l->weight.normal_(0, 0.02);  // flaxformer's router init
  return l;
}

double top1_agreement(const torch::Tensor& a, const torch::Tensor& b) {
  TORCH_CHECK(a.numel() == b.numel(), "top1_agreement: ", a.numel(), " vs ", b.numel(), " tokens");
  auto both = a.ge(0).logical_and(b.ge(0));
  const int64_t n = both.sum().item<int64_t>();
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  return a.eq(b).logical_and(both).sum().item<double>() / static_cast<double>(n);
}

torch::Tensor joint_counts(const torch::Tensor& a, const torch::Tensor& b, int64_t num_experts) {
  TORCH_CHECK(a.numel() == b.numel(), "joint_counts: ", a.numel(), " vs ", b.numel(), " tokens");
  auto fa = a.reshape({-1}), fb = b.reshape({-1});
  auto idx = fa.ge(0).logical_and(fb.ge(0)).nonzero().squeeze(1);
  auto cell = fa.index_select(0, idx) * num_experts + fb.index_select(0, idx);
  return torch::bincount(cell, {}, num_experts * num_experts)
      .to(torch::kDouble)
      .view({num_experts, num_experts});
}

double normalized_mutual_information(const torch::Tensor& joint) {
  auto j = joint.to(torch::kDouble);
  const double n = j.sum().item<double>();
  if (n <= 0) return 0.0;
  auto p = j / n;
  auto pa = p.sum(1), pb = p.sum(0);
  auto ent = [](const torch::Tensor& q) {
    auto nz = q.masked_select(q.gt(0));
    return -(nz * nz.log()).sum().item<double>();
  };
  const double ha = ent(pa), hb = ent(pb);
  if (ha + hb <= 0) return 1.0;  // both constant: they agree
  const double mi = ha + hb - ent(p.reshape({-1}));
  return std::clamp(2.0 * mi / (ha + hb), 0.0, 1.0);
}

TopKRouterImpl::TopKRouterImpl(TopKRouterOptions o) : options(std::move(o)) { reset(); }

void TopKRouterImpl::reset() {
  if (make_wg(options.d_model(), options.num_experts(), options.shared())) {
    torch::NoGradGuard ng;
    wg->weight.normal_(0, 0.02);  // flaxformer's router init
  }
}

Routing TopKRouterImpl::forward(const torch::Tensor& x, int64_t capacity) {
  return forward(x, capacity, torch::Tensor());
}

Routing TopKRouterImpl::forward(const torch::Tensor& x, int64_t capacity, const torch::Tensor& allowed) {
  const auto dtype = x.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  auto xr = x.to(dtype);
  if (is_training() && options.jitter() > 0)
    xr = xr * torch::empty_like(xr).uniform_(1 - options.jitter(), 1 + options.jitter());
  // Inference on CPU: kernels/narrow_linear (LibTorch's fp32 linear would wake OpenBLAS's threads).
  auto logits = !torch::GradMode::is_enabled() && xr.is_cpu() && dtype == torch::kFloat &&
                        wg->weight.scalar_type() == torch::kFloat
                    ? kernels::narrow_linear(xr, wg->weight)
                    : torch::nn::functional::linear(xr, wg->weight.to(dtype));
  return route_topk(logits, options.top_k(), capacity,
                    second_choice_noise(logits, options.top_k(), is_training(),
                                        options.second_policy()),
                    allowed);
}

// Registry entry: the softmax top-k router (Switch / GShard).
namespace {
std::shared_ptr<RouterBase> make_topk_router(const MoeLayerOptions& o) {
  return std::make_shared<TopKRouterImpl>(TopKRouterOptions(o.d_model(), o.num_experts())
                                              .top_k(o.top_k())
                                              .second_policy(o.second_policy())
                                              .jitter(o.jitter())
                                              .shared(o.shared_router()));
}
}  // namespace

int64_t top1_or_top2(int64_t num_experts) { return std::min<int64_t>(2, num_experts); }

RouterType topk_router_type() {
  RouterType t;
  t.name = "topk";
  t.make = make_topk_router;
  t.max_top_k = top1_or_top2;
  t.restricts = true;
  return t;
}

}  // namespace strata::moe
