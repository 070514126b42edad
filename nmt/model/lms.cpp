#include "nmt/model/lms.h"

#include <cmath>

namespace strata::nmt {

LmsKeys LmsKeys::select(const torch::Tensor& order) const {
  if (!defined()) return {};
  return {v.index_select(0, order), f.index_select(0, order)};
}

LmsKeys lms_keys(LmsMode mode, int64_t num_langs, const torch::Tensor& src_lang,
                 const torch::Tensor& tgt_lang, bool shared) {
  if (mode == LmsMode::kNone) return {};
  TORCH_CHECK(src_lang.defined() && src_lang.dim() == 1,
              "lms_keys: expected src_lang [B] i64, got ",
              src_lang.defined() ? src_lang.sizes() : at::IntArrayRef{});
  if (shared) {
    auto n = torch::full_like(src_lang, num_langs);  // [B] the fused slot N
    return {n, n};
  }
  TORCH_CHECK(src_lang.numel() == 0 || (src_lang.min().item<int64_t>() >= 0 &&
                                        src_lang.max().item<int64_t>() < num_langs),
              "lms_keys: source language indices must be in [0, ", num_langs, ")");
  if (mode == LmsMode::kLang) return {src_lang, src_lang};
  TORCH_CHECK(tgt_lang.defined() && tgt_lang.sizes() == src_lang.sizes(),
              "lms_keys: pair mode needs tgt_lang of shape ", src_lang.sizes());
  TORCH_CHECK(tgt_lang.numel() == 0 || (tgt_lang.min().item<int64_t>() >= 0 &&
                                        tgt_lang.max().item<int64_t>() < num_langs),
              "lms_keys: target language indices must be in [0, ", num_langs, ")");
  return {src_lang, tgt_lang};
}

LmsLinearImpl::LmsLinearImpl(LmsLinearOptions options_) : options(std::move(options_)) { reset(); }

void LmsLinearImpl::reset() {
  const auto& o = options;
  TORCH_CHECK(o.in_features() > 0 && o.out_features() > 0, "LmsLinear: features must be > 0");
  TORCH_CHECK(o.num_langs() >= 0, "LmsLinear: num_langs must be >= 0, got ", o.num_langs());
  // torch::nn::Linear's parameters and initialisation (same RNG draws, same names).
  weight = register_parameter("weight", torch::empty({o.out_features(), o.in_features()}));
  bias = register_parameter("bias", torch::empty({o.out_features()}));
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
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

torch::Tensor LmsLinearImpl::forward(const torch::Tensor& x, const LmsKeys& keys) {
  auto y = torch::nn::functional::linear(x, weight, bias);  // [B, ..., d_out]
  if (!has_banks() || !keys.defined()) return y;
  const int64_t B = x.size(0);
  TORCH_CHECK(keys.v.dim() == 1 && keys.v.size(0) == B && keys.f.sizes() == keys.v.sizes(),
              "LmsLinear: expected keys [", B, "] (one per sentence), got ", keys.v.sizes());
  auto f = lms_f.index_select(0, keys.f);                           // [B, r, d_in]
  auto v = lms_v.index_select(0, keys.v);                           // [B, d_out, r]
  auto x3 = x.reshape({B, -1, options.in_features()});              // [B, T, d_in]
  auto h = torch::bmm(x3, f.transpose(1, 2));                       // [B, T, r]
  auto delta = torch::bmm(h, v.transpose(1, 2));                    // [B, T, d_out]
  return y + delta.view(y.sizes());
}

torch::Tensor LmsLinearImpl::merged_weight(int64_t slot) const {
  if (!has_banks()) return weight;
  TORCH_CHECK(slot >= 0 && slot <= options.num_langs(), "LmsLinear: slot must be in [0, ",
              options.num_langs(), "], got ", slot);
  return weight + torch::mm(lms_v[slot], lms_f[slot]);  // [d_out, d_in]
}

}  // namespace strata::nmt
