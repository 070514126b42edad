#pragma once
// The interface of a sparse FFN sub-layer inside a Transformer layer (moe/registry.h builds them by
// layer type), and MoeAux, what the sparse layers of one forward pass report back: their losses
// (returned to the caller, never kept in globals), per-layer statistics, and the per-stack
// inputs that some routers use (the previous MoE layer's choices, the token ids).
//
//   auto ffn = moe::layer_type("switch").make(args);          // std::shared_ptr<SparseFfnBase>
//   auto y2 = ffn->block(y, ffn_norm, pad, dropout, &aux);     // y [B, T, d] -> [B, T, d]
#include <torch/torch.h>

#include <vector>

namespace strata::moe {

struct MoeAux {
  torch::Tensor aux_loss, z_loss;    // sums over MoE layers (scalars)
  int64_t layers = 0;                // number of MoE layers that ran
  std::vector<torch::Tensor> load;   // per MoE layer [E]: fraction of routed rows per expert
  std::vector<double> drop_rate;     // per MoE layer
  std::vector<torch::Tensor> top1;   // per MoE layer: first-choice expert per position [B·T]
                                     // (-1 for padding), encoder layers first
  std::vector<double> agreement;     // per MoE layer: fraction of tokens whose first choice equals
                                     // the previous MoE layer's of the same stack (NaN: first)
  // Inputs of the current stack, set by the Transformer at the start of the encoder, the decoder
  // and every decoding step:
  torch::Tensor prev_top1;  // first choices of the stack's last MoE layer so far (AC router)
  torch::Tensor token_ids;  // [B, T] i64: the stack's input tokens (hash router)

  // Records one MoE layer: its losses (z_loss undefined: the layer has none), load, drop rate and
  // first choices [B·T] (which become prev_top1).
  void add(const torch::Tensor& layer_aux, const torch::Tensor& layer_z, torch::Tensor layer_load,
           double layer_drop_rate, const torch::Tensor& layer_top1);
  // A new stack (encoder, decoder, or one decoding step) with these input tokens.
  void start_stack(const torch::Tensor& tokens);
};

// A sparse FFN sub-layer with its residual: takes the residual stream y and returns the new one
// (MoE layers: y + dropout(MoE(norm(y))); SMoE: its stratified passes with their own norms).
class SparseFfnBase : public torch::nn::Module {
 public:
  // y [B, T, d]; norm: the Transformer layer's pre-FFN LayerNorm; pad [B, T] bool (true = padding,
  // never routed) or undefined; dropout: residual dropout (training); aux receives the layer's
  // losses and statistics and supplies the stack's inputs (never null).
  virtual torch::Tensor block(const torch::Tensor& y, torch::nn::LayerNorm& norm,
                              const torch::Tensor& pad, double dropout, MoeAux* aux) = 0;
};

}  // namespace strata::moe
