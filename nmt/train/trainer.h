#pragma once
// `strata train`: Adam + inverse-sqrt warm-up, token-budget batches over temperature-sampled
// directions, gradient accumulation and clipping, per-direction validation (loss, BLEU, chrF),
// early stopping, atomic checkpoints (last K + best), exact resume, progress line + JSON log.
#include <string>

#include "nmt/config.h"

namespace strata::nmt {

struct TrainOptions {
  bool restart = false;  // ignore an existing last.pt in out_dir
};

// Trains per `cfg`; resumes from cfg.train.out_dir/last.pt when it exists.
void train(const Config& cfg, const TrainOptions& opt);

}  // namespace strata::nmt
