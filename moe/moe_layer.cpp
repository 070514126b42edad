#include "moe/moe_layer.h"

#include "moe/routing_override.h"

#include <cmath>
#include <tuple>

#include "moe/expert_parallel.h"
#include "moe/registry.h"

namespace strata::moe {

MoeLayerImpl::MoeLayerImpl(MoeLayerOptions o) : options(std::move(o)) {
  TORCH_CHECK(options.num_experts() >= 1, "moe: num_experts must be >= 1");
  router_type = &moe::router_type(options.router());
  const int64_t max_k = router_type->max_top_k(options.num_experts());
  TORCH_CHECK(options.top_k() >= 1 && options.top_k() <= max_k, "moe: top_k must be in [1, ", max_k,
              "] for router ", options.router(), " and ", options.num_experts(), " experts, got ",
              options.top_k());
  router = register_module("router", router_type->make(options));
  int64_t held = options.num_experts();
  if (options.comm()) {
    std::tie(first_local_expert, held) =
        local_experts(options.num_experts(), options.comm()->rank(), options.comm()->world());
  }
  experts = register_module("experts", Experts(held, options.d_model(), options.ffn(),
                                               options.expert_ffn_dropout()));
  TORCH_CHECK(options.eom() >= 0 && options.eom() < 1, "moe: eom must be in [0, 1), got ", options.eom());
  if (router_type->init_experts) router_type->init_experts(experts, options, held);
}

MoeOutput MoeLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& pad,
                                const torch::Tensor& prev_top1, const torch::Tensor& token_ids) {
  const int64_t d = options.d_model(), E = options.num_experts();
  auto flat = x.reshape({-1, d});  // [N, d]
  torch::Tensor idx;               // routed (non-pad) rows
  auto tokens = flat;
  if (pad.defined()) {
    idx = pad.reshape({-1}).logical_not().nonzero().squeeze(1);
    tokens = flat.index_select(0, idx);
  }
  const int64_t N = tokens.size(0);
  const double cf = router_type->dropless ? 0.0
                    : is_training()       ? options.capacity_factor()
                                          : options.eval_capacity_factor();
  // Per-position inputs of the routers, restricted to the routed rows like the tokens.
  auto routed = [&](const torch::Tensor& t) {
    if (!t.defined()) return t;
    return idx.defined() ? t.reshape({-1}).index_select(0, idx) : t.reshape({-1});
  };
  RouterInput in;
  in.x = tokens;
  in.capacity = expert_capacity(N, E, options.top_k(), cf);
  // Only what the router reads is gathered (MoE forward is on the decoding hot path).
  if (router_type->uses_prev_top1) in.prev_top1 = routed(prev_top1);
  if (router_type->uses_token_ids) in.token_ids = routed(token_ids);
  // SiDA mode (moe/routing_override.h): logits given from outside, or an allowed set per layer.
  const torch::Tensor* given = nullptr;  // [B·T, E]
  torch::Tensor allowed = allowed_experts;
  const RoutingOverride* ov = routing_override();
  if (ov) {
    const auto g = ov->logits.find(this);
    if (g != ov->logits.end()) given = &g->second;
    const auto a = ov->allowed.find(this);
    if (a != ov->allowed.end()) allowed = a->second;
  }
  if (allowed.defined() || given) {
    TORCH_CHECK(router_type->restricts, "moe layer: the ", options.router(), " router cannot restrict its routing");
    in.allowed = allowed;
  }
  Routing r;
  if (given) {
    TORCH_CHECK(given->dim() == 2 && given->size(0) == flat.size(0) && given->size(1) == E,
                "moe layer: given routing logits of shape ", given->sizes(), " for ", flat.size(0),
                " positions and ", E, " experts");
    const auto logits = given->to(tokens.device(), tokens.scalar_type());
    r = route_topk(idx.defined() ? logits.index_select(0, idx) : logits, options.top_k(), /*capacity=*/0,
                   torch::Tensor(), allowed);
  } else {
    r = router->route(in);
  }
  if (ov && ov->probs && r.probs.defined())
    (*ov->probs)[this] = idx.defined() ? torch::zeros({flat.size(0), E}, r.probs.options()).index_copy(0, idx, r.probs)
                                       : r.probs;
  Dispatch disp = make_dispatch(r, E);
  torch::Tensor y;  // [N, d]
  if (options.comm()) {
    auto rows = run_experts_parallel(experts, tokens.index_select(0, disp.token), disp.counts,
                                     options.comm());
    y = combine_connected(expert_output_mask(rows, options.eom(), is_training()), disp, N);
  } else {
    auto rows = experts(tokens.index_select(0, disp.token), disp.counts);  // [M, d]
    y = combine(expert_output_mask(rows, options.eom(), is_training()), disp, N);
  }
  MoeOutput out;
  out.output = idx.defined() ? torch::zeros_like(flat).index_copy(0, idx, y).view(x.sizes())
                             : y.view(x.sizes());
  out.aux_loss = r.aux_loss;
  out.z_loss = r.z_loss;
  auto counts = torch::tensor(disp.counts, torch::kFloat);
  const double n_routed = static_cast<double>(disp.token.numel());
  out.load = n_routed > 0 ? counts / n_routed : counts;
  out.drop_rate = N > 0 ? 1.0 - n_routed / static_cast<double>(N * options.top_k()) : 0.0;
  auto first = r.expert.select(1, 0);
  out.top1 = idx.defined()
                 ? torch::full({flat.size(0)}, -1, first.options()).index_copy(0, idx, first)
                 : first;
  return out;
}

torch::Tensor MoeLayerImpl::block(const torch::Tensor& y, torch::nn::LayerNorm& norm,
                                  const torch::Tensor& pad, double dropout, MoeAux* aux) {
  MoeOutput o = forward(norm(y), pad, aux->prev_top1, aux->token_ids);
  aux->add(o.aux_loss, o.z_loss, o.load, o.drop_rate, o.top1);
  auto out = o.output;
  if (dropout > 0 && is_training())
    out = torch::nn::functional::dropout(
        out, torch::nn::functional::DropoutFuncOptions().p(dropout).training(true));
  return y + out;
}

// ---------------------------------------------------------------------------------------------
// Registry entries: Switch (top-1) and GShard (top-2) layers, with any registered router.

namespace {
std::shared_ptr<SparseFfnBase> make_moe_layer(const SparseFfnArgs& args) {
  return std::make_shared<MoeLayerImpl>(moe_layer_options(args));
}
}  // namespace

LayerType switch_layer_type() {
  LayerType t;
  t.name = "switch";
  t.module_name = "moe";
  t.default_top_k = 1;
  t.takes_router = true;
  t.make = make_moe_layer;
  return t;
}

LayerType gshard_layer_type() {
  LayerType t = switch_layer_type();
  t.name = "gshard";
  t.default_top_k = 2;
  return t;
}

}  // namespace strata::moe
