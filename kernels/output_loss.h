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

struct OutputLoss {
  torch::Tensor loss;  // scalar f32: Σ over non-pad rows of the smoothed loss (differentiable)
  torch::Tensor nll;   // scalar f32: Σ over non-pad rows of −log p(target) (no gradient)
};

// hidden [N, d] f32, weight [V, d] f32, target [N] i64. chunk_rows: rows per chunk (0: about
// 2^21 logits per chunk). Gradients flow to hidden and weight when they require them.
OutputLoss output_layer_loss(const torch::Tensor& hidden, const torch::Tensor& weight,
                             const torch::Tensor& target, double epsilon, int64_t pad,
                             int64_t chunk_rows = 0);

}  // namespace strata::kernels
