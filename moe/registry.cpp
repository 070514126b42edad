#include "moe/registry.h"

#include <cmath>

namespace strata::moe {

namespace {

// The registrations: one line per layer type and per router.
const std::vector<LayerType>& layer_types() {
  static const std::vector<LayerType> types = {
      switch_layer_type(),
      gshard_layer_type(),
      smoe_layer_type(),
  };
  return types;
}

const std::vector<RouterType>& router_types() {
  static const std::vector<RouterType> routers = {
      topk_router_type(),
      sigma_router_type(),
      ac_router_type(),
      hash_router_type(),
  };
  return routers;
}

template <class T>
const T* find(const std::vector<T>& v, const std::string& name) {
  for (const auto& t : v)
    if (t.name == name) return &t;
  return nullptr;
}

template <class T>
std::vector<std::string> names(const std::vector<T>& v) {
  std::vector<std::string> out;
  for (const auto& t : v) out.push_back(t.name);
  return out;
}

}  // namespace

const LayerType& layer_type(const std::string& name) {
  const LayerType* t = find(layer_types(), name);
  TORCH_CHECK(t, "moe: unknown layer type '", name, "' (registered: ",
              join_alternatives(layer_type_names()), ")");
  return *t;
}

const RouterType& router_type(const std::string& name) {
  const RouterType* t = find(router_types(), name);
  TORCH_CHECK(t, "moe: unknown router '", name, "' (registered: ", join_alternatives(router_names()),
              ")");
  return *t;
}

std::vector<std::string> layer_type_names() { return names(layer_types()); }
std::vector<std::string> router_names() { return names(router_types()); }

const EnumNames<Dispersion>& names_of(Dispersion) {
  static const EnumNames<Dispersion> n = {{"mad", Dispersion::kMad}, {"var", Dispersion::kVariance}};
  return n;
}

int MoeConfig::resolved_top_k() const {
  if (top_k > 0) return top_k;
  const LayerType* t = find(layer_types(), type);
  return t ? t->default_top_k : 1;
}

void validate_moe_config(const MoeConfig& c, const ConfigFail& fail) {
  std::vector<std::string> types = {"none"};
  for (const auto& n : layer_type_names()) types.push_back(n);
  const LayerType* layer = find(layer_types(), c.type);
  if (!layer && c.type != "none")
    fail("type", "must be " + join_alternatives(types) + ", got '" + c.type + "'");
  const RouterType* router = find(router_types(), c.router);
  if (!router)
    fail("router", "must be " + join_alternatives(router_names()) + ", got '" + c.router + "'");
  if (!layer || !layer->uses_strata) {
    std::string owners;
    for (const auto& t : layer_types())
      if (t.uses_strata) owners += (owners.empty() ? "" : " or ") + t.name;
    if (!c.strata.empty()) fail("strata", "only applies to model.moe.type: " + owners);
    if (!c.stratum_norms) fail("stratum_norms", "only applies to model.moe.type: " + owners);
  }
  if (layer) {
    if (c.num_experts < 1) fail("num_experts", "must be >= 1");
    if (layer->validate) layer->validate(c, fail);
    if (layer->takes_router) {
      const int64_t k = c.resolved_top_k(), max_k = router->max_top_k(c.num_experts);
      if (k < 1 || k > max_k)
        fail("top_k", "must be in [1, " + std::to_string(max_k) + "] for model.moe.router " +
                          c.router + " and model.moe.num_experts=" + std::to_string(c.num_experts) +
                          ", got " + std::to_string(c.top_k));
    }
    if (c.every_k_layers < 1) fail("every_k_layers", "must be >= 1");
    if (c.expert_ffn < 0) fail("expert_ffn", "must be >= 0 (0: model.ffn)");
    if (c.aux_loss_weight < 0) fail("aux_loss_weight", "must be >= 0");
    if (c.z_loss_weight < 0) fail("z_loss_weight", "must be >= 0");
    if (c.eom < 0 || c.eom >= 1) fail("eom", "must be in [0, 1)");
    if (c.expert_ffn_dropout < 0 || c.expert_ffn_dropout >= 1)
      fail("expert_ffn_dropout", "must be in [0, 1)");
  }
  if ((c.router != "topk" || c.shared_router) && !(layer && layer->takes_router)) {
    std::string owners;
    for (const auto& t : layer_types())
      if (t.takes_router) owners += (owners.empty() ? "" : " or ") + t.name;
    fail(c.router != "topk" ? "router" : "shared_router",
         "needs model.moe.type " + owners + ", got '" + c.type + "'");
  }
  for (const auto& r : router_types())
    if (r.validate) r.validate(c, &r == router, fail);
}

MoeLayerOptions moe_layer_options(const SparseFfnArgs& a) {
  const MoeConfig& c = a.config;
  return MoeLayerOptions(a.d_model, c.expert_ffn > 0 ? c.expert_ffn : a.ffn, c.num_experts)
      .top_k(c.resolved_top_k())
      .capacity_factor(c.capacity_factor)
      .eval_capacity_factor(c.eval_capacity)
      .eom(c.eom)
      .expert_ffn_dropout(c.expert_ffn_dropout)
      .router(c.router)
      .shared_router(a.shared_router)
      .expert_dropout(c.expert_dropout)
      // σ-MoE init scale for pre-LN: sqrt(2 / n_layers), here over both stacks.
      .init_scale(std::sqrt(2.0 / static_cast<double>(a.num_layers)))
      .ac_dispersion(c.ac_dispersion)
      .ac_momentum(c.ac_momentum)
      .vocab_size(a.vocab_size)
      .hash_seed(c.hash_seed)
      .comm(a.comm);
}

torch::nn::Linear make_shared_router(const MoeConfig& config, int64_t d_model, int64_t num_layers) {
  torch::nn::Linear w = make_router_weight(d_model, config.num_experts);
  const RouterType& r = router_type(config.router);
  if (r.init_shared) {
    SparseFfnArgs args{config, d_model, d_model, 0, num_layers, nullptr, nullptr};
    r.init_shared(w, moe_layer_options(args));
  }
  return w;
}

}  // namespace strata::moe
