#pragma once
// Expert parallelism: rank r of W owns experts [r·E/W, (r+1)·E/W) and the dense parameters are
// replicated (data parallel). A MoE layer routes its own tokens, sorts them by expert (make_dispatch),
// exchanges the per-expert counts, then the rows (all-to-all), runs its local experts on what it
// received, and sends the results back (all-to-all with the transposed splits); the backward pass
// runs the same two exchanges in reverse. Capacity is per routing group = the rank's own tokens
// (GShard/fairseq semantics), so W ranks give exactly what one process holding all experts gives
// when it runs each rank's batch as a separate group.
//
//   auto comm = make_communicator(opts);
//   MoeLayer moe(MoeLayerOptions(d, ffn, E).comm(comm));   // holds E/W experts
//   auto y = moe(x);  loss(y).backward();
//   average_gradients(*model, *comm);                        // before the optimizer step
#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "moe/comm.h"
#include "moe/dispatch.h"
#include "moe/moe_config.h"

namespace strata::moe {

// [first, first + count) experts of `rank`; E must be divisible by the world size.
std::pair<int64_t, int64_t> local_experts(int64_t num_experts, int rank, int world);

// The config rule of expert parallelism: an MoE model's experts split evenly over `world` ranks.
// Throws strata::Error "model.moe.num_experts=E is not divisible by <world_name> W" otherwise.
void check_expert_partition(const MoeConfig& config, int world, const std::string& world_name);

// Differentiable all-to-all: forward sends rows by send_splits (receives recv_splits); backward
// sends the gradients back with the splits transposed. Every rank must call it (and, in backward,
// reach it) in the same order.
torch::Tensor all_to_all(const torch::Tensor& x, const std::vector<int64_t>& send_splits,
                         const std::vector<int64_t>& recv_splits,
                         const std::shared_ptr<Communicator>& comm);

// Runs rows sorted by (global) expert on the experts' owners: x_sorted [M, d] with counts [E]
// (the global per-expert rows of this rank) -> [M, d], each row processed by its expert, in the
// same order. `local` holds this rank's E/W experts.
torch::Tensor run_experts_parallel(Experts& local, const torch::Tensor& x_sorted,
                                   const std::vector<int64_t>& counts,
                                   const std::shared_ptr<Communicator>& comm);

// combine() that always keeps the graph connected (an empty rank must still reach the
// exchanges' backward, or its peers would wait for it).
torch::Tensor combine_connected(const torch::Tensor& expert_out, const Dispatch& d,
                                int64_t num_tokens);

// Expert-sharded parameters: those of an `experts` submodule (experts.w1, …).
bool is_expert_parameter(const std::string& name);

// After each rank's backward of its own mean loss: gradients of the mean over ranks. Dense
// gradients are all-reduced (one flat buffer; a missing gradient counts as zero) and divided by W;
// expert gradients already hold every rank's contribution and are divided by W.
void average_gradients(torch::nn::Module& model, Communicator& comm);

// Elastic expert checkpoints: a module's state with every expert parameter whole ([E, …], the
// layout of one process holding all experts). All ranks call it (an all-gather through
// all_to_all) and all get the full state; dense parameters and buffers are this rank's copies.
torch::OrderedDict<std::string, torch::Tensor> gather_full_state(torch::nn::Module& model,
                                                                 Communicator& comm);

// Loads a full state (from gather_full_state, or a single-process model) into `model` held by
// rank `rank` of `world`: expert parameters take their [rank·E/W, (rank+1)·E/W) slice, the rest is
// copied. A missing or mis-shaped entry is a one-line error naming it.
void load_full_state(torch::nn::Module& model,
                     const torch::OrderedDict<std::string, torch::Tensor>& full, int rank,
                     int world);

}  // namespace strata::moe
