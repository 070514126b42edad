#pragma once
// One MoE layer's experts stored compressed (`strata compress`: ResMoE and its baselines, issue 20).
//
// Expert e is a cloud of its ffn hidden neurons: row n of X_e = [W1_e[:, n] | b1_e[n] | W2_e[n, :]]
// ([ffn, D], D = 2d + 1), in the layout moe::ExpertsImpl keeps (w1 [E, d, ffn], b1 [E, ffn],
// w2 [E, ffn, d]). Permuting the rows of X_e permutes the hidden units and leaves the expert's
// function unchanged. A compressed layer stores
//
//   X̂_e = centers[group[e]] + R̂_e          (centers absent for the prune and svd baselines)
//
// with R̂_e absent (merge), sparse (a bitmap of the kept entries of the flat [ffn·D] residual, LSB
// first, and their values in index order) or low rank (A_e [ffn, r] · B_e [r, D]); values and
// factors fp32, or int8 with one scale per row (kernels::quantize_rows: x = q / scale). b2 [E, d]
// is stored as is. Loading restores the dense weights (restore_into), so a compressed checkpoint
// runs like any other in every compute type; the file holds only the compressed form. Or, with
// LoadOptions::expert_memory (checkpoint.h), each expert is restored when it is dispatched
// (CompressedSource) into a cache of bounded size, so resident memory shrinks too.
#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "moe/dispatch.h"

namespace strata::nmt {

struct CompressedExperts {
  std::string method;  // what made it: resmoe | prune | svd | merge (reports)
  int64_t ffn = 0;     // hidden units per expert (stored as "shape" [E, ffn, d])
  torch::Tensor centers;  // [G, ffn, D] f32, or undefined
  torch::Tensor group;    // [E] i64: each expert's center (defined with centers)
  torch::Tensor b2;       // [E, d] f32
  torch::Tensor bitmap;   // sparse: [E, ceil(ffn·D / 8)] u8
  torch::Tensor values;   // sparse: [E, k] f32 or i8
  torch::Tensor value_scale;  // [E] f32 (int8 values)
  torch::Tensor a, b;         // low rank: [E, ffn, r], [E, r, D] f32 or i8
  torch::Tensor a_scale, b_scale;  // [E, ffn], [E, r] f32 (int8 factors)

  std::string residual() const;  // none | sparse | lowrank
  bool int8() const;
  int64_t num_experts() const { return b2.size(0); }
  int64_t d_model() const { return b2.size(1); }
  // X̂_e [ffn, D] f32.
  torch::Tensor features(int64_t e) const;
  // Writes every expert's w1, b1, w2, b2 (shapes must match: validate() first).
  void restore_into(moe::ExpertsImpl& experts) const;
  // Stored numbers (centers, b2, kept values or factor entries; bitmaps and scales not counted)
  // and the bytes of every stored tensor (bitmaps and scales included).
  int64_t stored_parameters() const;
  int64_t stored_bytes() const;
  // Every stored tensor by field name (checkpoint members and digest, in a fixed order).
  std::vector<std::pair<std::string, torch::Tensor>> tensors() const;
  // Fills a field by its name in tensors(); false for an unknown name.
  bool set(const std::string& field, const torch::Tensor& t);
  // Checks dtypes, shapes against `experts`, group range, finite values, positive scales and each
  // bitmap's count of kept entries; throws strata::Error "<where>: <what>".
  void validate(const moe::ExpertsImpl& experts, const std::string& where) const;
};

// Restores one expert on demand (moe/expert_store.h): the same arithmetic as restore_into, so a
// layer restored on dispatch computes exactly what a layer restored at load time computes.
class CompressedSource : public moe::ExpertSource {
 public:
  explicit CompressedSource(CompressedExperts layer) : layer_(std::move(layer)) {}
  moe::ExpertWeights load(int64_t e) const override;
  int64_t num_experts() const override { return layer_.num_experts(); }

 private:
  CompressedExperts layer_;
};

// A model's compressed layers by the name of their Experts module
// (e.g. "encoder.layers.1.ffn.experts").
using CompressedModel = std::map<std::string, CompressedExperts>;

// X_e of a dense Experts module: [ffn, 2d + 1] f32.
torch::Tensor expert_features(const moe::ExpertsImpl& experts, int64_t e);
// The module's parameter count E·(ffn·(2d + 1) + d).
int64_t expert_parameters(const moe::ExpertsImpl& experts);

// Bit packing of the sparse residuals: mask [E, m] bool -> [E, ceil(m / 8)] u8 and back.
torch::Tensor pack_bits(const torch::Tensor& mask);
torch::Tensor unpack_bits(const torch::Tensor& bits, int64_t m);

}  // namespace strata::nmt
