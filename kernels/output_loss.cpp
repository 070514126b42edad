#include "kernels/output_loss.h"

#include <algorithm>
#include <cstdlib>

#include "kernels/bf16_matmul.h"
#include "kernels/linear.h"

namespace strata::kernels {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Rows per chunk: about 2^21 logits (8 MB f32; 262 rows at V = 8000). Measured on the quickstart
// shape (bench_train, 2 threads): 65, 128, 256 and 768 rows gave 9.2, 9.9, 10.8 and 9.2k tok/s —
// smaller chunks starve the weight-gradient product (K = rows), larger ones leave the cache.
// STRATA_LOSS_CHUNK_ROWS overrides.
// On a GPU the cache argument does not hold and each chunk costs a dozen kernel launches: about
// 2^25 logits (128 MB f32) per chunk there.
int64_t default_chunk_rows(int64_t V, bool gpu) {
  static const int64_t env = [] {
    const char* s = std::getenv("STRATA_LOSS_CHUNK_ROWS");
    return s ? std::atoll(s) : 0;
  }();
  if (env > 0) return env;
  return std::max<int64_t>(32, (int64_t{1} << (gpu ? 25 : 21)) / std::max<int64_t>(V, 1));
}

struct FusedOutputLoss : public torch::autograd::Function<FusedOutputLoss> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& hidden,
                               const torch::Tensor& weight, const torch::Tensor& target,
                               double epsilon, int64_t pad, int64_t chunk_rows, bool grad_h,
                               bool grad_w) {
    const int64_t N = hidden.size(0), V = weight.size(0);
    const double eps_i = V > 1 ? epsilon / (V - 1) : 0.0;
    const double w_nll = 1.0 - epsilon - eps_i;
    const int64_t rows = chunk_rows > 0 ? chunk_rows : default_chunk_rows(V, hidden.is_cuda());
    // CPU bf16: oneDNN products with fp32 results (bf16_matmul.h), the weight's bf16 copy shared
    // with the other products of this update; elsewhere LibTorch's products in the precision.
    const bool own = compute_precision() == Precision::kBf16 && hidden.is_cpu();
    auto w = own ? bf16_weight(weight) : to_compute(weight);  // [V, d] bf16 or f32, cast once
    const auto f64 = hidden.options().dtype(torch::kDouble);
    auto loss = torch::zeros({}, f64), nll = torch::zeros({}, f64);
    torch::Tensor dh = grad_h ? torch::empty_like(hidden) : torch::Tensor();     // [N, d] f32
    torch::Tensor dw = grad_w ? torch::zeros_like(weight) : torch::Tensor();     // [V, d] f32
    for (int64_t r0 = 0; r0 < N; r0 += rows) {
      const int64_t r1 = std::min(N, r0 + rows);
      auto h = own ? hidden.slice(0, r0, r1).to(torch::kBFloat16)
                   : to_compute(hidden.slice(0, r0, r1));  // [c, d]
      auto t = target.slice(0, r0, r1);                 // [c] i64
      auto keep = t.ne(pad).to(torch::kFloat);          // [c]
      auto z = own ? bf16_matmul(h, w.t()) : torch::mm(h, w.t()).to(torch::kFloat);  // [c, V] f32 logits
      // One exp pass serves the log-sum-exp and the softmax (at::logsumexp would make its own).
      auto z_t = z.gather(1, t.unsqueeze(1)).squeeze(1);  // [c]
      auto z_sum = z.sum(1);                              // [c]
      auto z_max = z.amax(1);                             // [c]
      auto e = z.sub_(z_max.unsqueeze(1)).exp_();         // [c, V] exp(z − max), in place
      auto e_sum = e.sum(1);                              // [c]
      auto lse = z_max + e_sum.log();                     // [c]
      auto nll_c = lse - z_t;                             // [c]
      auto smooth_c = lse * static_cast<double>(V) - z_sum;  // [c]
      auto loss_c = nll_c * w_nll + smooth_c * eps_i;
      loss += (loss_c * keep).sum().to(torch::kDouble);
      nll += (nll_c * keep).sum().to(torch::kDouble);
      if (!grad_h && !grad_w) continue;
      // g = keep·(p − ε' − (1 − ε − ε')·onehot(t)), p = e / e_sum.
      auto g = e.mul_((keep / e_sum).unsqueeze(1)).sub_((keep * eps_i).unsqueeze(1));  // [c, V]
      g.scatter_add_(1, t.unsqueeze(1), (keep * -w_nll).unsqueeze(1));
      auto gc = own ? g.to(torch::kBFloat16) : to_compute(g);
      if (own) {
        if (grad_h) {
          auto dh_c = dh.slice(0, r0, r1);
          bf16_matmul_out(dh_c, gc, w, /*accumulate=*/false);  // [c, d]
        }
        if (grad_w) bf16_matmul_out(dw, gc.t(), h, /*accumulate=*/true);  // [V, d] += gᵀ·h
      } else if (gc.scalar_type() == torch::kFloat) {  // fp32: straight into the gradients
        if (grad_h) {
          auto dh_c = dh.slice(0, r0, r1);
          torch::mm_out(dh_c, gc, w);           // [c, d]
        }
        if (grad_w) dw.addmm_(gc.t(), h);       // [V, d] += gᵀ·h
      } else {
        if (grad_h) dh.slice(0, r0, r1).copy_(torch::mm(gc, w));
        if (grad_w) dw.add_(torch::mm(gc.t(), h).to(torch::kFloat));
      }
    }
    ctx->save_for_backward({grad_h ? dh : torch::Tensor(), grad_w ? dw : torch::Tensor()});
    auto loss32 = loss.to(torch::kFloat), nll32 = nll.to(torch::kFloat);
    ctx->mark_non_differentiable({nll32});
    return {loss32, nll32};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& g = grads[0];  // scalar: d(final)/d(loss)
    torch::Tensor dh = saved[0].defined() ? saved[0] * g : torch::Tensor();
    torch::Tensor dw = saved[1].defined() ? saved[1] * g : torch::Tensor();
    return {dh, dw, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(),
            torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

OutputLoss output_layer_loss(const torch::Tensor& hidden, const torch::Tensor& weight,
                             const torch::Tensor& target, double epsilon, int64_t pad,
                             int64_t chunk_rows) {
  TORCH_CHECK(hidden.dim() == 2 && weight.dim() == 2 && target.dim() == 1 &&
                  hidden.size(0) == target.size(0) && hidden.size(1) == weight.size(1),
              "output_layer_loss: expected hidden [N, d], weight [V, d] and target [N], got ",
              hidden.sizes(), ", ", weight.sizes(), " and ", target.sizes());
  TORCH_CHECK(hidden.scalar_type() == torch::kFloat && weight.scalar_type() == torch::kFloat,
              "output_layer_loss: hidden and weight must be f32");
  // Which gradients to make during the forward pass (AutogradContext::needs_input_grad fails in
  // LibTorch 1.13 when no input requires a gradient).
  const bool grad = torch::GradMode::is_enabled();
  auto out = FusedOutputLoss::apply(hidden, weight, target, epsilon, pad, chunk_rows,
                                    grad && hidden.requires_grad(), grad && weight.requires_grad());
  return {out[0], out[1]};
}

}  // namespace strata::kernels
