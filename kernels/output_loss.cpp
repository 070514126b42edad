#include "kernels/output_loss.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "kernels/bf16_matmul.h"
#include "kernels/linear.h"
#include "kernels/loss_rows.h"
#include "kernels/cpu_dispatch.h"

namespace strata::kernels {

bool& loss_rows_kernel_enabled() {
  static bool on = [] {
    const char* s = std::getenv("STRATA_LOSS_ROWS_KERNEL");
    return !(s && std::string(s) == "0");
  }();
  return on;
}

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

// The products of one chunk in the thread's precision. CPU bf16: oneDNN products with fp32
// results (bf16_matmul.h), the weight's bf16 copy shared with the other products of this update;
// elsewhere LibTorch's products in the precision.
struct ChunkProducts {
  bool own;
  torch::Tensor w;  // [V, d] bf16 or the compute dtype, cast once

  explicit ChunkProducts(const torch::Tensor& weight, bool cpu)
      : own(compute_precision() == Precision::kBf16 && cpu),
        w(own ? bf16_weight(weight) : to_compute(weight)) {}

  // A chunk of hidden rows (or of logit gradients) in the products' dtype.
  torch::Tensor operand(const torch::Tensor& x) const {
    return own ? x.to(torch::kBFloat16) : to_compute(x);
  }
  // h [c, d] (operand()) -> logits [c, V] f32.
  torch::Tensor logits(const torch::Tensor& h) const {
    return own ? bf16_matmul(h, w.t()) : torch::mm(h, w.t()).to(torch::kFloat);
  }
  // g [c, V] f32 logit gradients of rows h [c, d] (operand()): dh_c = g·w (when defined),
  // dw += gᵀ·h (when defined).
  void backward(const torch::Tensor& g, const torch::Tensor& h, torch::Tensor dh_c,
                torch::Tensor dw) const {
    auto gc = operand(g);
    if (own) {
      if (dh_c.defined()) bf16_matmul_out(dh_c, gc, w, /*accumulate=*/false);  // [c, d]
      if (dw.defined()) bf16_matmul_out(dw, gc.t(), h, /*accumulate=*/true);   // [V, d] += gᵀ·h
    } else if (gc.scalar_type() == torch::kFloat) {  // fp32: straight into the gradients
      if (dh_c.defined()) torch::mm_out(dh_c, gc, w);  // [c, d]
      if (dw.defined()) dw.addmm_(gc.t(), h);          // [V, d] += gᵀ·h
    } else {
      if (dh_c.defined()) dh_c.copy_(torch::mm(gc, w));
      if (dw.defined()) dw.add_(torch::mm(gc.t(), h).to(torch::kFloat));
    }
  }
};

struct FusedOutputLoss : public torch::autograd::Function<FusedOutputLoss> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& hidden,
                               const torch::Tensor& weight, const torch::Tensor& target,
                               double epsilon, int64_t pad, int64_t chunk_rows, bool grad_h,
                               bool grad_w) {
    const int64_t N = hidden.size(0), V = weight.size(0);
    const double eps_i = V > 1 ? epsilon / (V - 1) : 0.0;
    const double w_nll = 1.0 - epsilon - eps_i;
    const int64_t rows = chunk_rows > 0 ? chunk_rows : default_chunk_rows(V, hidden.is_cuda());
    const ChunkProducts mm(weight, hidden.is_cpu());
    const bool rows_kernel = hidden.is_cpu() && loss_rows_kernel_enabled() &&
                             smoothed_ce_rows_available();
    // The gradient straight in the products' dtype where the kernel can write it.
    const auto grad_dtype =
        mm.own && cpu_has_avx512_bf16() ? torch::kBFloat16 : torch::kFloat;
    const auto f64 = hidden.options().dtype(torch::kDouble);
    auto loss = torch::zeros({}, f64), nll = torch::zeros({}, f64);
    torch::Tensor dh = grad_h ? torch::empty_like(hidden) : torch::Tensor();     // [N, d] f32
    torch::Tensor dw = grad_w ? torch::zeros_like(weight) : torch::Tensor();     // [V, d] f32
    for (int64_t r0 = 0; r0 < N; r0 += rows) {
      const int64_t r1 = std::min(N, r0 + rows);
      auto h = mm.operand(hidden.slice(0, r0, r1));    // [c, d]
      auto t = target.slice(0, r0, r1);                 // [c] i64
      auto keep = t.ne(pad).to(torch::kFloat);          // [c]
      auto z = mm.logits(h);                            // [c, V] f32 logits
      if (rows_kernel) {  // the element work in one kernel (loss_rows.h)
        auto r = smoothed_ce_rows(z, t, keep, eps_i, w_nll, grad_h || grad_w, grad_dtype);
        loss += (r.loss * keep).sum().to(torch::kDouble);
        nll += (r.nll * keep).sum().to(torch::kDouble);
        if (grad_h || grad_w) mm.backward(r.grad, h, grad_h ? dh.slice(0, r0, r1) : torch::Tensor(), dw);
        continue;
      }
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
      mm.backward(g, h, grad_h ? dh.slice(0, r0, r1) : torch::Tensor(), dw);
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

// One pass's half of a chunk of Fuse Distillation: z [c, V] f32 logits (consumed) -> log p, p and
// the per-row label-smoothed CE and nll.
struct Side {
  torch::Tensor lp, p;   // [c, V]
  torch::Tensor ce, nll;  // [c]
};

Side softmax_side(torch::Tensor z, const torch::Tensor& t, int64_t V, double eps_i, double w_nll) {
  auto z_t = z.gather(1, t.unsqueeze(1)).squeeze(1);  // [c]
  auto z_sum = z.sum(1);                              // [c]
  auto z_max = z.amax(1);                             // [c]
  auto s = z.sub_(z_max.unsqueeze(1));                // [c, V] z − max, in place
  auto e = s.exp();                                   // [c, V]
  auto e_sum = e.sum(1);                              // [c]
  auto log_sum = e_sum.log();
  auto lse = z_max + log_sum;                         // [c]
  Side out;
  out.nll = lse - z_t;
  out.ce = out.nll * w_nll + (lse * static_cast<double>(V) - z_sum) * eps_i;
  out.lp = s.sub_(log_sum.unsqueeze(1));              // log p, in place
  out.p = e.div_(e_sum.unsqueeze(1));                 // p, in place
  return out;
}

struct FusedFdLoss : public torch::autograd::Function<FusedFdLoss> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& hidden_a,
                               const torch::Tensor& hidden_b, const torch::Tensor& weight,
                               const torch::Tensor& target, double epsilon, double lambda,
                               int64_t pad, int64_t chunk_rows, bool grad_a, bool grad_b,
                               bool grad_w) {
    const int64_t N = hidden_a.size(0), V = weight.size(0);
    const double eps_i = V > 1 ? epsilon / (V - 1) : 0.0;
    const double w_nll = 1.0 - epsilon - eps_i;
    const int64_t rows = chunk_rows > 0
                             ? chunk_rows
                             : std::max<int64_t>(16, default_chunk_rows(V, hidden_a.is_cuda()) / 2);
    const ChunkProducts mm(weight, hidden_a.is_cpu());
    const auto f64 = hidden_a.options().dtype(torch::kDouble);
    auto ce_a = torch::zeros({}, f64), ce_b = torch::zeros({}, f64);
    auto kl = torch::zeros({}, f64), nll_a = torch::zeros({}, f64);
    torch::Tensor da = grad_a ? torch::empty_like(hidden_a) : torch::Tensor();  // [N, d] f32
    torch::Tensor db = grad_b ? torch::empty_like(hidden_b) : torch::Tensor();  // [N, d] f32
    torch::Tensor dw = grad_w ? torch::zeros_like(weight) : torch::Tensor();    // [V, d] f32
    const bool any_grad = grad_a || grad_b || grad_w;
    for (int64_t r0 = 0; r0 < N; r0 += rows) {
      const int64_t r1 = std::min(N, r0 + rows);
      auto ha = mm.operand(hidden_a.slice(0, r0, r1));  // [c, d]
      auto hb = mm.operand(hidden_b.slice(0, r0, r1));  // [c, d]
      auto t = target.slice(0, r0, r1);                  // [c] i64
      auto keep = t.ne(pad).to(torch::kFloat);           // [c]
      Side a = softmax_side(mm.logits(ha), t, V, eps_i, w_nll);
      Side b = softmax_side(mm.logits(hb), t, V, eps_i, w_nll);
      auto diff = a.lp.sub_(b.lp);                      // [c, V] log p − log q, in place
      auto spa = (a.p * diff).sum(1), spb = (b.p * diff).sum(1);  // [c] Σ p·a, Σ q·a
      auto kl_c = (spa - spb) * 0.5;                     // [c]
      ce_a += (a.ce * keep).sum().to(torch::kDouble);
      ce_b += (b.ce * keep).sum().to(torch::kDouble);
      kl += (kl_c * keep).sum().to(torch::kDouble);
      nll_a += (a.nll * keep).sum().to(torch::kDouble);
      if (!any_grad) continue;
      const double h = 0.5, hl = 0.5 * lambda;
      auto row = [&](const torch::Tensor& x) { return x.unsqueeze(1); };
      // g_a = keep·(p·(½ + ½λ(a − Σ p a)) + ½λ(p − q) − ½ε' − ½(1 − ε − ε')·onehot); g_b alike.
      auto ga = (diff - row(spa)).mul_(hl).add_(h).mul_(a.p).add_(a.p, hl).sub_(b.p, hl);
      ga.sub_(h * eps_i).mul_(row(keep)).scatter_add_(1, t.unsqueeze(1), row(keep * (-h * w_nll)));
      auto gb = diff.sub_(row(spb)).mul_(-hl).add_(h).mul_(b.p).add_(b.p, hl).sub_(a.p, hl);
      gb.sub_(h * eps_i).mul_(row(keep)).scatter_add_(1, t.unsqueeze(1), row(keep * (-h * w_nll)));
      mm.backward(ga, ha, grad_a ? da.slice(0, r0, r1) : torch::Tensor(), dw);
      mm.backward(gb, hb, grad_b ? db.slice(0, r0, r1) : torch::Tensor(), dw);
    }
    ctx->save_for_backward({grad_a ? da : torch::Tensor(), grad_b ? db : torch::Tensor(),
                            grad_w ? dw : torch::Tensor()});
    auto loss = ((ce_a + ce_b) * 0.5 + kl * lambda).to(torch::kFloat);
    variable_list parts{ce_a.to(torch::kFloat), ce_b.to(torch::kFloat), kl.to(torch::kFloat),
                        nll_a.to(torch::kFloat)};
    ctx->mark_non_differentiable(parts);
    return {loss, parts[0], parts[1], parts[2], parts[3]};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& g = grads[0];  // scalar: d(final)/d(loss)
    variable_list out(11);
    for (int i = 0; i < 3; ++i)
      if (saved[i].defined()) out[i] = saved[i] * g;
    return out;
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

OutputFdLoss output_layer_fd_loss(const torch::Tensor& hidden_a, const torch::Tensor& hidden_b,
                                  const torch::Tensor& weight, const torch::Tensor& target,
                                  double epsilon, double kl_weight, int64_t pad,
                                  int64_t chunk_rows) {
  TORCH_CHECK(hidden_a.dim() == 2 && hidden_b.sizes() == hidden_a.sizes() && weight.dim() == 2 &&
                  target.dim() == 1 && hidden_a.size(0) == target.size(0) &&
                  hidden_a.size(1) == weight.size(1),
              "output_layer_fd_loss: expected hidden_a, hidden_b [N, d], weight [V, d] and target "
              "[N], got ", hidden_a.sizes(), ", ", hidden_b.sizes(), ", ", weight.sizes(), " and ",
              target.sizes());
  TORCH_CHECK(hidden_a.scalar_type() == torch::kFloat && hidden_b.scalar_type() == torch::kFloat &&
                  weight.scalar_type() == torch::kFloat,
              "output_layer_fd_loss: hidden_a, hidden_b and weight must be f32");
  const bool grad = torch::GradMode::is_enabled();
  auto out = FusedFdLoss::apply(hidden_a, hidden_b, weight, target, epsilon, kl_weight, pad,
                                chunk_rows, grad && hidden_a.requires_grad(),
                                grad && hidden_b.requires_grad(), grad && weight.requires_grad());
  return {out[0], out[1], out[2], out[3], out[4]};
}

}  // namespace strata::kernels
