#include "moe/moe_layer.h"

namespace strata::moe {

MoeLayerImpl::MoeLayerImpl(MoeLayerOptions o) : options(std::move(o)) {
  TORCH_CHECK(options.num_experts() >= 1, "moe: num_experts must be >= 1");
  TORCH_CHECK(options.top_k() >= 1 && options.top_k() <= std::min<int64_t>(2, options.num_experts()),
              "moe: top_k must be 1 or 2 and <= num_experts, got ", options.top_k());
  router = register_module("router", TopKRouter(TopKRouterOptions(options.d_model(),
                                                                  options.num_experts())
                                                    .top_k(options.top_k())
                                                    .second_policy(options.second_policy())
                                                    .jitter(options.jitter())));
  experts = register_module("experts",
                            Experts(options.num_experts(), options.d_model(), options.ffn()));
}

MoeOutput MoeLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& pad) {
  const int64_t d = options.d_model(), E = options.num_experts();
  auto flat = x.reshape({-1, d});  // [N, d]
  torch::Tensor idx;               // routed (non-pad) rows
  auto tokens = flat;
  if (pad.defined()) {
    idx = pad.reshape({-1}).logical_not().nonzero().squeeze(1);
    tokens = flat.index_select(0, idx);
  }
  const int64_t N = tokens.size(0);
  const double cf = is_training() ? options.capacity_factor() : options.eval_capacity_factor();
  Routing r = router(tokens, expert_capacity(N, E, options.top_k(), cf));
  Dispatch disp = make_dispatch(r, E);
  auto y = combine(experts(tokens.index_select(0, disp.token), disp.counts), disp, N);  // [N, d]
  MoeOutput out;
  out.output = idx.defined() ? torch::zeros_like(flat).index_copy(0, idx, y).view(x.sizes())
                             : y.view(x.sizes());
  out.aux_loss = r.aux_loss;
  out.z_loss = r.z_loss;
  auto counts = torch::tensor(disp.counts, torch::kFloat);
  const double routed = static_cast<double>(disp.token.numel());
  out.load = routed > 0 ? counts / routed : counts;
  out.drop_rate = N > 0 ? 1.0 - routed / static_cast<double>(N * options.top_k()) : 0.0;
  auto first = r.expert.select(1, 0);
  out.top1 = idx.defined() ? torch::full({flat.size(0)}, -1, torch::kLong).index_copy(0, idx, first)
                           : first;
  return out;
}

}  // namespace strata::moe
