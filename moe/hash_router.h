#pragma once
// Hash routing (Roller et al. 2021, "Hash Layers for Large Sparse Models"): every token goes to
// the expert a fixed map assigns to its id; nothing is learned and nothing is dropped. The map is
// a balanced random one (a seeded permutation of the vocabulary dealt round-robin to the experts,
// so each expert gets ⌊V/E⌋ or ⌈V/E⌉ ids), stored as the buffer `hash_table` so a checkpoint
// keeps it. Gate 1, no auxiliary losses. A reference for predicting experts from token ids.
//
//   HashRouter r(HashRouterOptions(d_model, num_experts).vocab_size(V));
//   Routing out = r->route({x, 0, {}, token_ids});   // x [N, d], token_ids [N] i64
#include <torch/torch.h>

#include "moe/router.h"

namespace strata::moe {

struct HashRouterOptions {
  HashRouterOptions(int64_t d_model, int64_t num_experts)
      : d_model_(d_model), num_experts_(num_experts) {}
  TORCH_ARG(int64_t, d_model);
  TORCH_ARG(int64_t, num_experts);
  TORCH_ARG(int64_t, vocab_size) = 0;  // token ids are in [0, vocab_size)
  TORCH_ARG(int64_t, seed) = 1;        // of the permutation (its own generator, not the global one)
};

// The balanced random map [vocab_size] i64 of token id -> expert.
torch::Tensor hash_table(int64_t vocab_size, int64_t num_experts, int64_t seed);

class HashRouterImpl : public RouterBase {
 public:
  explicit HashRouterImpl(HashRouterOptions options);
  void reset();
  // Needs in.token_ids ([N] i64, one per row of in.x); capacity is ignored.
  Routing route(const RouterInput& in) override;
  HashRouterOptions options;
  torch::Tensor table;  // [vocab_size] i64 buffer "hash_table"
};
TORCH_MODULE(HashRouter);

}  // namespace strata::moe
