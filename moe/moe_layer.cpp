#include "moe/moe_layer.h"

#include <cmath>
#include <tuple>

#include "moe/expert_parallel.h"

namespace strata::moe {

MoeLayerImpl::MoeLayerImpl(MoeLayerOptions o) : options(std::move(o)) {
  TORCH_CHECK(options.num_experts() >= 1, "moe: num_experts must be >= 1");
  const bool sigma = options.router() == RouterKind::kSigma;
  TORCH_CHECK(options.top_k() >= 1 &&
                  options.top_k() <= (sigma ? options.num_experts()
                                            : std::min<int64_t>(2, options.num_experts())),
              "moe: top_k must be ", sigma ? "in [1, num_experts]" : "1 or 2 and <= num_experts",
              ", got ", options.top_k());
  const int64_t d = options.d_model(), E = options.num_experts();
  switch (options.router()) {
    case RouterKind::kTopK:
      router = register_module("router", std::make_shared<TopKRouterImpl>(
                                             TopKRouterOptions(d, E)
                                                 .top_k(options.top_k())
                                                 .second_policy(options.second_policy())
                                                 .jitter(options.jitter())
                                                 .shared(options.shared_router())));
      break;
    case RouterKind::kSigma:
      router = register_module("router", std::make_shared<SigmaRouterImpl>(
                                             SigmaRouterOptions(d, E)
                                                 .top_k(options.top_k())
                                                 .expert_dropout(options.expert_dropout())
                                                 .init_scale(options.init_scale())
                                                 .shared(options.shared_router())));
      break;
    case RouterKind::kAC:
      router = register_module("router", std::make_shared<AcRouterImpl>(
                                             AcRouterOptions(d, E)
                                                 .top_k(options.top_k())
                                                 .second_policy(options.second_policy())
                                                 .dispersion(options.ac_dispersion())
                                                 .momentum(options.ac_momentum())
                                                 .shared(options.shared_router())));
      break;
  }
  int64_t held = options.num_experts();
  if (options.comm()) {
    std::tie(first_local_expert, held) =
        local_experts(options.num_experts(), options.comm()->rank(), options.comm()->world());
  }
  experts = register_module("experts", Experts(held, options.d_model(), options.ffn(),
                                               options.expert_ffn_dropout()));
  TORCH_CHECK(options.eom() >= 0 && options.eom() < 1, "moe: eom must be in [0, 1), got ", options.eom());
  if (sigma) {
    // σ-MoE init; W2's scale uses the full E·G even when this rank holds fewer experts.
    sigma_experts_init(experts->w1, experts->b1, experts->w2, experts->b2, options.init_scale());
    torch::NoGradGuard ng;
    experts->w2.mul_(std::sqrt(static_cast<double>(held) / static_cast<double>(E)));
  }
}

MoeOutput MoeLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& pad,
                                const torch::Tensor& prev_top1) {
  const int64_t d = options.d_model(), E = options.num_experts();
  auto flat = x.reshape({-1, d});  // [N, d]
  torch::Tensor idx;               // routed (non-pad) rows
  auto tokens = flat;
  if (pad.defined()) {
    idx = pad.reshape({-1}).logical_not().nonzero().squeeze(1);
    tokens = flat.index_select(0, idx);
  }
  const int64_t N = tokens.size(0);
  const double cf = options.router() == RouterKind::kSigma ? 0.0  // σ-MoE: dropless
                    : is_training() ? options.capacity_factor() : options.eval_capacity_factor();
  torch::Tensor prev;
  if (prev_top1.defined()) prev = idx.defined() ? prev_top1.reshape({-1}).index_select(0, idx)
                                                : prev_top1.reshape({-1});
  Routing r = router->route(tokens, expert_capacity(N, E, options.top_k(), cf), prev);
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
  const double routed = static_cast<double>(disp.token.numel());
  out.load = routed > 0 ? counts / routed : counts;
  out.drop_rate = N > 0 ? 1.0 - routed / static_cast<double>(N * options.top_k()) : 0.0;
  auto first = r.expert.select(1, 0);
  out.top1 = idx.defined() ? torch::full({flat.size(0)}, -1, torch::kLong).index_copy(0, idx, first)
                           : first;
  return out;
}

}  // namespace strata::moe
