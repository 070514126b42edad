#pragma once
// A sparse FFN layer: router -> dispatch -> experts -> combine, with capacity (separately for
// training and evaluation), token dropping (a dropped token's output is zero, so the residual
// carries it through), a dropless mode, and the router's auxiliary losses returned to the caller.
//
//   MoeLayer moe(MoeLayerOptions(d_model, ffn, /*experts=*/8).top_k(2));
//   MoeOutput y = moe(x, pad);   // x [B, T, d], pad [B, T] bool (true = padding, not routed)
#include <torch/torch.h>

#include <memory>

#include "moe/comm.h"
#include "moe/dispatch.h"
#include "moe/moe_config.h"
#include "moe/router.h"
#include "moe/sparse_ffn.h"

namespace strata::moe {

struct MoeLayerOptions {
  MoeLayerOptions(int64_t d_model, int64_t ffn, int64_t num_experts)
      : d_model_(d_model), ffn_(ffn), num_experts_(num_experts) {}
  TORCH_ARG(int64_t, d_model);
  TORCH_ARG(int64_t, ffn);           // hidden width of each expert
  TORCH_ARG(int64_t, num_experts);
  TORCH_ARG(int64_t, top_k) = 1;     // 1: Switch, 2: GShard
  TORCH_ARG(double, capacity_factor) = 1.25;    // training; <= 0: dropless
  TORCH_ARG(double, eval_capacity_factor) = 0;  // evaluation; <= 0: dropless (batch-invariant)
  TORCH_ARG(SecondExpertPolicy, second_policy) = SecondExpertPolicy::kSampling;
  TORCH_ARG(double, jitter) = 0.0;
  TORCH_ARG(double, eom) = 0.0;                 // expert-output masking probability (NLLB; 0: off)
  TORCH_ARG(double, expert_ffn_dropout) = 0.0;  // dropout on the experts' hidden activation (Switch)
  // Router, by its registered name (moe/registry.h): topk, sigma (dropless: capacities are
  // ignored, top_k in [1, E], experts get σ-MoE's init), ac (uses the previous MoE layer's
  // choices) or hash (a fixed token-id -> expert map; needs the token ids).
  TORCH_ARG(std::string, router) = "topk";
  TORCH_ARG(torch::nn::Linear, shared_router) = nullptr;  // Omni-router: the model's one weight
  TORCH_ARG(double, expert_dropout) = 0.0;  // σ-MoE: selection dropout δ (training)
  TORCH_ARG(double, init_scale) = 1.0;      // routers with their own init (σ-MoE): scale s
                                            // (sqrt(2 / n_layers) for pre-LN)
  TORCH_ARG(Dispersion, ac_dispersion) = Dispersion::kMad;
  TORCH_ARG(double, ac_momentum) = 0.1;     // AC: EMA momentum of the running dispersion
  TORCH_ARG(int64_t, vocab_size) = 0;       // hash: token ids are in [0, vocab_size)
  TORCH_ARG(int64_t, hash_seed) = 1;        // hash: seed of the token-id -> expert map
  // Expert parallelism (moe/expert_parallel.h): when set, this rank holds only its
  // num_experts / world experts and exchanges tokens with the other ranks in every forward.
  TORCH_ARG(std::shared_ptr<Communicator>, comm) = nullptr;
};

struct MoeOutput {
  torch::Tensor output;    // like x
  torch::Tensor aux_loss;  // scalar (load balancing)
  torch::Tensor z_loss;    // scalar (router z-loss)
  torch::Tensor load;      // [E] f32: fraction of routed (kept) rows per expert
  double drop_rate = 0;    // fraction of (token, choice) pairs dropped by capacity
  torch::Tensor top1;      // [N] i64: first-choice expert of each position of x (-1 for padding)
};

struct RouterType;

class MoeLayerImpl : public SparseFfnBase {
 public:
  explicit MoeLayerImpl(MoeLayerOptions options);
  // prev_top1 [B·T] i64: first choices of the previous MoE layer at the same positions (-1 for
  // padding), or undefined; only the AC router uses it. token_ids [B, T] i64: the tokens at
  // those positions, or undefined; only the hash router uses them.
  MoeOutput forward(const torch::Tensor& x, const torch::Tensor& pad = torch::Tensor(),
                    const torch::Tensor& prev_top1 = torch::Tensor(),
                    const torch::Tensor& token_ids = torch::Tensor());
  // The FFN sub-layer: y + dropout(forward(norm(y))) (SparseFfnBase).
  torch::Tensor block(const torch::Tensor& y, torch::nn::LayerNorm& norm, const torch::Tensor& pad,
                      double dropout, MoeAux* aux) override;
  MoeLayerOptions options;
  const RouterType* router_type = nullptr;  // the registry entry of options.router()
  std::shared_ptr<RouterBase> router;  // registered as "router" (its weight: see Omni-router)
  Experts experts{nullptr};  // all experts, or this rank's [first_local_expert, +E/world)
  int64_t first_local_expert = 0;
  // [E] bool or undefined: the experts tokens may go to (routing restricted for analyses such as
  // nmt/analysis/modularity's; only routers whose RouterType `restricts`). Not saved.
  torch::Tensor allowed_experts;
};
TORCH_MODULE(MoeLayer);

}  // namespace strata::moe
