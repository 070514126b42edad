#pragma once
// `strata compress` (issue 20): one-shot, data-free compression of a checkpoint's MoE experts.
//
//   resmoe  ResMoE (Ai et al., KDD 2025): per layer, the free-support Wasserstein-2 barycenter of
//           the experts' neuron clouds (rows of X_e, nmt/model/compressed_experts.h), each expert
//           aligned to it by an optimal permutation of its hidden units (function unchanged), and
//           the residual P_e X_e − C pruned by magnitude (sparsity s) or truncated by SVD (rank r).
//   prune   each expert's X_e pruned by magnitude, no barycenter (baseline).
//   svd     each expert's X_e truncated to rank r, no barycenter (baseline).
//   merge   experts averaged after alignment: G groups (Ward clustering of the aligned experts),
//           each expert replaced by its group's barycenter (G = 1: all by the layer's).
//
// The barycenter iteration (Cuturi & Doucet's free-support algorithm with uniform masses and
// equal sizes, where every optimal plan is a permutation): start at X_0; for each expert solve
// the assignment from C to X_e under squared Euclidean cost (kernels/assignment), then set C to
// the mean of the aligned experts; stop when no permutation changes (C is then a fixed point) or
// after max_iterations. objective[t] = mean_e (1/ffn) Σ_n |C_n − X_e[π_e(n)]|² at iteration t
// (non-increasing).
#include <torch/torch.h>

#include <string>
#include <vector>

#include "nmt/model/compressed_experts.h"
#include "nmt/model/transformer.h"

namespace strata::nmt::compress {

struct Barycenter {
  torch::Tensor center;                     // [n, D] f64
  std::vector<std::vector<int64_t>> perms;  // perms[e][j]: the row of X_e aligned to C's row j
  std::vector<double> objective;            // per iteration (before its averaging step)
  int iterations = 0;
  bool converged = false;  // stopped at a fixed point, not at max_iterations
};

// clouds: E ≥ 1 tensors [n, D] (any float dtype).
Barycenter wasserstein_barycenter(const std::vector<torch::Tensor>& clouds, int max_iterations = 100);

// The rows of x in `perm`'s order: x[perm[j]] for each j.
torch::Tensor permute_rows(const torch::Tensor& x, const std::vector<int64_t>& perm);

enum class Method { kResMoe, kPrune, kSvd, kMerge };
enum class Residual { kPrune, kSvd };  // how resmoe compresses its residuals

struct CompressOptions {
  Method method = Method::kResMoe;
  Residual residual = Residual::kPrune;
  // Exactly one way to size it (or none for merge: one group): a sparsity s in [0, 1), a rank
  // r ≥ 0, a number of groups G in [1, E], or a target compression c in [0, 1) of the layer's
  // expert parameters, from which s, r or G is derived so that every method stores about
  // (1 − c) of them (CompressedExperts::stored_parameters).
  double sparsity = -1, compression = -1;
  int64_t rank = -1, groups = -1;
  bool int8 = false;  // int8 residual values / factors (one scale per row)
  int max_iterations = 100;
};

// What compressing one layer did.
struct LayerReport {
  std::string module;
  std::string setting;  // e.g. "s=0.750", "r=37", "G=2"
  int64_t parameters = 0, stored_parameters = 0;  // before / after
  int64_t bytes = 0, stored_bytes = 0;            // before (f32) / after
  int iterations = 0;                             // barycenter iterations (0 without one)
  bool converged = true;
  double objective_first = 0, objective = 0;      // barycenter objective: start, end
  double relative_error = 0;  // |X̂ − P X|_F / |X|_F over the layer's experts
  // |P X − C|²_F / |X|²_F over the layer's experts: what the barycenter (merge: the group's
  // center) leaves for the residuals to carry; 1 without a center. Near 0 when the experts share
  // most of their weights up to a permutation (ResMoE's premise), near 1 − 1/E when unrelated.
  double residual_share = 1;
};

// Compresses one Experts module (all of its experts). Throws strata::Error for a setting that
// cannot be met (e.g. a compression below what the barycenter alone costs).
CompressedExperts compress_experts(const moe::ExpertsImpl& experts, const CompressOptions& options,
                                   LayerReport* report);

// A model's Experts modules in order, by module name.
std::vector<std::pair<std::string, moe::ExpertsImpl*>> experts_modules(TransformerImpl& model);

// Compresses the chosen MoE layers of `model`: `layers` holds indices into experts_modules()
// ("0", "3") or module names; empty = every layer. Returns `already` (a loaded checkpoint's
// compressed layers) with the chosen ones replaced, and one report per chosen layer. Throws
// strata::Error for a model without MoE layers or an unknown layer.
CompressedModel compress_model(TransformerImpl& model, const CompressOptions& options,
                               const std::vector<std::string>& layers, const CompressedModel& already,
                               std::vector<LayerReport>* reports);

}  // namespace strata::nmt::compress
