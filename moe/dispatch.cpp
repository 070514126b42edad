#include "moe/dispatch.h"

#include <cmath>
#include <limits>

#include "kernels/linear.h"
#include "moe/hidden_hook.h"

namespace strata::moe {

Dispatch make_dispatch(const Routing& r, int64_t num_experts) {
  const int64_t N = r.expert.size(0), K = r.expert.size(1);
  // Priority order (choice-major, then token) as the router assigned slots.
  auto expert = r.expert.t().reshape(-1);                                    // [K·N]
  auto token = torch::arange(N, r.expert.options()).repeat({K});           // [K·N] i64
  auto gate = r.gate.t().reshape(-1);                                        // [K·N]
  auto keep = r.keep.t().reshape(-1);                                        // [K·N]
  auto idx = keep.nonzero().squeeze(1);
  expert = expert.index_select(0, idx);
  auto order = std::get<1>(expert.sort(/*stable=*/true, 0, false));
  Dispatch d;
  d.token = token.index_select(0, idx).index_select(0, order);
  d.gate = gate.index_select(0, idx).index_select(0, order);
  auto counts = torch::bincount(expert, {}, num_experts).cpu();
  d.counts.assign(counts.data_ptr<int64_t>(), counts.data_ptr<int64_t>() + num_experts);
  return d;
}

torch::Tensor combine(const torch::Tensor& expert_out, const Dispatch& d, int64_t num_tokens) {
  auto out = torch::zeros({num_tokens, expert_out.size(1)}, expert_out.options());
  if (d.token.numel() == 0) return out;
  return out.index_add(0, d.token, expert_out * d.gate.to(expert_out.dtype()).unsqueeze(1));
}

torch::Tensor expert_output_mask(const torch::Tensor& expert_out, double p, bool training) {
  TORCH_CHECK(p >= 0 && p < 1, "moe: eom must be in [0, 1), got ", p);
  if (p == 0) return expert_out;
  if (!training) return expert_out * (1 - p);
  auto keep = torch::empty({expert_out.size(0), 1}, expert_out.options()).bernoulli_(1 - p);
  return expert_out * keep;
}

namespace {
// A NaN of `sizes` through a stride-0 view: 4 bytes whatever the shape.
torch::Tensor nan_placeholder(torch::IntArrayRef sizes, const torch::TensorOptions& options = {}) {
  return torch::full({}, std::numeric_limits<float>::quiet_NaN(), options).expand(sizes);
}
}  // namespace


ExpertsImpl::ExpertsImpl(int64_t num_experts, int64_t d_model, int64_t ffn, double dropout_p)
    : dropout(dropout_p), num_experts_(num_experts) {
  TORCH_CHECK(dropout >= 0 && dropout < 1, "experts: dropout must be in [0, 1), got ", dropout);
  // Built without storage for a loader (kernels::DeferredStorage): a slim checkpoint's experts are
  // restored on dispatch (set_source: b1 too), an int8-only load restores w1 and w2.
  const bool slim = kernels::DeferredStorage::defers(kernels::Deferred::kExperts);
  if (slim || kernels::DeferredStorage::defers(kernels::Deferred::kPackable)) {
    torch::NoGradGuard no_grad;
    w1 = register_parameter("w1", torch::empty({0}));
    b1 = register_parameter("b1", slim ? torch::empty({0}) : torch::zeros({num_experts, ffn}));
    w2 = register_parameter("w2", torch::empty({0}));
    w1.set_data(nan_placeholder({num_experts, d_model, ffn}));
    if (slim) b1.set_data(nan_placeholder({num_experts, ffn}));
    w2.set_data(nan_placeholder({num_experts, ffn, d_model}));
  } else {
    // Each expert initialised like a dense FFN of the same shape (xavier-uniform, zero bias).
    const double a1 = std::sqrt(6.0 / (d_model + ffn));
    w1 = register_parameter("w1", torch::empty({num_experts, d_model, ffn}).uniform_(-a1, a1));
    b1 = register_parameter("b1", torch::zeros({num_experts, ffn}));
    w2 = register_parameter("w2", torch::empty({num_experts, ffn, d_model}).uniform_(-a1, a1));
  }
  b2 = register_parameter("b2", torch::zeros({num_experts, d_model}));
}

void ExpertsImpl::pack_weights(kernels::WeightFormat f) {
  packed1_.clear();
  packed2_.clear();
  format_ = f;
  if (source_) {  // packed on each miss in the new format
    cache_->drop(this);
    return;
  }
  if (f == kernels::WeightFormat::kNone) return;
  auto stored = [&](const std::vector<kernels::PackedWeight>& s, const torch::Tensor& w) {
    return f == kernels::WeightFormat::kInt8 && !s.empty() && s[0].made_from(w);
  };
  if (!stored(stored1_, w1)) kernels::check_not_released({&w1});
  if (!stored(stored2_, w2)) kernels::check_not_released({&w2});
  for (int64_t e = 0; e < num_experts_; ++e) {  // w [in, out] -> packed [out, in]
    packed1_.push_back(stored(stored1_, w1) ? stored1_[e] : kernels::PackedWeight::make(f, w1[e].t()).from(w1));
    packed2_.push_back(stored(stored2_, w2) ? stored2_[e] : kernels::PackedWeight::make(f, w2[e].t()).from(w2));
  }
}

std::map<std::string, kernels::Int8Weight> ExpertsImpl::int8_weights() const {
  TORCH_CHECK(!source_, "experts restored on dispatch have no int8 form");
  std::map<std::string, kernels::Int8Weight> out;
  auto one = [&](const char* name, const torch::Tensor& w, const std::vector<kernels::PackedWeight>& s) {
    std::vector<torch::Tensor> q, scale;
    for (int64_t e = 0; e < num_experts_; ++e) {
      kernels::Int8Weight x = !s.empty() && s[0].made_from(w)
                                  ? kernels::Int8Weight{s[e].data(), s[e].scale()}
                                  : kernels::int8_form(w[e].t().contiguous(), kernels::PackedWeight());
      q.push_back(x.q);
      scale.push_back(x.scale);
    }
    out[name] = {torch::stack(q), torch::stack(scale)};
  };
  one("w1", w1, stored1_);
  one("w2", w2, stored2_);
  return out;
}

void ExpertsImpl::set_int8_weight(const std::string& name, const kernels::Int8Weight& w, bool release) {
  TORCH_CHECK(!source_, "experts restored on dispatch take no int8 weights");
  TORCH_CHECK(name == "w1" || name == "w2", "experts: no int8 weight '", name, "'");
  torch::Tensor& param = name == "w1" ? w1 : w2;
  auto& stored = name == "w1" ? stored1_ : stored2_;
  // Stored per expert as packed: W_eᵀ [out, in], so q [E, out, in] for a parameter [E, in, out].
  TORCH_CHECK(w.q.defined() && w.scale.defined() && w.q.dim() == 3 && w.q.size(0) == num_experts_ &&
                  w.q.size(1) == param.size(2) && w.q.size(2) == param.size(1) && w.scale.dim() == 2 &&
                  w.scale.size(0) == num_experts_ && w.scale.size(1) == param.size(2),
              "int8 weight '", name, "': q ", w.q.defined() ? w.q.sizes() : torch::IntArrayRef{}, " and scale ",
              w.scale.defined() ? w.scale.sizes() : torch::IntArrayRef{}, " for experts ", param.sizes());
  stored.clear();
  std::vector<torch::Tensor> dense;
  for (int64_t e = 0; e < num_experts_; ++e) {
    stored.push_back(kernels::PackedWeight::from_int8(w.q[e], w.scale[e]));
    if (!release) dense.push_back(stored.back().dequantized().t());
  }
  torch::NoGradGuard no_grad;
  param.set_data(release ? kernels::released_placeholder(param.sizes()) : torch::stack(dense).contiguous());
  for (auto& p : stored) p.from(param);
  packed1_.clear();
  packed2_.clear();
}

void ExpertsImpl::set_source(std::shared_ptr<const ExpertSource> source,
                             std::shared_ptr<ExpertCache> cache) {
  TORCH_CHECK(source && cache, "experts: set_source needs a source and a cache");
  TORCH_CHECK(source->num_experts() == num_experts_, "experts: the source holds ",
              source->num_experts(), " experts, the layer ", num_experts_);
  torch::NoGradGuard no_grad;
  for (auto* t : {&w1, &b1, &w2}) t->set_data(nan_placeholder(t->sizes(), t->options()));
  packed1_.clear();
  packed2_.clear();
  if (cache_) cache_->drop(this);
  source_ = std::move(source);
  cache_ = std::move(cache);
}

ExpertWeights ExpertsImpl::weights(int64_t e) const {
  if (source_) return source_->load(e);
  return {w1[e], b1[e], w2[e]};
}

torch::Tensor ExpertsImpl::expert(int64_t e, const torch::Tensor& x) {
  const ExpertWeights w = weights(e);
  return hook_hidden(this, e, torch::relu(x.matmul(w.w1) + w.b1)).matmul(w.w2) + b2[e];
}

CachedExpert ExpertsImpl::make_expert(int64_t e, bool packed) const {
  CachedExpert c;
  c.w = source_->load(e);
  if (packed) {  // w [in, out] -> packed [out, in]; the f32 copies are then not kept
    c.packed1 = kernels::PackedWeight::make(format_, c.w.w1.t());
    c.packed2 = kernels::PackedWeight::make(format_, c.w.w2.t());
    c.w.w1 = c.w.w2 = torch::Tensor();
  }
  return c;
}

bool ExpertsImpl::restores_packed() const {
  return format_ != kernels::WeightFormat::kNone && format_ == kernels::compute_weight_format();
}

bool ExpertsImpl::prefetch(int64_t e) {
  if (!source_) return true;
  TORCH_CHECK(e >= 0 && e < num_experts_, "experts: no expert ", e, " to prefetch");
  torch::NoGradGuard no_grad;
  const bool packed = restores_packed();
  return cache_->prefetch(this, e, [&] { return make_expert(e, packed); });
}

torch::Tensor ExpertsImpl::forward_from_source(const torch::Tensor& x_sorted,
                                               const std::vector<int64_t>& counts) {
  TORCH_CHECK(!is_training(), "experts: weights restored on dispatch are for inference only");
  torch::NoGradGuard no_grad;
  const bool packed = restores_packed() && x_sorted.is_cpu();
  std::vector<torch::Tensor> outs;
  int64_t start = 0;
  for (int64_t e = 0; e < num_experts_; ++e) {
    if (counts[e] == 0) continue;
    auto x = x_sorted.slice(0, start, start + counts[e]);
    auto make = [&] { return make_expert(e, packed); };
    auto held = cache_->get(this, e, make);
    if (held->packed1.defined() != packed) {  // made under another compute type
      held.reset();
      cache_->drop(this);
      held = cache_->get(this, e, make);
    }
    if (packed) {
      auto h = hook_hidden(this, e, torch::relu(held->packed1.linear(x, held->w.b1)));
      outs.push_back(held->packed2.linear(h, b2[e]));
    } else {
      auto h = hook_hidden(this, e, torch::relu(kernels::addmm(kernels::to_compute(held->w.b1), x,
                                                               kernels::to_compute(held->w.w1))));
      outs.push_back(kernels::addmm(kernels::to_compute(b2[e]), h, kernels::to_compute(held->w.w2)));
    }
    held.reset();
    cache_->settle(this, e);
    start += counts[e];
  }
  TORCH_CHECK(start == x_sorted.size(0), "experts: counts sum to ", start, ", rows ", x_sorted.size(0));
  if (outs.empty()) return torch::zeros_like(x_sorted);
  return torch::cat(outs, 0);
}

torch::Tensor ExpertsImpl::forward(const torch::Tensor& x_sorted,
                                   const std::vector<int64_t>& counts) {
  TORCH_CHECK(static_cast<int64_t>(counts.size()) == num_experts_, "experts: need ", num_experts_,
              " counts, got ", counts.size());
  if (source_) return forward_from_source(x_sorted, counts);
  std::vector<torch::Tensor> outs;
  int64_t start = 0;
  if (!packed1_.empty() && kernels::use_packed(packed1_[0], w1) && kernels::use_packed(packed2_[0], w2)) {
    // Inference in int8/bf16: one packed product pair per expert with rows (few-row experts
    // concurrently, kernels/packed_linear.h).
    std::function<torch::Tensor(int64_t, const torch::Tensor&)> hidden;
    if (HiddenHook* k = hidden_hook())
      hidden = [this, k](int64_t e, const torch::Tensor& h) { return k->hidden(this, e, h); };
    return kernels::packed_experts_ffn(x_sorted, counts, packed1_, b1, packed2_, b2, hidden);
  }
  kernels::check_not_released({&w1, &w2});
  // NOTE: unbind once instead of indexing w1[e] per expert: the backward of unbind stacks the
  // per-expert gradients into one [E, ...] tensor, while E separate selects would each allocate
  // and add a full-size zero gradient (8x slower fwd+bwd at 512 tokens, bench/moe_layer).
  // The weights in the compute precision once (kernels/precision.h), then one product per expert.
  auto w1s = kernels::to_compute(w1).unbind(0), b1s = kernels::to_compute(b1).unbind(0),
       w2s = kernels::to_compute(w2).unbind(0), b2s = kernels::to_compute(b2).unbind(0);
  torch::Tensor keep;  // [M, ffn] scaled dropout mask (training only)
  if (is_training() && dropout > 0)
    keep = torch::empty({x_sorted.size(0), w1.size(2)}, x_sorted.options()).bernoulli_(1 - dropout) /
           (1 - dropout);
  for (int64_t e = 0; e < num_experts_; ++e) {
    if (counts[e] == 0) continue;
    auto x = x_sorted.slice(0, start, start + counts[e]);
    auto h = hook_hidden(this, e, torch::relu(kernels::addmm(b1s[e], x, w1s[e])));
    if (keep.defined()) h = h * keep.slice(0, start, start + counts[e]);
    outs.push_back(kernels::addmm(b2s[e], h, w2s[e]));
    start += counts[e];
  }
  TORCH_CHECK(start == x_sorted.size(0), "experts: counts sum to ", start, ", rows ", x_sorted.size(0));
  if (outs.empty()) return torch::zeros_like(x_sorted);
  return torch::cat(outs, 0);
}

}  // namespace strata::moe
