#pragma once
// Configuration of training and translation (configs/*.yaml). A struct of structs, each field
// with its default and meaning; load_config() is the only code that reads YAML for the model,
// and to_yaml() writes the resolved config that every checkpoint stores.
#include <string>
#include <vector>

#include "kernels/precision.h"
#include "moe/moe_config.h"
#include "nmt/model/lms_config.h"

namespace strata::nmt {

struct ModelConfig {
  int d_model = 512;                // model width
  int heads = 8;                    // attention heads
  int ffn = 2048;                   // feed-forward hidden width
  int encoder_layers = 6;
  int decoder_layers = 6;
  double dropout = 0.1;             // residual/embedding dropout
  double attention_dropout = 0.0;   // on attention probabilities
  double activation_dropout = 0.0;  // on the FFN hidden activation
  int max_positions = 1024;         // longest sequence (tokens) the position table covers
  bool decoder_lang_tag = true;     // decoder's first token is >>tgt<< (false: </s>)
  moe::MoeConfig moe;               // sparse FFN layers (moe/moe_config.h)
  LmsConfig lms;                    // language-specific low-rank modules (nmt/model/lms_config.h)
};

struct TrainConfig {
  std::string data = "configs/data/core8.yaml";  // data config: corpus + SentencePiece model
  std::string out_dir = "work/models/run";       // checkpoints, logs
  int max_tokens = 4096;           // tokens per batch (source + target, padding included)
  int update_freq = 1;             // batches accumulated per update
  double lr = 5e-4;                // peak learning rate
  int warmup = 4000;               // linear warm-up updates, then inverse square root
  double warmup_init_lr = 1e-7;    // learning rate at update 0
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.98;
  double adam_eps = 1e-8;
  double weight_decay = 0.0;
  double clip_norm = 1.0;          // gradient norm clipping (0 = off)
  double label_smoothing = 0.1;
  double temperature = 5.0;        // direction sampling p_d ∝ n_d^(1/T)
  int max_len = 128;               // training pairs with a longer side (tokens) are skipped
  int max_updates = 0;             // stop after this many updates (0 = no limit)
  double max_minutes = 0;          // stop after this much wall time (0 = no limit)
  int valid_every = 1000;          // validate every N updates (and at the end)
  int valid_sentences = 20;        // valid sentences per direction for loss/BLEU/chrF
  int patience = 0;                // stop after N validations without a better loss (0 = off)
  int keep_last = 2;               // checkpoints kept besides best.pt and last.pt
  int log_every = 50;              // progress line every N updates
  int seed = 1;
  int threads = 0;                 // intra-op threads (0 = all cores)
  std::string device = "cpu";      // where the model trains: cpu, cuda or cuda:N (a CUDA LibTorch
                                   // build; kernels/device.h). Checkpoints are the same either way
  // Products of the forward and backward pass: fp32, or bf16 operands with fp32 accumulation,
  // master weights and Adam state (kernels/precision.h); auto = bf16 where the CPU has native bf16
  // dot products (AVX512_BF16), else fp32.
  kernels::Precision precision = kernels::Precision::kAuto;
  bool mask_placeholders = false;  // training rows: each placeholder, tag, URL or option of the
                                   // English (data/protect.h) and the same one in every
                                   // translation become numbered tokens %1 %2 …, as
                                   // `strata translate --format po|ftl|properties` sends them
  bool fuse_distillation = false;  // LMS models: two passes per batch (language-specific and
                                   // shared slot), loss ½(CE_ls + CE_sh) + fd_weight·sym. KL
  double fd_weight = 1.0;          // λ of the Fuse Distillation KL term
  std::string kd_teacher;          // word-level KD (Hinton et al. 2015; Kim & Rush 2016): teacher
                                   // checkpoint ("" = off); same vocabulary and languages
  double kd_weight = 0.5;          // α: loss (1 − α)·CE + α·Σ_tokens CE(p_teacher, p_student)
};

struct DecodeConfig {
  int beam = 4;            // beam size (1 = greedy)
  double lenpen = 1.0;     // length penalty: score / length^lenpen
  double max_len_a = 1.5;  // maximum output length a·source_len + b (tokens)
  int max_len_b = 10;
  int batch_size = 32;     // sentences per batch
  int nbest = 1;           // hypotheses printed per sentence
  int no_repeat_ngram_size = 0;     // > 0: no n-gram of this size twice in an output (0 = off)
  double repetition_penalty = 1.0;  // >= 1: CTRL penalty on generated tokens' logits (1 = off)
};

struct Config {
  ModelConfig model;
  TrainConfig train;
  DecodeConfig decode;
};

// Loads `path` with "a.b=value" overrides; unknown keys and wrong types are one-line errors
// naming the file and the dotted path. Validates cross-field rules.
Config load_config(const std::string& path, const std::vector<std::string>& overrides);
// Same, from YAML text (a checkpoint's stored config); `name` is used in errors.
Config parse_config(const std::string& yaml, const std::string& name);
// The resolved config as YAML text.
std::string to_yaml(const Config& c);

}  // namespace strata::nmt
