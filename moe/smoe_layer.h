#pragma once
// Stratified Mixture of Experts (SMoE; Xu et al., Findings of EMNLP 2023), as in the reference code
// (fe1ixxu/Stratified_Mixture_of_Experts, forward_hmoe): the E experts are split into strata
// n_1..n_L; stratum l has its own router over the experts of strata l..L. A token's pass at stratum
// l is a top-2 MoE over those experts; its top-1 expert's stratum s decides where it goes next
// (s + 1; L = done), so a token gets 1 to L expert passes ("dynamic capacity"). Each pass adds
// the residual; after a pass that leaves a token at stratum s its stream is normalised with the
// stratum's LayerNorm LN_{s-1}, so the block's output is layer-normalised (LN_{L-1}). In training
// the second choice of a pass is drawn with Gumbel noise, as the reference's top2gate does.
//
//   SmoeLayer smoe(SmoeLayerOptions(d, ffn, {4, 4}));
//   SmoeOutput y = smoe(h, ln_ffn(h));   // h: residual stream [N, d]; returns the new stream
#include <torch/torch.h>

#include <memory>
#include <vector>

#include "moe/comm.h"
#include "moe/dispatch.h"
#include "moe/router.h"
#include "moe/sparse_ffn.h"

namespace strata::moe {

struct SmoeLayerOptions {
  SmoeLayerOptions(int64_t d_model, int64_t ffn, std::vector<int64_t> strata)
      : d_model_(d_model), ffn_(ffn), strata_(std::move(strata)) {}
  TORCH_ARG(int64_t, d_model);
  TORCH_ARG(int64_t, ffn);
  TORCH_ARG(std::vector<int64_t>, strata);      // experts per stratum, e.g. {4, 4}
  TORCH_ARG(double, capacity_factor) = 1.0;     // training: C_l = cf · 2 · ceil(|A| / E_l); <= 0 dropless
  TORCH_ARG(double, eval_capacity_factor) = 0;  // inference; <= 0: dropless (batch-invariant)
  TORCH_ARG(double, eom) = 0.0;                 // expert-output masking probability (0: off)
  TORCH_ARG(double, expert_ffn_dropout) = 0.0;  // dropout on the experts' hidden activation
  // Training: the second choice of every pass by the Gumbel-max trick (the reference's default
  // `sampling` policy); kAll: plain argmax. Inference is always argmax (batch-invariant).
  TORCH_ARG(SecondExpertPolicy, second_policy) = SecondExpertPolicy::kSampling;
  // The per-stratum LayerNorms (--hmoe-layernorm 1 in the reference). false: no norms, the block
  // returns the residual stream after the last pass (an ablation; not in the paper's runs).
  TORCH_ARG(bool, stratum_norms) = true;
  // Expert parallelism (moe/expert_parallel.h): this rank holds E / world experts; every pass runs
  // on all ranks at the global minimum stratum (a rank with no token there still exchanges).
  TORCH_ARG(std::shared_ptr<Communicator>, comm) = nullptr;
};

struct SmoeOutput {
  torch::Tensor output;    // [N, d]: the new residual stream (layer-normalised)
  torch::Tensor aux_loss;  // scalar: mean over passes of the per-stratum load-balancing loss
  torch::Tensor passes;    // [N] i64: expert passes per token (0 for padding)
  int64_t num_passes = 0;  // passes the layer ran (<= L)
  double drop_rate = 0;    // fraction of (token, choice) pairs dropped by capacity, over all passes
  torch::Tensor top1;      // [N] i64: first-pass first-choice expert (-1 for padding)
};

class SmoeLayerImpl : public SparseFfnBase {
 public:
  explicit SmoeLayerImpl(SmoeLayerOptions options);
  // The FFN sub-layer (SparseFfnBase): the stratified block replaces y + FFN(norm(y)) with its own
  // residuals and norms (`dropout` is not used: the reference has none there).
  torch::Tensor block(const torch::Tensor& y, torch::nn::LayerNorm& norm, const torch::Tensor& pad,
                      double dropout, MoeAux* aux) override;
  // h [N, d] residual stream; u0 [N, d] = the layer's pre-FFN LayerNorm of h; pad [N] bool or
  // undefined (padding rows are not routed and come back unchanged).
  SmoeOutput forward(const torch::Tensor& h, const torch::Tensor& u0,
                     const torch::Tensor& pad = torch::Tensor());
  // Stratum of a (global) expert index.
  int64_t stratum_of(int64_t expert) const;
  int64_t first_expert(int64_t stratum) const { return starts_[stratum]; }
  int64_t num_experts() const { return starts_.back(); }

  SmoeLayerOptions options;
  Experts experts{nullptr};  // all experts, or this rank's [first_local_expert, +w1.size(0))
  int64_t first_local_expert = 0;
  torch::nn::ModuleList routers{nullptr};  // routers[l]: Linear d -> E - s_l, no bias
  torch::nn::ModuleList norms{nullptr};    // norms[l]: LayerNorm after reaching stratum l + 1
                                           // (empty without stratum_norms)

 private:
  std::vector<int64_t> starts_;  // s_l: first expert of stratum l; starts_[L] = E
};
TORCH_MODULE(SmoeLayer);

}  // namespace strata::moe
