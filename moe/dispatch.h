#pragma once
// Dispatch and combine for MoE layers without per-token loops: the kept (token, choice) pairs are
// sorted by expert (stably, so each expert's rows keep their priority order), every expert runs one
// GEMM on its contiguous slice, and the outputs are scaled by their gates and added back to their
// tokens (index_add).
#include <torch/torch.h>

#include "kernels/linear.h"

#include <vector>

#include "moe/expert_store.h"
#include "moe/router.h"

namespace strata::moe {

struct Dispatch {
  torch::Tensor token;          // [M] i64: source token of each routed row, sorted by expert
  torch::Tensor gate;           // [M] f32: its combine weight
  std::vector<int64_t> counts;  // [E]: rows per expert (they sum to M)
};

// Kept choices of `r`, sorted by expert.
Dispatch make_dispatch(const Routing& r, int64_t num_experts);

// out[t] = Σ_rows-of-t gate · expert_out[row]; tokens with no kept choice get zeros.
// expert_out [M, d] -> [N, d].
torch::Tensor combine(const torch::Tensor& expert_out, const Dispatch& d, int64_t num_tokens);

// Expert-output masking (EoM, NLLB): in training each routed (token, expert) output row is zeroed
// with probability p (one bernoulli call over the M rows, no 1/(1-p) rescale); at inference every
// row is scaled by (1 - p) instead. p = 0 returns the input.
torch::Tensor expert_output_mask(const torch::Tensor& expert_out, double p, bool training);

// Experts as one [E, …] parameter set: FFN_e(x) = relu(x W1_e + b1_e) W2_e + b2_e.
class ExpertsImpl : public torch::nn::Module, public kernels::PackableModule {
 public:
  // dropout: on the hidden activation of every expert in training ("expert dropout", Switch §2.4);
  // the mask for all M rows is drawn in one bernoulli call before the per-expert products.
  ExpertsImpl(int64_t num_experts, int64_t d_model, int64_t ffn, double dropout = 0.0);
  // x_sorted [M, d], rows grouped by expert with `counts` -> [M, d].
  torch::Tensor forward(const torch::Tensor& x_sorted, const std::vector<int64_t>& counts);
  // One expert applied to x [*, d] (reference and tests).
  torch::Tensor expert(int64_t e, const torch::Tensor& x);
  // Inference: each expert's W1ᵀ [ffn, d] and W2ᵀ [d, ffn] packed in format f (kernels/).
  void pack_weights(kernels::WeightFormat f) override;
  // Int8 checkpoints: w1 and w2 as packed, per expert: q [E, ffn, d] / [E, d, ffn], scale [E, ffn] /
  // [E, d] (the biases stay fp32).
  std::map<std::string, kernels::Int8Weight> int8_weights() const override;
  void set_int8_weight(const std::string& name, const kernels::Int8Weight& w, bool release) override;
  // Weights restored on dispatch (moe/expert_store.h; inference only): from now on each expert
  // with rows comes from `cache`, made by source->load(e) on a miss (and packed in the compute
  // type's format). w1, b1 and w2 keep their shapes but become NaN placeholders without storage,
  // so code that reads them instead of weights(e) fails loudly; b2 stays resident.
  void set_source(std::shared_ptr<const ExpertSource> source, std::shared_ptr<ExpertCache> cache);
  bool has_source() const { return source_ != nullptr; }
  const std::shared_ptr<ExpertCache>& cache() const { return cache_; }
  // Expert e's weights, resident or restored (without going through the cache).
  ExpertWeights weights(int64_t e) const;
  // Weights restored on dispatch: brings expert e into the cache ahead of its use, as the
  // current thread's compute type will use it (ExpertCache::prefetch: evicts only stale experts; safe while
  // another thread runs forward). False when it was skipped; no-op (true) for resident weights.
  bool prefetch(int64_t e);
  int64_t num_experts() const { return num_experts_; }
  torch::Tensor w1, b1, w2, b2;  // [E, d, ffn], [E, ffn], [E, ffn, d], [E, d]
  double dropout;

 private:
  torch::Tensor forward_from_source(const torch::Tensor& x_sorted, const std::vector<int64_t>& counts);
  // Expert e from the source, packed in format_ when `packed` (then without its f32 copies).
  CachedExpert make_expert(int64_t e, bool packed) const;
  // Whether experts restored now are packed: a format is set and the compute type uses it.
  bool restores_packed() const;
  int64_t num_experts_;
  std::vector<kernels::PackedWeight> packed1_, packed2_;  // per expert (pack_weights)
  std::vector<kernels::PackedWeight> stored1_, stored2_;  // per expert, as an int8 checkpoint stored them
  kernels::WeightFormat format_ = kernels::WeightFormat::kNone;
  std::shared_ptr<const ExpertSource> source_;
  std::shared_ptr<ExpertCache> cache_;
};
TORCH_MODULE(Experts);

}  // namespace strata::moe
