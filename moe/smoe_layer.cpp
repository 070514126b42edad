#include "moe/smoe_layer.h"

#include <tuple>

#include "moe/expert_parallel.h"
#include "moe/registry.h"

namespace strata::moe {

SmoeLayerImpl::SmoeLayerImpl(SmoeLayerOptions o) : options(std::move(o)) {
  TORCH_CHECK(!options.strata().empty(), "smoe: strata must not be empty");
  starts_ = {0};
  for (int64_t n : options.strata()) {
    TORCH_CHECK(n >= 1, "smoe: every stratum needs at least one expert");
    starts_.push_back(starts_.back() + n);
  }
  const int64_t E = starts_.back(), L = static_cast<int64_t>(options.strata().size());
  int64_t held = E;
  if (options.comm())
    std::tie(first_local_expert, held) =
        local_experts(E, options.comm()->rank(), options.comm()->world());
  experts = register_module("experts", Experts(held, options.d_model(), options.ffn(),
                                               options.expert_ffn_dropout()));
  routers = register_module("routers", torch::nn::ModuleList());
  norms = register_module("norms", torch::nn::ModuleList());
  for (int64_t l = 0; l < L; ++l) {
    torch::nn::Linear r(torch::nn::LinearOptions(options.d_model(), E - starts_[l]).bias(false));
    {
      torch::NoGradGuard ng;
      r->weight.normal_(0, 0.02);
    }
    routers->push_back(r);
    if (options.stratum_norms())
      norms->push_back(torch::nn::LayerNorm(torch::nn::LayerNormOptions({options.d_model()})));
  }
}

int64_t SmoeLayerImpl::stratum_of(int64_t expert) const {
  int64_t l = 0;
  while (expert >= starts_[l + 1]) ++l;
  return l;
}

SmoeOutput SmoeLayerImpl::forward(const torch::Tensor& h, const torch::Tensor& u0,
                                  const torch::Tensor& pad) {
  const int64_t N = h.size(0), E = num_experts(), L = static_cast<int64_t>(options.strata().size());
  // Stratum of every expert, to map first choices to the next state.
  std::vector<int64_t> strat(E);
  for (int64_t e = 0; e < E; ++e) strat[e] = stratum_of(e);
  const auto i64 = h.options().dtype(torch::kLong);
  auto expert_stratum = torch::tensor(strat, i64);
  // state: the stratum each token is at (L = done); padding starts done.
  auto state = torch::zeros({N}, i64);
  if (pad.defined()) state = state.masked_fill(pad, L);
  auto passes = torch::zeros({N}, i64);
  auto top1 = torch::full({N}, -1, i64);
  torch::Tensor r = h, u = u0;
  SmoeOutput out;
  std::vector<torch::Tensor> aux;
  const double cf = is_training() ? options.capacity_factor() : options.eval_capacity_factor();
  const auto& comm = options.comm();
  int64_t choices = 0, kept = 0;  // (token, choice) pairs routed / kept by capacity, all passes
  // The lowest stratum any token is at (over all ranks with expert parallelism; L = all done).
  auto lowest = [&] {
    const int64_t m = N > 0 ? state.min().item<int64_t>() : L;
    return comm ? comm->all_reduce_int(m, ReduceOp::kMin) : m;
  };
  while (comm || N > 0) {
    const int64_t l = lowest();
    if (l >= L) break;
    auto A = state.eq(l).nonzero().squeeze(1);  // tokens at stratum l
    const int64_t nA = A.size(0), El = E - starts_[l];
    const int64_t k = std::min<int64_t>(2, El);
    auto xA = u.index_select(0, A);
    auto logits = routers[l]->as<torch::nn::Linear>()->forward(
        xA.scalar_type() == torch::kDouble ? xA : xA.to(torch::kFloat));
    const int64_t capacity = cf > 0 ? static_cast<int64_t>(cf * 2 * ((nA + El - 1) / El)) : 0;
    Routing rt = route_topk(logits, k, capacity,
                            second_choice_noise(logits, k, is_training(), options.second_policy()));
    rt.expert = rt.expert + starts_[l];  // local -> global expert ids
    if (nA > 0) aux.push_back(rt.aux_loss);  // (an expert-parallel rank may have none here)
    if (l == 0) top1 = top1.index_copy(0, A, rt.expert.select(1, 0));
    Dispatch d = make_dispatch(rt, E);
    auto rows = comm ? run_experts_parallel(experts, xA.index_select(0, d.token), d.counts, comm)
                     : experts(xA.index_select(0, d.token), d.counts);
    rows = expert_output_mask(rows, options.eom(), is_training());
    auto outA = comm ? combine_connected(rows, d, nA) : combine(rows, d, nA);  // [nA, d]
    choices += nA * k;
    kept += d.token.size(0);
    auto newA = outA.to(r.dtype()) + r.index_select(0, A);
    u = u.index_copy(0, A, newA);
    auto next = expert_stratum.index_select(0, rt.expert.select(1, 0)) + 1;  // by top-1 expert
    state = state.index_copy(0, A, next);
    passes = passes.index_add(0, A, torch::ones({nA}, i64));
    r = u;
    out.num_passes++;
    if (!options.stratum_norms()) continue;
    // Tokens now at the lowest remaining stratum l' are normalised with LN_{l'-1} (at the end,
    // l' = L: every token with LN_{L-1}).
    const int64_t l2 = lowest();
    auto B = state.eq(l2).nonzero().squeeze(1);
    if (pad.defined()) B = B.index_select(0, pad.index_select(0, B).logical_not().nonzero().squeeze(1));
    auto normed = norms[l2 - 1]->as<torch::nn::LayerNorm>()->forward(u.index_select(0, B));
    u = u.index_copy(0, B, normed);
  }
  out.output = pad.defined() ? torch::where(pad.unsqueeze(1), h, u) : u;
  out.passes = passes;
  out.drop_rate = choices > 0 ? 1.0 - static_cast<double>(kept) / static_cast<double>(choices) : 0.0;
  out.top1 = top1;
  out.aux_loss = aux.empty() ? torch::zeros({}, h.options()) : torch::stack(aux).mean();
  return out;
}

torch::Tensor SmoeLayerImpl::block(const torch::Tensor& y, torch::nn::LayerNorm& norm,
                                   const torch::Tensor& pad, double, MoeAux* aux) {
  const int64_t d = y.size(-1);
  SmoeOutput o = forward(y.reshape({-1, d}), norm(y).reshape({-1, d}),
                         pad.defined() ? pad.reshape({-1}) : pad);
  // Load: fraction of (non-pad) tokens by number of expert passes (1..L).
  auto p = o.passes.index_select(0, o.passes.gt(0).nonzero().squeeze(1));
  auto hist = p.numel() > 0 ? torch::bincount(p - 1).to(torch::kFloat) / p.numel()
                            : torch::zeros({1}, p.options().dtype(torch::kFloat));
  aux->add(o.aux_loss, torch::Tensor(), hist, o.drop_rate, o.top1);
  return o.output.view(y.sizes());
}

// ---------------------------------------------------------------------------------------------
// Registry entry: Stratified MoE.

namespace {
std::shared_ptr<SparseFfnBase> make_smoe_layer(const SparseFfnArgs& a) {
  const MoeConfig& c = a.config;
  return std::make_shared<SmoeLayerImpl>(
      SmoeLayerOptions(a.d_model, c.expert_ffn > 0 ? c.expert_ffn : a.ffn,
                       std::vector<int64_t>(c.strata.begin(), c.strata.end()))
          .capacity_factor(c.capacity_factor)
          .eval_capacity_factor(c.eval_capacity)
          .eom(c.eom)
          .expert_ffn_dropout(c.expert_ffn_dropout)
          .stratum_norms(c.stratum_norms)
          .comm(a.comm));
}

void validate_smoe(const MoeConfig& c, const ConfigFail& fail) {
  int sum = 0;
  for (int n : c.strata) {
    if (n < 1) fail("strata", "every stratum needs at least 1 expert");
    sum += n;
  }
  if (c.strata.empty() || sum != c.num_experts)
    fail("strata", "must list experts per stratum summing to model.moe.num_experts=" +
                       std::to_string(c.num_experts) + " (e.g. [4, 4])");
  // Each pass is top-2 whatever top_k says; keep the switch/gshard range for the field.
  if (c.resolved_top_k() < 1 || c.resolved_top_k() > std::min(2, c.num_experts))
    fail("top_k", "must be 1 or 2 and <= model.moe.num_experts=" + std::to_string(c.num_experts) +
                      ", got " + std::to_string(c.top_k));
}
}  // namespace

LayerType smoe_layer_type() {
  LayerType t;
  t.name = "smoe";
  t.module_name = "smoe";
  t.default_top_k = 1;
  t.uses_strata = true;
  t.make = make_smoe_layer;
  t.validate = validate_smoe;
  return t;
}

}  // namespace strata::moe
