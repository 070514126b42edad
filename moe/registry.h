#pragma once
// Registries of the sparse layers: layer types (`model.moe.type`: switch, gshard, smoe) and
// routers (`model.moe.router`: topk, sigma, ac, hash), each a name -> factory entry, like
// fairseq's registries or CTranslate2's model factory. An entry carries everything specific to
// its method (its config rules, its factory, its initialisation), so adding a router or a layer
// type is one new file defining its entry and one line in registry.cpp.
//
//   const LayerType& t = layer_type(cfg.type);                 // throws for unknown names
//   std::shared_ptr<SparseFfnBase> ffn = t.make(SparseFfnArgs{cfg, d_model, ffn_width, ...});
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "moe/comm.h"
#include "moe/moe_config.h"
#include "moe/moe_layer.h"
#include "moe/sparse_ffn.h"

namespace strata::moe {

// What a layer-type factory gets: the config, the shapes, and the runtime objects (kept apart
// from the config).
struct SparseFfnArgs {
  const MoeConfig& config;
  int64_t d_model = 0;
  int64_t ffn = 0;           // the model's dense FFN width (experts use config.expert_ffn or this)
  int64_t vocab_size = 0;    // token ids are in [0, vocab_size) (hash router)
  int64_t num_layers = 0;    // encoder + decoder layers (σ-MoE init scale)
  torch::nn::Linear shared_router{nullptr};  // Omni-router: the model's one weight, or null
  std::shared_ptr<Communicator> comm;        // expert parallelism, or null
};

struct LayerType {
  std::string name;          // model.moe.type
  std::string module_name;   // the submodule's name in the Transformer layer ("moe", "smoe")
  int default_top_k = 1;     // top_k when model.moe.top_k is 0
  bool takes_router = false; // model.moe.router and shared_router apply
  bool uses_strata = false;  // model.moe.strata applies
  std::shared_ptr<SparseFfnBase> (*make)(const SparseFfnArgs&) = nullptr;
  // Rules of its own (the router's rules are checked by the router's entry); fail(field, why).
  void (*validate)(const MoeConfig&, const ConfigFail&) = nullptr;
};

struct RouterType {
  std::string name;          // model.moe.router
  std::shared_ptr<RouterBase> (*make)(const MoeLayerOptions&) = nullptr;
  // Config rules: all of them when `selected`, otherwise those of its own fields set without it
  // (e.g. σ-MoE's expert_dropout with another router); fail(field, why).
  void (*validate)(const MoeConfig&, bool selected, const ConfigFail&) = nullptr;
  int64_t (*max_top_k)(int64_t num_experts) = nullptr;  // top_k in [1, max_top_k(E)]
  bool dropless = false;     // ignores capacities
  bool uses_prev_top1 = false;  // reads RouterInput::prev_top1 (AC)
  bool uses_token_ids = false;  // reads RouterInput::token_ids (hash)
  bool restricts = false;       // honours RouterInput::allowed (routing restricted for analysis)
  // Optional: re-initialises the layer's experts after construction (σ-MoE's init); `held` of the
  // layer's num_experts experts are on this rank.
  void (*init_experts)(Experts& experts, const MoeLayerOptions& o, int64_t held) = nullptr;
  // Optional: initialises the model's shared router weight (Omni-router) after its default init.
  void (*init_shared)(torch::nn::Linear& weight, const MoeLayerOptions& o) = nullptr;
};

// Lookups: TORCH_CHECK with the registered names for an unknown name (configs are validated
// before, so this is an invariant for them).
const LayerType& layer_type(const std::string& name);
const RouterType& router_type(const std::string& name);
std::vector<std::string> layer_type_names();  // registration order
std::vector<std::string> router_names();

// The MoE layer options of a switch/gshard-style layer for `args` (the one place mapping the
// config to MoeLayerOptions).
MoeLayerOptions moe_layer_options(const SparseFfnArgs& args);

// Omni-router: the model's one [E, d] router weight for `config`, initialised as its router does.
torch::nn::Linear make_shared_router(const MoeConfig& config, int64_t d_model, int64_t num_layers);

// The registered entries, each defined next to its implementation.
LayerType switch_layer_type();   // moe/moe_layer.cpp
LayerType gshard_layer_type();   // moe/moe_layer.cpp
LayerType smoe_layer_type();     // moe/smoe_layer.cpp
RouterType topk_router_type();   // moe/router.cpp
RouterType sigma_router_type();  // moe/sigma_router.cpp
RouterType ac_router_type();     // moe/ac_router.cpp
RouterType hash_router_type();   // moe/hash_router.cpp

}  // namespace strata::moe
