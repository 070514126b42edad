#include "nmt/model/lms.h"

#include <cmath>

#include "kernels/linear.h"

namespace strata::nmt {

const EnumNames<LmsMode>& names_of(LmsMode) {
  static const EnumNames<LmsMode> n = {
      {"none", LmsMode::kNone}, {"pair", LmsMode::kPair}, {"lang", LmsMode::kLang}};
  return n;
}

const EnumNames<LmsPlacement>& names_of(LmsPlacement) {
  static const EnumNames<LmsPlacement> n = {{"ffn", LmsPlacement::kFfn},
                                            {"ffn_attn", LmsPlacement::kFfnAttn}};
  return n;
}

LmsGroups LmsGroups::of(const torch::Tensor& slot, int64_t num_slots) {
  LmsGroups g;
  auto cpu = slot.to(torch::kCPU);
  g.order = std::get<1>(cpu.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));
  g.inverse = torch::empty_like(g.order).index_put_({g.order}, torch::arange(g.order.numel()));
  auto counts = torch::bincount(cpu, {}, num_slots);
  TORCH_CHECK(cpu.numel() == 0 || (cpu.min().item<int64_t>() >= 0 && counts.size(0) == num_slots),
              "LmsKeys: bank slots must be in [0, ", num_slots, ")");
  const auto* c = counts.data_ptr<int64_t>();
  for (int64_t s = 0; s < num_slots; ++s) {
    if (c[s] == 0) continue;
    g.slots.push_back(s);
    g.counts.push_back(c[s]);
  }
  g.order = g.order.to(slot.device());
  g.inverse = g.inverse.to(slot.device());
  return g;
}

LmsKeys::LmsKeys(torch::Tensor v_, torch::Tensor f_, int64_t num_slots_)
    : v(std::move(v_)), f(std::move(f_)), num_slots(num_slots_) {
  by_v = LmsGroups::of(v, num_slots);
  by_f = f.is_same(v) ? by_v : LmsGroups::of(f, num_slots);
}

LmsKeys LmsKeys::select(const torch::Tensor& order) const {
  if (!defined()) return {};
  auto sv = v.index_select(0, order);
  return {sv, f.is_same(v) ? sv : f.index_select(0, order), num_slots};
}

LmsKeys lms_keys(LmsMode mode, int64_t num_langs, const torch::Tensor& src_lang,
                 const torch::Tensor& tgt_lang, bool shared) {
  if (mode == LmsMode::kNone) return {};
  TORCH_CHECK(src_lang.defined() && src_lang.dim() == 1,
              "lms_keys: expected src_lang [B] i64, got ",
              src_lang.defined() ? src_lang.sizes() : at::IntArrayRef{});
  if (shared) {
    auto n = torch::full_like(src_lang, num_langs);  // [B] the fused slot N
    return {n, n, num_langs + 1};
  }
  TORCH_CHECK(src_lang.numel() == 0 || (src_lang.min().item<int64_t>() >= 0 &&
                                        src_lang.max().item<int64_t>() < num_langs),
              "lms_keys: source language indices must be in [0, ", num_langs, ")");
  if (mode == LmsMode::kLang) return {src_lang, src_lang, num_langs + 1};
  TORCH_CHECK(tgt_lang.defined() && tgt_lang.sizes() == src_lang.sizes(),
              "lms_keys: pair mode needs tgt_lang of shape ", src_lang.sizes());
  TORCH_CHECK(tgt_lang.numel() == 0 || (tgt_lang.min().item<int64_t>() >= 0 &&
                                        tgt_lang.max().item<int64_t>() < num_langs),
              "lms_keys: target language indices must be in [0, ", num_langs, ")");
  return {src_lang, tgt_lang, num_langs + 1};
}

LmsLinearImpl::LmsLinearImpl(LmsLinearOptions options_) : options(std::move(options_)) { reset(); }

