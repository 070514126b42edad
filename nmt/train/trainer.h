#pragma once
// `strata train`: Adam + inverse-sqrt warm-up, token-budget batches over temperature-sampled
// directions, gradient accumulation and clipping, per-direction validation (loss, BLEU, chrF),
// early stopping, atomic checkpoints (last K + best), exact resume, progress line + JSON log.
#include <string>

#include "moe/comm.h"
#include "nmt/config.h"

namespace strata::nmt {

struct TrainOptions {
  bool restart = false;  // ignore an existing last.pt in out_dir
  // Expert parallelism (docs/SCALING.md): this process is rank comm.rank of comm.world_size
  // (world 1: a single process, no communicator). Rank 0 prints, logs and writes checkpoints.
  moe::CommOptions comm;
};

// Trains per `cfg`; resumes from cfg.train.out_dir/last.pt when it exists (checkpoints hold the
// whole model, so a run resumes at any world size that divides model.moe.num_experts).
void train(const Config& cfg, const TrainOptions& opt);

}  // namespace strata::nmt
