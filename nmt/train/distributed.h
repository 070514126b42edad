#pragma once
// Expert-parallel training (`strata train --nproc N`, or `--rank R --world-size W ...`): the pieces
// the trainer adds around moe/expert_parallel.h, and the checkpoint layouts of
// `strata checkpoint split/merge`. docs/SCALING.md describes the whole scheme.
//
// Rank r of W holds experts [r·E/W, (r+1)·E/W) of every MoE layer; everything else is replicated
// and must stay bitwise identical on every rank (same initialisation, averaged gradients, the same
// global-norm clipping, the same optimizer, rank 0's buffers). Checkpoints are always whole (the
// layout of one process holding all experts), so they load at any world size that divides E.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "moe/comm.h"
#include "nmt/model/checkpoint.h"

namespace strata::nmt {

// Every parameter and buffer of `m` by name (what moe::load_full_state reads).
torch::OrderedDict<std::string, torch::Tensor> module_state(torch::nn::Module& m);

// Rows of every rank's `shard` ([n, …], the same n on every rank) concatenated by rank on rank 0
// ([W·n, …]); undefined on the other ranks. A collective: every rank calls it.
torch::Tensor gather_rows_to_root(const torch::Tensor& shard, moe::Communicator& comm);

// Adam state of the rank's `model` (expert-parallel) gathered whole into `full_opt` (an Adam over
// `full`, a model with the same parameter names holding all experts) on rank 0. A collective.
void gather_optimizer_state(torch::optim::Adam& opt, torch::nn::Module& model,
                            torch::optim::Adam& full_opt, torch::nn::Module& full,
                            moe::Communicator& comm);

// The inverse, without communication: rank `rank` of `world` takes its slice of `full_opt`'s
// state (expert parameters) and a copy of the rest.
void slice_optimizer_state(torch::optim::Adam& full_opt, torch::nn::Module& full,
                           torch::optim::Adam& opt, torch::nn::Module& model, int rank, int world);

// clip_grad_norm_ over the whole (all ranks') model: the norm counts every expert once, so every
// rank gets the same coefficient (and world W gives what world 1 gives). Returns the norm.
double clip_grad_norm_global(torch::nn::Module& model, double max_norm, moe::Communicator& comm);

// Rank 0's non-expert buffers to every rank (data-dependent buffers such as the AC router's
// running dispersion would otherwise drift apart), like DDP's broadcast_buffers.
void broadcast_buffers(torch::nn::Module& model, moe::Communicator& comm);

// Rank 0's `v` on every rank.
double broadcast_value(double v, moe::Communicator& comm);

// The replicated (non-expert) parameters must be equal on every rank: compares per-parameter
// checksums (sum, sum of |x|) over ranks and throws a one-line error naming the first parameter
// that differs by more than `rel_tol` (relative). Returns the largest relative difference seen.
double check_replicas(torch::nn::Module& model, moe::Communicator& comm, double rel_tol);

// ---- Split checkpoints (`strata checkpoint split/merge`) ----

// `<prefix>.rank<r>-of-<W>.pt`
std::string shard_path(const std::string& prefix, int rank, int world);

// Writes `world` shard files of the whole checkpoint `in`: shard r holds rank r's experts, a copy
// of the rest (the same config, languages, SentencePiece model, trainer state) and, for a training
// checkpoint, the matching slice of the optimizer state. Returns the paths written.
std::vector<std::string> split_checkpoint(const std::string& in, int world,
                                          const std::string& prefix);

// Reassembles shard files (any order) into one whole checkpoint at `out`. Validated: every rank of
// one world size exactly once, the same config, languages and SentencePiece model, equal replicated
// parameters, shapes; one-line errors naming the file.
void merge_checkpoint(const std::vector<std::string>& shards, const std::string& out);

}  // namespace strata::nmt
