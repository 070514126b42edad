#pragma once
// Exact resume (docs/ARCHITECTURE.md "Data flow details"): what a run saves besides the weights
// (the batch stream's position, LibTorch's RNG of every rank, Adam's state) and how a run picks
// it up again, at any world size that divides the number of experts.
// Usage:
//   std::optional<Checkpoint> ck = load_resume_checkpoint(last, cfg, langs, opt.restart);
//   if (ck) { /* load the weights */ restore_training_state(last, *ck->trainer, ...); }
//   ...
//   if (capture_training_state(...)) files.save(...);  // at every save, on every rank
#include <torch/torch.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "moe/comm.h"
#include "nmt/config.h"
#include "nmt/model/checkpoint.h"
#include "nmt/train/batcher.h"

namespace strata::nmt {

torch::Tensor get_rng_state();                // LibTorch's default CPU generator
void set_rng_state(const torch::Tensor& state);
// The default generator of a CUDA device (dropout on the GPU draws from it); undefined for the CPU.
torch::Tensor get_device_rng_state(const torch::Device& device);
void set_device_rng_state(const torch::Device& device, const torch::Tensor& state);

// Adam's state tensors (moments) onto `device`: a checkpoint's state loads on the CPU.
void move_optimizer_state(torch::optim::Adam& optimizer, const torch::Device& device);

// The ranks of an expert-parallel run (world 1: one process, no communicator).
struct Ranks {
  int world = 1;                              // number of processes
  int rank = 0;                               // this process
  std::shared_ptr<moe::Communicator> comm;    // null at world 1
  bool chief() const { return rank == 0; }   // rank 0 prints, logs and writes checkpoints
};

// `last` (out_dir/last.pt) when it exists and !restart, checked against this run: the same model
// config and languages, and a trainer state. nullopt: a fresh start.
std::optional<Checkpoint> load_resume_checkpoint(const std::string& last, const Config& cfg,
                                                 const std::vector<std::string>& langs,
                                                 bool restart);

// After the weights are loaded and moved to their device: Adam's state from `last` (expert
// parallelism: the whole state, then this rank's slice; `full` is the whole model) on that device,
// the batch stream's position, the GPU's generator (dropout) and this rank's RNG (a rank the
// saving run did not have: seeded from train.seed, rank and update).
void restore_training_state(const std::string& last, const TrainerState& state,
                            const TrainConfig& tc, const Ranks& ranks,
                            torch::optim::Adam& optimizer, Transformer& model, Transformer& full,
                            BatchSampler& sampler);

// Before a save: the stream position and RNGs (the CPU's, and the GPU's when the model is on
// one) into `state`. Expert parallelism (collectives: every rank calls): also every rank's RNG and
// the whole Adam state, gathered into `whole` (an Adam over `full`). Returns the optimizer whose state to save, or nullptr on the ranks that
// write nothing (all but rank 0).
torch::optim::Adam* capture_training_state(TrainerState& state, const BatchSampler& sampler,
                                           const Ranks& ranks, torch::optim::Adam& optimizer,
                                           Transformer& model, Transformer& full,
                                           std::unique_ptr<torch::optim::Adam>& whole);

}  // namespace strata::nmt
