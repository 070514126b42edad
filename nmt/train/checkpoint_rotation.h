#pragma once
// The checkpoint files of a training run in train.out_dir: last.pt (weights, optimizer and
// trainer state: what a run resumes from), checkpoint_<update>.pt copies of the last
// train.keep_last saves, and best.pt (weights only: what translate and eval use). Writes are
// atomic.
// Usage:
//   CheckpointRotation files(tc.out_dir, tc.keep_last);
//   files.save({cfg, langs, spm_bytes}, model, &optimizer, state, /*best=*/vl < best_so_far);
#include <torch/torch.h>

#include <string>
#include <vector>

#include "nmt/config.h"
#include "nmt/model/checkpoint.h"

namespace strata::nmt {

// What every checkpoint of a run stores besides weights and state.
struct RunIdentity {
  const Config& cfg;                       // the run's configuration
  const std::vector<std::string>& langs;   // the model's languages
  const std::string& spm_model;            // serialized SentencePiece model
};

class CheckpointRotation {
 public:
  CheckpointRotation(std::string out_dir, int keep_last);
  std::string last_path() const { return out_dir_ + "/last.pt"; }
  // Writes last.pt and its numbered copy (removing copies beyond keep_last, oldest first) and,
  // when `best`, best.pt.
  void save(const RunIdentity& run, Transformer& model, torch::optim::Optimizer* optimizer,
            const TrainerState& state, bool best) const;

 private:
  std::string out_dir_;
  int keep_last_;
};

}  // namespace strata::nmt
