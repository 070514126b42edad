#pragma once
// Language-specific Matrix Synthesis, LMS (Xu et al., EMNLP 2023, arXiv 2305.13993): a Linear
// whose weight gets a per-sentence low-rank delta from two banks,
//   V [(N+1), d_out, r]  ("vertical", init N(0, 0.01))
//   F [(N+1), r, d_in]   ("flat", init 0, so the delta starts at 0),
//   W_b = W_s + V[v_b] · F[f_b],   y_b = x_b W_bᵀ + bias,
// where N is the number of languages and slot N is the fused shared slot (Fuse Distillation's
// shared side; `strata distill condense` folds W_s + V[N]·F[N] into a plain Linear).
// Unlike the reference code (sample 0's languages for the whole batch), every sentence of a batch
// uses its own banks: the delta is computed as (x F[f_b]ᵀ) V[v_b]ᵀ, one matmul per bank slot over
// the sentences that use it (LmsKeys groups the sentences by slot once per batch), never forming
// a d_out × d_in matrix or a per-sentence copy of a bank.
//
//   LmsLinear fc(LmsLinearOptions(512, 2048).num_langs(8).rank(4));
//   LmsKeys keys = lms_keys(LmsMode::kPair, 8, src_lang, tgt_lang, /*shared=*/false);
//   auto y = fc(x, keys);  // x [B, T, 512] -> [B, T, 2048]
#include <torch/torch.h>

#include "kernels/linear.h"

#include <vector>

#include "nmt/model/lms_config.h"

namespace strata::nmt {

// LMS settings of a Transformer (mode kNone = plain Linear layers everywhere).
struct LmsOptions {
  LmsMode mode = LmsMode::kNone;
  int64_t num_langs = 0;       // N; the banks have N + 1 slots (slot N = shared)
  int64_t rank = 4;            // r (the released scripts use 4)
  bool attention = false;      // also attention projections (default: FFN fc1/fc2 only)
  int64_t every_k_layers = 1;  // layer i (0-based) has LMS when (i + 1) % k == 0
  bool applies(int64_t layer) const {
    return mode != LmsMode::kNone && (layer + 1) % every_k_layers == 0;
  }
};

// The sentences of a batch grouped by bank slot: `order` [B] i64 lists them slot by slot (stable),
// runs `slots[i]` of length `counts[i]` (non-empty runs only); `inverse` undoes `order`.
struct LmsGroups {
  torch::Tensor order, inverse;
  std::vector<int64_t> slots, counts;
  static LmsGroups of(const torch::Tensor& slot, int64_t num_slots);  // slot [B] in [0, num_slots)
};

// Bank indices of each sentence, the same for every LMS layer: W_b = W_s + V[v[b]]·F[f[b]].
struct LmsKeys {
  LmsKeys() = default;
  LmsKeys(torch::Tensor v, torch::Tensor f, int64_t num_slots);  // groups the sentences
  torch::Tensor v, f;         // [B] i64 in [0, num_slots); undefined: no LMS (plain Linear)
  int64_t num_slots = 0;      // N + 1
  LmsGroups by_v, by_f;       // the sentences grouped by v and by f
  bool defined() const { return v.defined(); }
  LmsKeys select(const torch::Tensor& order) const;  // rows `order` (beam reordering)
};

// pair: v = src, f = tgt; lang: v = f = src (the reference keys encoder and decoder on the source
// language); shared: v = f = N for every sentence. src_lang, tgt_lang: [B] i64 in [0, N).
LmsKeys lms_keys(LmsMode mode, int64_t num_langs, const torch::Tensor& src_lang,
                 const torch::Tensor& tgt_lang, bool shared);

struct LmsLinearOptions {
  LmsLinearOptions(int64_t in_features, int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, out_features);
  TORCH_ARG(int64_t, num_langs) = 0;  // N; 0 = no banks (a plain Linear)
  TORCH_ARG(int64_t, rank) = 4;       // r
};

// A Linear (same parameter names `weight` [d_out, d_in] and `bias` [d_out], same initialisation as
// torch::nn::Linear) plus, with num_langs > 0, the banks `lms_v` and `lms_f`.
class LmsLinearImpl : public torch::nn::Cloneable<LmsLinearImpl>, public kernels::PackableModule {
 public:
  explicit LmsLinearImpl(LmsLinearOptions options);
  void reset() override;
  // x [B, ..., d_in] -> [B, ..., d_out]; keys [B] (ignored, or undefined, without banks).
  torch::Tensor forward(const torch::Tensor& x, const LmsKeys& keys = {});
  bool has_banks() const { return lms_v.defined(); }
  // W_s + V[slot]·F[slot] [d_out, d_in] (slot N: the condensed shared weight).
  torch::Tensor merged_weight(int64_t slot) const;
  // Inference: `weight` packed in format f (kernels/packed_linear.h); the LMS banks stay fp32.
  void pack_weights(kernels::WeightFormat f) override;
  // Int8 checkpoints: `weight` (the banks stay fp32).
  std::map<std::string, kernels::Int8Weight> int8_weights() const override;
  void set_int8_weight(const std::string& name, const kernels::Int8Weight& w, bool release) override;

  LmsLinearOptions options;
  torch::Tensor weight, bias;  // [d_out, d_in], [d_out]
  torch::Tensor lms_v, lms_f;  // [N+1, d_out, r], [N+1, r, d_in]
  kernels::PackedWeight packed;  // `weight` for inference (pack_weights), or undefined
  kernels::PackedWeight stored_int8;  // `weight` as an int8 checkpoint stored it, or undefined
};
TORCH_MODULE(LmsLinear);

// Extra parameters of one LMS linear: (N+1)·r·(d_in + d_out).
inline int64_t lms_extra_parameters(int64_t num_langs, int64_t rank, int64_t d_in, int64_t d_out) {
  return (num_langs + 1) * rank * (d_in + d_out);
}

}  // namespace strata::nmt
