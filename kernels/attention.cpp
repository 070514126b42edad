#include "kernels/attention.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include "kernels/cpu_dispatch.h"
#include "kernels/dot.h"

#include <cmath>
#include <limits>
#include <vector>

namespace strata::kernels {

namespace {
// y += p·x over n floats (GCC vectorises it; the dot product is kernels/dot.h's).
STRATA_CLONES void axpy(float p, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += p * x[i];
}
}  // namespace

namespace {
// ctx[r, h] = Σ_s softmax_s(scale · q[r,h]·K(r,h,s)) · V(r,h,s) for s < S, masked(r, s) excluded.
template <class KeyPtr, class ValuePtr, class Masked>
void attend(const float* qp, int64_t R, int64_t H, int64_t S, int64_t D, float sc, KeyPtr key,
            ValuePtr value, Masked masked, float* cp) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  static const DotFn dot = pick_dot();  // kernels/dot.h
  at::parallel_for(0, R * H, parallel_grain(2 * S * D), [&](int64_t lo, int64_t hi) {
    std::vector<float> w(S);
    for (int64_t rh = lo; rh < hi; ++rh) {
      const int64_t r = rh / H, h = rh % H;
      const float* qr = qp + rh * D;
      float* out = cp + rh * D;
      float mx = kNegInf;
      for (int64_t s = 0; s < S; ++s) {
        w[s] = masked(r, s) ? kNegInf : sc * dot(qr, key(r, h, s), D);
        mx = std::max(mx, w[s]);
      }
      if (mx == kNegInf) {  // every key masked: NaN, as softmax over -inf gives
        for (int64_t d = 0; d < D; ++d) out[d] = std::numeric_limits<float>::quiet_NaN();
        continue;
      }
      float sum = 0;
      for (int64_t s = 0; s < S; ++s) sum += (w[s] = std::exp(w[s] - mx));
      const float inv = 1.f / sum;
      for (int64_t s = 0; s < S; ++s)
        if (w[s] != 0.f) axpy(w[s] * inv, value(r, h, s), out, D);
    }
  });
}
}  // namespace

torch::Tensor attention_one_query(const torch::Tensor& q, const torch::Tensor& k,
                                  const torch::Tensor& v, const torch::Tensor& key_pad,
                                  double scale) {
  RECORD_FUNCTION("strata::attention_one_query", std::vector<c10::IValue>());
  TORCH_CHECK(q.dim() == 3 && k.dim() == 4 && v.sizes() == k.sizes() && k.size(0) > 0 &&
                  q.size(0) % k.size(0) == 0 && q.size(1) == k.size(1) && q.size(2) == k.size(3),
              "attention_one_query: expected q [B, H, dh] and k, v [B, H, S, dh], got ", q.sizes(),
              ", ", k.sizes(), ", ", v.sizes());
  TORCH_CHECK(q.scalar_type() == torch::kFloat && k.scalar_type() == torch::kFloat &&
                  v.scalar_type() == torch::kFloat && q.is_cpu() && k.is_cpu() && v.is_cpu(),
              "attention_one_query: expected f32 CPU tensors");
  const int64_t B = k.size(0), H = k.size(1), S = k.size(2), D = k.size(3);
  const int64_t R = q.size(0), G = R / B;  // query rows, query rows per key row
  TORCH_CHECK(!key_pad.defined() || (key_pad.dim() == 2 && key_pad.size(0) == B &&
                                     key_pad.size(1) == S && key_pad.scalar_type() == torch::kBool),
              "attention_one_query: expected key_pad [", B, ", ", S, "] bool");
  auto qc = q.contiguous();
  auto kc = k.stride(3) == 1 ? k : k.contiguous();
  auto vc = v.stride(3) == 1 ? v : v.contiguous();
  auto pad = key_pad.defined() ? key_pad.contiguous() : torch::Tensor();
  auto ctx = torch::empty({R, H, D}, torch::kFloat).zero_();
  const float* kp = kc.data_ptr<float>();
  const float* vp = vc.data_ptr<float>();
  const bool* mp = pad.defined() ? pad.data_ptr<bool>() : nullptr;
  const int64_t ks0 = kc.stride(0), ks1 = kc.stride(1), ks2 = kc.stride(2);
  const int64_t vs0 = vc.stride(0), vs1 = vc.stride(1), vs2 = vc.stride(2);
  attend(qc.data_ptr<float>(), R, H, S, D, static_cast<float>(scale),
         [&](int64_t r, int64_t h, int64_t s) { return kp + (r / G) * ks0 + h * ks1 + s * ks2; },
         [&](int64_t r, int64_t h, int64_t s) { return vp + (r / G) * vs0 + h * vs1 + s * vs2; },
         [&](int64_t r, int64_t s) { return mp && mp[(r / G) * S + s]; }, ctx.data_ptr<float>());
  return ctx;
}

torch::Tensor attention_one_query_steps(const torch::Tensor& q, const torch::Tensor& steps_k,
                                        const torch::Tensor& steps_v, const torch::Tensor& rows,
                                        double scale) {
  RECORD_FUNCTION("strata::attention_one_query_steps", std::vector<c10::IValue>());
  TORCH_CHECK(q.dim() == 3 && steps_k.dim() == 4 && steps_v.sizes() == steps_k.sizes() &&
                  rows.dim() == 2 && rows.size(0) == q.size(0) && rows.size(1) <= steps_k.size(0) &&
                  q.size(1) == steps_k.size(2) && q.size(2) == steps_k.size(3) &&
                  rows.scalar_type() == torch::kLong,
              "attention_one_query_steps: expected q [B, H, dh], steps [cap, R, H, dh], rows [B, t] "
              "i64, got ", q.sizes(), ", ", steps_k.sizes(), ", ", rows.sizes());
  TORCH_CHECK(q.scalar_type() == torch::kFloat && steps_k.scalar_type() == torch::kFloat &&
                  steps_v.scalar_type() == torch::kFloat && q.is_cpu() && steps_k.is_cpu(),
              "attention_one_query_steps: expected f32 CPU tensors");
  const int64_t B = q.size(0), H = q.size(1), D = q.size(2), S = rows.size(1);
  TORCH_CHECK(rows.numel() == 0 || (rows.min().item<int64_t>() >= 0 &&
                                    rows.max().item<int64_t>() < steps_k.size(1)),
              "attention_one_query_steps: rows must be in [0, ", steps_k.size(1), ")");
  auto qc = q.contiguous();
  auto kc = steps_k.stride(3) == 1 ? steps_k : steps_k.contiguous();
  auto vc = steps_v.stride(3) == 1 ? steps_v : steps_v.contiguous();
  auto rc = rows.contiguous();
  auto ctx = torch::empty({B, H, D}, torch::kFloat).zero_();
  const float* kp = kc.data_ptr<float>();
  const float* vp = vc.data_ptr<float>();
  const int64_t* rp = rc.data_ptr<int64_t>();
  const int64_t ks0 = kc.stride(0), ks1 = kc.stride(1), ks2 = kc.stride(2);
  const int64_t vs0 = vc.stride(0), vs1 = vc.stride(1), vs2 = vc.stride(2);
  attend(qc.data_ptr<float>(), B, H, S, D, static_cast<float>(scale),
         [&](int64_t r, int64_t h, int64_t s) { return kp + s * ks0 + rp[r * S + s] * ks1 + h * ks2; },
         [&](int64_t r, int64_t h, int64_t s) { return vp + s * vs0 + rp[r * S + s] * vs1 + h * vs2; },
         [](int64_t, int64_t) { return false; }, ctx.data_ptr<float>());
  return ctx;
}

}  // namespace strata::kernels
