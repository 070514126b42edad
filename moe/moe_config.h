#pragma once
// The typed configuration of the sparse FFN layers, `model.moe` in YAML. nmt/config.cpp reads it
// once (enum fields from their name tables, `type` and `router` checked against the registries
// of moe/registry.h) and validate_moe_config() checks every rule; the Transformer hands it to the
// layer-type factory, the one place that turns it into layer and router options.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nmt/util/enum_names.h"

namespace strata::moe {

// Per-cluster dispersion of the Adaptive Clustering router.
enum class Dispersion {
  kMad,       // mean absolute deviation from the cluster mean; w̃ = 1 / (MAD + 1e-4)
  kVariance,  // variance; w̃ = 1 / (Var + 0.1)
};
const EnumNames<Dispersion>& names_of(Dispersion);  // mad | var

struct MoeConfig {
  // Layer type (moe/registry.h): none | switch (top-1) | gshard (top-2) | smoe (stratified).
  std::string type = "none";
  int num_experts = 8;
  int expert_ffn = 0;               // hidden width of each expert (0: model.ffn)
  int top_k = 0;                    // 0: the layer type's default (switch 1, gshard 2)
  int every_k_layers = 2;           // layer i is sparse when (i + 1) % k == 0
  double capacity_factor = 1.25;    // training; <= 0: dropless
  double eval_capacity = 0.0;       // capacity factor at inference; <= 0: dropless
  double aux_loss_weight = 0.01;    // load-balancing loss weight (mean over MoE layers)
  double z_loss_weight = 0.0;       // router z-loss weight (ST-MoE uses 1e-3)
  std::vector<int> strata;          // smoe: experts per stratum, e.g. [4, 4]; sums to num_experts
  bool stratum_norms = true;        // smoe: the per-stratum LayerNorms (the reference's
                                    // --hmoe-layernorm 1); false: the block adds residuals only
  double eom = 0.0;                 // expert-output masking probability (NLLB: 0.1-0.2; 0: off)
  double expert_ffn_dropout = 0.0;  // dropout on the experts' hidden activation (Switch: 0.4 when fine-tuning)
  // Router of the layer types that take one (switch, gshard), moe/registry.h:
  //   topk  softmax gate, top-k choices (Switch: raw probability; GShard: renormalised top-2)
  //   sigma σ-MoE (Csordás et al. 2023): sigmoid gates, top_k in [1, num_experts] without
  //         renormalisation, dropless (capacities ignored), expert_dropout, σ-MoE init; its aux
  //         loss is the entropy regulariser −H(mean softmax) (use aux_loss_weight ~1e-3)
  //   ac    Adaptive Clustering (Nielsen et al. 2025): routes in a feature space re-weighted by
  //         the dispersion of each previous-layer expert's tokens (running statistics at inference)
  //   hash  Hash layers (Roller et al. 2021): a fixed random token-id -> expert map, no learned
  //         router, dropless
  std::string router = "topk";
  bool shared_router = false;       // Omni-router: one router weight shared by all MoE layers
  double expert_dropout = 0.0;      // sigma: drop each (token, expert) score before top-k (0.05)
  Dispersion ac_dispersion = Dispersion::kMad;  // ac: mad | var
  double ac_momentum = 0.1;         // ac: EMA momentum of the running dispersion statistics
  int hash_seed = 1;                // hash: seed of the token-id -> expert map

  bool enabled() const { return type != "none"; }
  // Layer i (0-based, per stack) is sparse.
  bool is_sparse(int64_t layer) const { return enabled() && (layer + 1) % every_k_layers == 0; }
  // top_k, or the layer type's default when 0.
  int resolved_top_k() const;
};

// Every rule of a MoeConfig, each checked here only: `fail(field, why)` must throw (field is the
// dotted path below model.moe, e.g. "top_k"). Unknown layer types and routers name the registered
// ones.
using ConfigFail = std::function<void(const std::string& field, const std::string& why)>;
void validate_moe_config(const MoeConfig& c, const ConfigFail& fail);

}  // namespace strata::moe
