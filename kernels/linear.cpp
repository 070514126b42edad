#include "kernels/linear.h"

#include <cmath>
#include <limits>

#include "kernels/bf16_matmul.h"
#include "kernels/precision.h"

namespace strata::kernels {

namespace {
bool lowered(const torch::Tensor& t) {
  return compute_precision() == Precision::kBf16 && t.defined() && (t.is_cpu() || t.is_cuda()) &&
         t.scalar_type() == torch::kFloat;
}
torch::Tensor to_f32(const torch::Tensor& t) {
  return t.scalar_type() == torch::kFloat ? t : t.to(torch::kFloat);
}
torch::Tensor to_bf16(const torch::Tensor& t) {
  return t.scalar_type() == torch::kBFloat16 ? t : t.to(torch::kBFloat16);
}
bool is_cpu_float(const torch::Tensor& t) {
  return t.is_cpu() && (t.scalar_type() == torch::kFloat || t.scalar_type() == torch::kBFloat16);
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// CPU, kBf16: y = x · wᵀ + b with the weight's bf16 copy made once per update (bf16_weight) and
// fp32 results straight from oneDNN; the backward pass converts the incoming gradient once and
// multiplies by the saved bf16 operands (transposed views, no copies).
struct Bf16Linear : public torch::autograd::Function<Bf16Linear> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w,
                               const torch::Tensor& b, bool has_b) {
    const int64_t N = w.size(0), K = w.size(1);
    auto x16 = to_bf16(x.reshape({-1, K}));
    auto w16 = bf16_weight(w);
    auto y = bf16_matmul(x16, w16.t(), has_b ? to_f32(b) : torch::Tensor());
    ctx->save_for_backward({x16, w16});
    ctx->saved_data["x_sizes"] = x.sizes().vec();
    auto sizes = x.sizes().vec();
    sizes.back() = N;
    return y.view(sizes);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& x16 = saved[0];
    const auto& w16 = saved[1];
    auto g = grads[0].reshape({-1, w16.size(0)});
    auto g16 = to_bf16(g);
    torch::Tensor gx, gw, gb;
    if (ctx->needs_input_grad(0))
      gx = bf16_matmul(g16, w16).view(ctx->saved_data["x_sizes"].toIntVector());
    if (ctx->needs_input_grad(1)) gw = bf16_matmul(g16.t(), x16);
    if (ctx->needs_input_grad(2)) gb = to_f32(g).sum(0);
    return {gx, gw, gb, torch::Tensor()};
  }
};

// CPU, kBf16: a [..., M, K] · b [..., K, N] (+ bias [N]) with bf16 operands (converted here when
// fp32) and an fp32 result; gradients as Bf16Linear's.
struct Bf16Matmul : public torch::autograd::Function<Bf16Matmul> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& a, const torch::Tensor& b,
                               const torch::Tensor& bias, bool has_bias) {
    auto a16 = to_bf16(a), b16 = to_bf16(b);
    ctx->save_for_backward({a16, b16});
    return bf16_matmul(a16, b16, has_bias ? to_f32(bias) : torch::Tensor());
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& a16 = saved[0];
    const auto& b16 = saved[1];
    auto g16 = to_bf16(grads[0]);
    torch::Tensor ga, gb, gbias;
    if (ctx->needs_input_grad(0)) ga = bf16_matmul(g16, b16.transpose(-2, -1));
    if (ctx->needs_input_grad(1)) gb = bf16_matmul(a16.transpose(-2, -1), g16);
    if (ctx->needs_input_grad(2)) gbias = to_f32(grads[0]).reshape({-1, grads[0].size(-1)}).sum(0);
    return {ga, gb, gbias, torch::Tensor()};
  }
};

// LibTorch 1.13's custom Functions take no undefined tensors: an empty one stands for "none".
torch::Tensor no_tensor() { return torch::empty({0}); }

// The oneDNN path applies: kBf16, CPU operands (fp32 or bf16).
bool own_bf16(const torch::Tensor& a, const torch::Tensor& b) {
  return compute_precision() == Precision::kBf16 && is_cpu_float(a) && is_cpu_float(b);
}
}  // namespace

torch::Tensor to_compute(const torch::Tensor& t) {
  return lowered(t) ? t.to(torch::kBFloat16) : t;
}

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  if (compute_precision() != Precision::kBf16)
    return torch::nn::functional::linear(x, w, b);
  if (own_bf16(x, w) && w.dim() == 2 && x.dim() >= 1 && x.size(-1) == w.size(1) &&
      (!b.defined() || (b.is_cpu() && b.dim() == 1 && b.size(0) == w.size(0))))
    return Bf16Linear::apply(x, w, b.defined() ? b : no_tensor(), b.defined());
  return to_f32(torch::nn::functional::linear(to_compute(x), to_compute(w), to_compute(b)));
}

