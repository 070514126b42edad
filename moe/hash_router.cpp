#include "moe/hash_router.h"

#include <ATen/CPUGeneratorImpl.h>

#include "moe/registry.h"

namespace strata::moe {

torch::Tensor hash_table(int64_t vocab_size, int64_t num_experts, int64_t seed) {
  TORCH_CHECK(vocab_size > 0 && num_experts > 0, "hash router: vocab_size (", vocab_size,
              ") and num_experts (", num_experts, ") must be positive");
  auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
  auto perm = torch::randperm(vocab_size, gen, torch::kLong);  // [V]
  auto table = torch::empty({vocab_size}, torch::kLong);
  table.index_copy_(0, perm, torch::arange(vocab_size, torch::kLong).remainder(num_experts));
  return table;
}

HashRouterImpl::HashRouterImpl(HashRouterOptions o) : options(std::move(o)) { reset(); }

void HashRouterImpl::reset() {
  table = register_buffer("hash_table",
                          hash_table(options.vocab_size(), options.num_experts(), options.seed()));
}

Routing HashRouterImpl::route(const RouterInput& in) {
  const int64_t N = in.x.size(0), E = options.num_experts();
  TORCH_CHECK(in.token_ids.defined() && in.token_ids.numel() == N,
              "hash router: needs the token id of each of the ", N, " routed rows, got ",
              in.token_ids.defined() ? in.token_ids.numel() : 0);
  auto ids = in.token_ids.reshape({-1}).to(table.device(), torch::kLong);
  if (N > 0)
    TORCH_CHECK(ids.min().item<int64_t>() >= 0 && ids.max().item<int64_t>() < table.size(0),
                "hash router: token ids must be in [0, ", table.size(0), ")");
  const auto dtype = in.x.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  Routing r;
  // (Module::to(dtype) converts every buffer, this integer one included.)
  auto map = table.scalar_type() == torch::kLong ? table : table.to(torch::kLong);
  r.expert = map.index_select(0, ids).unsqueeze(1);  // [N, 1]
  const auto f = in.x.options().dtype(dtype);
  r.gate = torch::ones({N, 1}, f);
  r.keep = torch::ones({N, 1}, f.dtype(torch::kBool));
  r.probs = torch::zeros({N, E}, f).scatter_(1, r.expert, 1.0);
  r.aux_loss = torch::zeros({}, f);
  r.z_loss = torch::zeros({}, f);
  return r;
}

// Registry entry: hash routing. Top-1, dropless, no learned weight (so no Omni-router).
namespace {
std::shared_ptr<RouterBase> make_hash_router(const MoeLayerOptions& o) {
  return std::make_shared<HashRouterImpl>(HashRouterOptions(o.d_model(), o.num_experts())
                                              .vocab_size(o.vocab_size())
                                              .seed(o.hash_seed()));
}

void validate_hash(const MoeConfig& c, bool selected, const ConfigFail& fail) {
  if (selected && c.shared_router)
    fail("shared_router", "the hash router has no learned weight to share");
}

int64_t one_expert(int64_t) { return 1; }
}  // namespace

RouterType hash_router_type() {
  RouterType t;
  t.name = "hash";
  t.make = make_hash_router;
  t.validate = validate_hash;
  t.max_top_k = one_expert;
  t.dropless = true;
  t.uses_token_ids = true;
  return t;
}

}  // namespace strata::moe
