#include "kernels/linear.h"

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
}  // namespace

torch::Tensor to_compute(const torch::Tensor& t) {
  return lowered(t) ? t.to(torch::kBFloat16) : t;
}

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  if (compute_precision() != Precision::kBf16)
    return torch::nn::functional::linear(x, w, b);
  return to_f32(torch::nn::functional::linear(to_compute(x), to_compute(w), to_compute(b)));
}

torch::Tensor addmm(const torch::Tensor& bias, const torch::Tensor& x, const torch::Tensor& w) {
  if (compute_precision() != Precision::kBf16) return torch::addmm(bias, x, w);
  return to_f32(torch::addmm(to_compute(bias), to_compute(x), to_compute(w)));
}

torch::Tensor matmul(const torch::Tensor& a, const torch::Tensor& b) {
  if (compute_precision() != Precision::kBf16) return torch::matmul(a, b);
  return to_f32(torch::matmul(to_compute(a), to_compute(b)));
}

bool use_packed(const PackedWeight& packed, const torch::Tensor& source) {
  return packed.defined() && packed.format() == compute_weight_format() &&
         !torch::GradMode::is_enabled() && packed.made_from(source);
}

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                     const PackedWeight& packed) {
  if (use_packed(packed, w)) return packed.linear(x, b);
  return linear(x, w, b);
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