torch::Tensor addmm(const torch::Tensor& bias, const torch::Tensor& x, const torch::Tensor& w) {
  if (compute_precision() != Precision::kBf16) return torch::addmm(bias, x, w);
  if (own_bf16(x, w) && x.dim() == 2 && w.dim() == 2 && x.size(1) == w.size(0) && bias.defined() &&
      bias.is_cpu() && bias.dim() == 1 && bias.size(0) == w.size(1))
    return Bf16Matmul::apply(x, w, bias, true);
  return to_f32(torch::addmm(to_compute(bias), to_compute(x), to_compute(w)));
}

torch::Tensor matmul(const torch::Tensor& a, const torch::Tensor& b) {
  if (compute_precision() != Precision::kBf16) return torch::matmul(a, b);
  if (own_bf16(a, b) && a.dim() >= 2 && a.dim() <= 5 && a.size(-1) == b.size(-2)) {
    if (a.dim() == b.dim() && a.sizes().slice(0, a.dim() - 2) == b.sizes().slice(0, b.dim() - 2))
      return Bf16Matmul::apply(a, b, no_tensor(), false);
    if (b.dim() == 2) {  // [..., M, K] · [K, N]: one product over the flattened rows
      auto sizes = a.sizes().vec();
      sizes.back() = b.size(1);
      return Bf16Matmul::apply(a.reshape({-1, a.size(-1)}), b, no_tensor(), false).view(sizes);
    }
  }
  return to_f32(torch::matmul(to_compute(a), to_compute(b)));
}

bool use_packed(const PackedWeight& packed, const torch::Tensor& source) {
  return packed.defined() && packed.format() == compute_weight_format() &&
         !torch::GradMode::is_enabled() && packed.made_from(source);
}

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                     const PackedWeight& packed) {
  if (use_packed(packed, w)) return packed.linear(x, b);
  check_not_released({&w});
  return linear(x, w, b);
}

Int8Weight int8_form(const torch::Tensor& weight, const PackedWeight& stored) {
  if (stored.defined() && stored.format() == WeightFormat::kInt8 && stored.made_from(weight))
    return {stored.data(), stored.scale()};
  TORCH_CHECK(!is_released(weight), "int8 weights: a released weight has no other form");
  auto [q, s] = quantize_rows(weight.detach().to(torch::kFloat).contiguous());
  return {q, s};
}

namespace {
thread_local int deferred_storage = -1;  // the innermost DeferredStorage's Deferred, or -1
}

DeferredStorage::DeferredStorage(Deferred what) : previous_(deferred_storage) {
  deferred_storage = static_cast<int>(what);
}
DeferredStorage::~DeferredStorage() { deferred_storage = previous_; }
bool DeferredStorage::defers(Deferred what) { return deferred_storage == static_cast<int>(what); }

torch::Tensor released_placeholder(torch::IntArrayRef sizes) {
  return torch::full({}, std::numeric_limits<float>::quiet_NaN()).expand(sizes);
}

void check_not_released(std::initializer_list<const torch::Tensor*> weights) {
  for (const auto* w : weights)
    TORCH_CHECK(!is_released(*w), "this model's weights were loaded as int8 only: it runs in the int8 compute "
                "types, without gradients");
}

bool is_released(const torch::Tensor& t) {
  if (!t.defined() || t.dim() == 0 || t.numel() == 0 || !t.is_cpu() || t.scalar_type() != torch::kFloat) return false;
  for (int64_t s : t.strides())
    if (s != 0) return false;
  return std::isnan(t.data_ptr<float>()[0]);
}

PackedWeight restore_int8(torch::Tensor& param, const std::string& name, const Int8Weight& w, bool release) {
  TORCH_CHECK(param.dim() == 2 && w.q.defined() && w.scale.defined() && w.q.sizes() == param.sizes() &&
                  w.scale.dim() == 1 && w.scale.size(0) == param.size(0),
              "int8 weight '", name, "': q ", w.q.defined() ? w.q.sizes() : torch::IntArrayRef{}, " and scale ",
              w.scale.defined() ? w.scale.sizes() : torch::IntArrayRef{}, " for a weight ", param.sizes());
  PackedWeight p = PackedWeight::from_int8(w.q, w.scale);
  torch::NoGradGuard no_grad;
  if (release)
    param.set_data(released_placeholder(param.sizes()));
  else
    param.set_data(p.dequantized());
  return p.from(param);
}

void pack_weights(torch::nn::Module& root, ComputeType t) {
  WeightFormat f = weight_format(t);
  const auto params = root.parameters();
  if (!params.empty() && !params[0].is_cpu()) {
    // GPU: bfloat16 runs as LibTorch's own bf16 products (Precision::kBf16); int8 is CPU only.
    TORCH_CHECK(f != WeightFormat::kInt8,
                "the int8 compute types run on CPU only (oneDNN); on this device use float32 or bfloat16");
    f = WeightFormat::kNone;
  }
  torch::NoGradGuard no_grad;
  if (auto* p = dynamic_cast<PackableModule*>(&root)) p->pack_weights(f);
  for (const auto& m : root.modules(/*include_self=*/false))
    if (auto* p = dynamic_cast<PackableModule*>(m.get())) p->pack_weights(f);
}

}  // namespace strata::kernels