void LmsLinearImpl::reset() {
  const auto& o = options;
  TORCH_CHECK(o.in_features() > 0 && o.out_features() > 0, "LmsLinear: features must be > 0");
  TORCH_CHECK(o.num_langs() >= 0, "LmsLinear: num_langs must be >= 0, got ", o.num_langs());
  // torch::nn::Linear's parameters and initialisation (same RNG draws, same names).
  const bool deferred = kernels::DeferredStorage::defers(kernels::Deferred::kPackable);  // restored from int8 next
  weight = register_parameter("weight", torch::empty({deferred ? 0 : o.out_features(), o.in_features()}));
  bias = register_parameter("bias", torch::empty({o.out_features()}));
  if (deferred) {
    torch::NoGradGuard no_grad;
    weight.set_data(kernels::released_placeholder({o.out_features(), o.in_features()}));
  } else {
    torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  }
  const double bound = 1.0 / std::sqrt(static_cast<double>(o.in_features()));
  torch::nn::init::uniform_(bias, -bound, bound);
  if (o.num_langs() > 0) {
    TORCH_CHECK(o.rank() >= 1, "LmsLinear: rank must be >= 1, got ", o.rank());
    torch::NoGradGuard no_grad;
    lms_v = register_parameter(
        "lms_v", torch::empty({o.num_langs() + 1, o.out_features(), o.rank()}).normal_(0, 0.01));
    lms_f = register_parameter("lms_f",
                               torch::zeros({o.num_langs() + 1, o.rank(), o.in_features()}));
  }
}

namespace {
// y[b] = x[b] · bank[slot_b]ᵀ for x [B, T, k] and bank [S, m, k]: one matmul per slot in use, in
// the thread's precision (kernels/linear.h).
torch::Tensor grouped_matmul(const torch::Tensor& x, const torch::Tensor& bank,
                             const LmsGroups& groups) {
  if (groups.slots.size() == 1) return kernels::matmul(x, bank[groups.slots[0]].t());
  auto parts = x.index_select(0, groups.order).split_with_sizes(groups.counts, 0);
  std::vector<torch::Tensor> out;
  out.reserve(parts.size());
  for (size_t i = 0; i < parts.size(); ++i)
    out.push_back(kernels::matmul(parts[i], bank[groups.slots[i]].t()));
  return torch::cat(out, 0).index_select(0, groups.inverse);
}
}  // namespace

torch::Tensor LmsLinearImpl::forward(const torch::Tensor& x, const LmsKeys& keys) {
  auto y = kernels::linear(x, weight, bias, packed);  // [B, ..., d_out] f32 (kernels/)
  if (!has_banks() || !keys.defined() || x.size(0) == 0) return y;
  const int64_t B = x.size(0);
  TORCH_CHECK(keys.v.dim() == 1 && keys.v.size(0) == B && keys.f.sizes() == keys.v.sizes(),
              "LmsLinear: expected keys [", B, "] (one per sentence), got ", keys.v.sizes());
  TORCH_CHECK(keys.num_slots == options.num_langs() + 1, "LmsLinear: keys for ",
              keys.num_slots, " bank slots, this layer has ", options.num_langs() + 1);
  auto x3 = x.reshape({B, -1, options.in_features()});    // [B, T, d_in]
  auto h = grouped_matmul(x3, lms_f, keys.by_f);           // [B, T, r]      x F[f_b]ᵀ
  auto delta = grouped_matmul(h, lms_v, keys.by_v);        // [B, T, d_out]  h V[v_b]ᵀ
  return y + delta.view(y.sizes());
}

void LmsLinearImpl::pack_weights(kernels::WeightFormat f) {
  if (f == kernels::WeightFormat::kInt8 && stored_int8.made_from(weight)) {
    packed = stored_int8;
    return;
  }
  kernels::check_not_released({&weight});
  packed = kernels::PackedWeight::make(f, weight).from(weight);
}

std::map<std::string, kernels::Int8Weight> LmsLinearImpl::int8_weights() const {
  return {{"weight", kernels::int8_form(weight, stored_int8)}};
}

void LmsLinearImpl::set_int8_weight(const std::string& name, const kernels::Int8Weight& w, bool release) {
  TORCH_CHECK(name == "weight", "LmsLinear: no int8 weight '", name, "'");
  stored_int8 = kernels::restore_int8(weight, name, w, release);
  packed = kernels::PackedWeight();
}

torch::Tensor LmsLinearImpl::merged_weight(int64_t slot) const {
  if (!has_banks()) return weight;
  TORCH_CHECK(slot >= 0 && slot <= options.num_langs(), "LmsLinear: slot must be in [0, ",
              options.num_langs(), "], got ", slot);
  return weight + torch::mm(lms_v[slot], lms_f[slot]);  // [d_out, d_in]
}

}  // namespace strata::nmt
