#pragma once
// The output layer and the label-smoothed cross-entropy fused (the training loss of an NMT
// decoder with V output pieces): logits = hidden · weightᵀ are made a chunk of rows at a time and
// never held whole, nor is their [N, V] gradient. The gradient is computed during the forward
// pass, chunk by chunk, from the softmax the loss needs anyway (the loss is a sum, so the
// backward only scales it), which saves the recomputation a checkpointed loss would need.
//
//   auto out = kernels::output_layer_loss(states, embed->weight, target, 0.1, /*pad=*/0);
//   (out.loss / tokens).backward();     // gradients into states and embed->weight
//
// Loss per row i with target t (fairseq's label_smoothed_nll_loss, ε spread over V−1 classes):
//   nll_i = lse_i − z_it,  loss_i = (1 − ε − ε')·nll_i + ε'·Σ_v (lse_i − z_iv),  ε' = ε/(V−1)
//   ∂loss_i/∂z_iv = p_iv − ε' − (1 − ε − ε')·[v = t]         (the three weights sum to 1)
// Rows whose target is `pad` count zero. Products run in the thread's precision (precision.h);
// the softmax and the sums are fp32.
#include <torch/torch.h>

namespace strata::kernels {

// Whether the single-pass loss does its element work in kernels/loss_rows.h's kernel where the CPU
// runs it (default; STRATA_LOSS_ROWS_KERNEL=0 or false here: the LibTorch composition, kept as the
// other CPUs' path and the tests' second implementation).
bool& loss_rows_kernel_enabled();

struct OutputLoss {
  torch::Tensor loss;  // scalar f32: Σ over non-pad rows of the smoothed loss (differentiable)
  torch::Tensor nll;   // scalar f32: Σ over non-pad rows of −log p(target) (no gradient)
};

// hidden [N, d] f32, weight [V, d] f32, target [N] i64. chunk_rows: rows per chunk (0: about
// 2^21 logits per chunk). Gradients flow to hidden and weight when they require them.
OutputLoss output_layer_loss(const torch::Tensor& hidden, const torch::Tensor& weight,
                             const torch::Tensor& target, double epsilon, int64_t pad,
                             int64_t chunk_rows = 0);

// Fuse Distillation's loss (Xu et al. 2023; nmt/train/objectives/fuse_distillation.h) from the
// decoder states of its two passes, a (language-specific) and b (shared), through one output
// layer, fused the same way: per non-pad row, with p, q the two softmaxes,
//   loss = ½·(CE_a + CE_b) + λ·KL,  KL = ½ Σ_v (p_v − q_v)(log p_v − log q_v)
// (CE: the label-smoothed loss above). With a = log p − log q:
//   ∂loss/∂z_a = ½(p − ε' − (1 − ε − ε')·onehot) + ½λ·(p·(a − Σ_v p_v a_v) + p − q)
//   ∂loss/∂z_b = ½(q − ε' − (1 − ε − ε')·onehot) + ½λ·(q·(Σ_v q_v a_v − a) + q − p)
struct OutputFdLoss {
  torch::Tensor loss;  // scalar f32: the loss above summed over non-pad rows (differentiable)
  torch::Tensor ce_a, ce_b, kl, nll_a;  // scalars f32, the same sums of each part (no gradient)
};

// hidden_a, hidden_b [N, d] f32, weight [V, d] f32, target [N] i64; kl_weight: λ. chunk_rows as
// above (0: half the single-pass default, two passes' logits live at once).
OutputFdLoss output_layer_fd_loss(const torch::Tensor& hidden_a, const torch::Tensor& hidden_b,
                                  const torch::Tensor& weight, const torch::Tensor& target,
                                  double epsilon, double kl_weight, int64_t pad,
                                  int64_t chunk_rows = 0);

}  // namespace strata::kernels
