#pragma once
// Checkpoints: one file holding the format version, the resolved config (YAML), the language
// list, the SentencePiece model, the model weights and, for training checkpoints, the optimizer
// and trainer state. Written atomically (temp file + rename); validated on load (format version,
// config, tensor names and shapes), with one-line errors naming the file.
#include <torch/torch.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/spm.h"
#include "nmt/config.h"
#include "nmt/model/transformer.h"

namespace strata::nmt {

constexpr int64_t kCheckpointFormat = 1;

// Trainer state stored with a training checkpoint.
struct TrainerState {
  int64_t updates = 0;
  int64_t pool = 0, batch = 0;  // BatchSampler position
  double best_valid_loss = 1e30;
  int64_t bad_validations = 0;
  double elapsed_s = 0;
  torch::Tensor rng_state;  // LibTorch's default CPU generator
};

struct Checkpoint {
  Config config;
  std::vector<std::string> langs;
  std::string spm_model;  // serialized SentencePiece model
  Transformer model{nullptr};
  std::optional<TrainerState> trainer;
};

// The one place mapping the MoE config to layer options.
MoeOptions moe_options(const MoeConfig& c);

// Builds an initialised model for `config` and `vocab_size` tokens.
Transformer build_model(const ModelConfig& config, int64_t vocab_size);

// Saves atomically; `optimizer` and `trainer` may be null (inference checkpoint).
void save_checkpoint(const std::string& path, const Config& config,
                     const std::vector<std::string>& langs, const std::string& spm_model,
                     Transformer& model, torch::optim::Optimizer* optimizer,
                     const TrainerState* trainer);

// Loads and validates.
Checkpoint load_checkpoint(const std::string& path);

// Loads a training checkpoint's optimizer state into an optimizer built over the parameters of
// the model that load_checkpoint(path) returned.
void load_optimizer_state(const std::string& path, torch::optim::Optimizer& optimizer);

// A tokenizer from the checkpoint's stored SentencePiece model.
std::unique_ptr<data::Tokenizer> checkpoint_tokenizer(const Checkpoint& ckpt);

}  // namespace strata::nmt
