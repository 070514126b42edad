#include "kernels/narrow_linear.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include "kernels/cpu_dispatch.h"
#include "kernels/dot.h"

namespace strata::kernels {

torch::Tensor narrow_linear(const torch::Tensor& x, const torch::Tensor& w) {
  RECORD_FUNCTION("strata::narrow_linear", std::vector<c10::IValue>());
  TORCH_CHECK(x.dim() >= 1 && w.dim() == 2 && x.size(-1) == w.size(1),
              "narrow_linear: expected x [..., K] and w [E, K], got ", x.sizes(), " and ", w.sizes());
  TORCH_CHECK(x.scalar_type() == torch::kFloat && w.scalar_type() == torch::kFloat && x.is_cpu() && w.is_cpu(),
              "narrow_linear: expected f32 CPU tensors");
  const int64_t K = w.size(1), E = w.size(0);
  auto x2 = x.reshape({-1, x.size(-1)}).contiguous();
  auto wc = w.contiguous();
  const int64_t N = x2.size(0);
  auto out_sizes = x.sizes().vec();
  out_sizes.back() = E;
  auto y = torch::empty({N, E}, torch::kFloat);
  static const DotFn dot = pick_dot();
  const float* xp = x2.data_ptr<float>();
  const float* wp = wc.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  at::parallel_for(0, N, parallel_grain(2 * K * E), [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n)
      for (int64_t e = 0; e < E; ++e) yp[n * E + e] = dot(xp + n * K, wp + e * K, K);
  });
  return y.view(out_sizes);
}

}  // namespace strata::kernels
