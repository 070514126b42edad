#pragma once
// Checkpoints: one file holding the format version, the resolved config (YAML), the language
// list, the SentencePiece model, the model weights and, for training checkpoints, the optimizer
// and trainer state. Written atomically (temp file + rename); validated on load (format version,
// config, tensor names and shapes), with one-line errors naming the file.
#include <torch/torch.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/spm.h"
#include "kernels/linear.h"
#include "nmt/config.h"
#include "nmt/model/compressed_experts.h"
#include "nmt/model/transformer.h"

namespace strata::nmt {

// 2: adds "integrity", a SHA-256 over the config, languages, SentencePiece model, model tensors
// and trainer state, verified on load. Format 1 files still load (their zip CRCs are checked).
// 3: adds "compressed" (MoE layers stored compressed, `strata compress`); written only by files
// that hold compressed layers, so every other file stays readable by format-2 readers.
// 4: adds "int8" (packable weights stored as int8 with per-row scales, `strata quantize`); written
// only by int8 files.
// 5: adds "external_experts" (a slim checkpoint: the experts' w1/b1/w2 are in an expert file, not
// here; `strata checkpoint experts --slim`); written only by slim files.
constexpr int64_t kCheckpointFormat = 5;

// Int8 weights by full parameter name (kernels/linear.h).
using Int8Weights = std::map<std::string, kernels::Int8Weight>;

// Trainer state stored with a training checkpoint.
struct TrainerState {
  int64_t updates = 0;
  int64_t pool = 0, batch = 0;  // BatchSampler position
  double best_valid_loss = 1e30;
  int64_t bad_validations = 0;
  double elapsed_s = 0;
  torch::Tensor rng_state;  // LibTorch's default CPU generator
  // Expert-parallel runs: the generator state of every rank ([W, n] u8, row r = rank r; row 0
  // equals rng_state); undefined for single-process runs.
  torch::Tensor rank_rng_states;
  // The default generator of the CUDA device that trained (train.device); undefined on the CPU.
  torch::Tensor device_rng_state;
};

struct Checkpoint {
  Config config;
  std::vector<std::string> langs;
  std::string spm_model;  // serialized SentencePiece model
  Transformer model{nullptr};
  std::optional<TrainerState> trainer;
  // Layers stored compressed in the file (restored into `model` on load, or on dispatch).
  CompressedModel compressed;
  // With LoadOptions::expert_memory: the cache the compressed layers restore their experts into
  // (or that an expert file's experts are read into).
  std::shared_ptr<moe::ExpertCache> expert_cache;
  // The stored integrity digest (format >= 2; empty for format 1): what expert files are bound to.
  std::string digest;
  // The file stored its packable weights in int8 (`strata quantize`; format 4).
  bool int8 = false;
  // A slim file (format 5): it holds no expert weights; they came from LoadOptions::expert_file
  // (then `digest` is the digest of the checkpoint the experts were taken from).
  bool slim = false;
};

struct LoadOptions {
  // >= 0: compressed layers are not restored at load time; each expert is restored when it is
  // dispatched, into one cache of this many bytes for the whole model (moe/expert_store.h), and
  // their dense weights are freed. Inference only. < 0: restored at load time.
  int64_t expert_memory = -1;
  // Or, when >= 0 (and expert_memory < 0), this share of the compressed layers' dense f32 weights
  // (w1, b1, w2 of every expert).
  double expert_memory_share = -1;
  // An expert file of this checkpoint (nmt/model/expert_file.h, `strata checkpoint experts`):
  // every MoE layer reads its experts from it on dispatch, into the cache of expert_memory bytes
  // (or share), and their weights loaded from the checkpoint are freed. Needs a budget. A slim
  // checkpoint (save_slim_checkpoint) needs one, and its experts are never allocated.
  std::string expert_file;
  // Int8 checkpoints: the int8 weights stay int8 only (their fp32 parameters become placeholders
  // without memory): the model then runs in the int8 compute types only. Else they are dequantized
  // into the fp32 parameters (any use), and the int8 compute types still pack the stored values.
  bool int8_only = false;
};

// The one place mapping the LMS config to layer options (num_langs: the model's languages).
LmsOptions lms_options(const LmsConfig& c, int64_t num_langs);

// Builds an initialised model for `config` and `vocab_size` tokens; `num_langs` (the checkpoint's
// languages) sizes the LMS banks and is required when config.lms.mode is not none. With `comm`
// (expert parallelism) every MoE layer holds only rank comm->rank()'s experts.
Transformer build_model(const ModelConfig& config, int64_t vocab_size, int64_t num_langs = 0,
                        std::shared_ptr<moe::Communicator> comm = nullptr);

// One rank's file of a split checkpoint (`strata checkpoint split`, docs/SCALING.md): the model
// holds only that rank's experts.
struct ShardInfo {
  int rank = 0, world = 1;
};

// Saves atomically; `optimizer` and `trainer` may be null (inference checkpoint). With `shard`,
// `model` is rank shard->rank's part of an expert-parallel model and the file is marked as a shard.
// With `compressed`, those Experts modules are stored in their compressed form instead of `model`'s
// tensors (loading restores them). With `int8_weights`, every packable weight (linear layers,
// experts, the shared embedding/output layer) is stored in int8 with per-row scales.
void save_checkpoint(const std::string& path, const Config& config,
                     const std::vector<std::string>& langs, const std::string& spm_model,
                     Transformer& model, torch::optim::Optimizer* optimizer,
                     const TrainerState* trainer, const ShardInfo* shard = nullptr,
                     const CompressedModel* compressed = nullptr, bool int8_weights = false);

// The inference checkpoint of `ck` without its experts' w1, b1 and w2: those live in the expert
// file that write_expert_file(…, ck.digest) writes (nmt/model/expert_file.h), which loading the
// slim file then requires (LoadOptions::expert_file and a budget), so that no process ever holds
// every expert, not even while loading. Everything else (b2 included) is stored as usual; the
// trainer and optimizer state are dropped. Its own integrity digest covers what it holds and
// ck.digest, which stays the model's digest (expert files and predictors bind to it).
// `ck` must hold its experts (no compressed layers, no int8 weights, no expert source).
void save_slim_checkpoint(const std::string& path, const Checkpoint& ck);

// Every packable weight of `model` in int8 (kernels::PackableModule::int8_weights), by full
// parameter name: what save_checkpoint(..., int8_weights = true) stores.
Int8Weights collect_int8_weights(torch::nn::Module& model);

// Loads and validates. A shard file is an error naming `strata checkpoint merge`.
Checkpoint load_checkpoint(const std::string& path, const LoadOptions& options = {});

// Loads a shard file: the model is built holding rank `info`'s experts (its communicator only
// knows its rank and world; collectives throw). `info` gets the shard's rank and world.
Checkpoint load_shard(const std::string& path, ShardInfo* info);

// A communicator that only knows its place (rank of world) and refuses every collective: for
// building an expert-parallel model's shard outside a distributed run.
std::shared_ptr<moe::Communicator> placement_only_communicator(int rank, int world);

// Loads a training checkpoint's optimizer state into an optimizer built over the parameters of
// the model that load_checkpoint(path) returned.
void load_optimizer_state(const std::string& path, torch::optim::Optimizer& optimizer);

// `strata distill condense`: the dense model of an LMS checkpoint's shared side. Every LMS linear
// becomes a plain Linear with weight W_s + V[N]·F[N]; the config gets model.lms.mode none and
// train.fuse_distillation false; languages, SentencePiece model and decode config are kept, the
// trainer state is dropped. Throws strata::Error naming `name` for a model without LMS layers.
Checkpoint condense_lms(const Checkpoint& lms, const std::string& name);

// A tokenizer from the checkpoint's stored SentencePiece model.
std::unique_ptr<data::Tokenizer> checkpoint_tokenizer(const Checkpoint& ckpt);

}  // namespace strata::nmt
