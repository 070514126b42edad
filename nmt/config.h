#pragma once
// Configuration of training and translation (configs/*.yaml). A struct of structs, each field
// with its default and meaning; load_config() is the only code that reads YAML for the model,
// and to_yaml() writes the resolved config that every checkpoint stores.
#include <string>
#include <vector>

namespace strata::nmt {

// Sparse FFN layers (issue 5): `model.moe` in YAML.
struct MoeConfig {
  std::string type = "none";        // none | switch (top-1) | gshard (top-2) | smoe (stratified)
  int num_experts = 8;
  int expert_ffn = 0;               // hidden width of each expert (0: model.ffn)
  int top_k = 0;                    // 0: from type (switch 1, gshard 2)
  int every_k_layers = 2;           // layer i is sparse when (i + 1) % k == 0
  double capacity_factor = 1.25;    // training; <= 0: dropless
  double eval_capacity = 0.0;       // capacity factor at inference; <= 0: dropless
  double aux_loss_weight = 0.01;    // load-balancing loss weight (mean over MoE layers)
  double z_loss_weight = 0.0;       // router z-loss weight (ST-MoE uses 1e-3)
  std::vector<int> strata;          // smoe: experts per stratum, e.g. [4, 4]; sums to num_experts
  double eom = 0.0;                 // expert-output masking probability (NLLB: 0.1-0.2; 0: off)
  double expert_ffn_dropout = 0.0;  // dropout on the experts' hidden activation (Switch: 0.4 when fine-tuning)
  // Router of switch/gshard layers (issue 7):
  //   topk  softmax gate, top-k choices (Switch: raw probability; GShard: renormalised top-2)
  //   sigma σ-MoE (Csordás et al. 2023): sigmoid gates, top_k in [1, num_experts] without
  //         renormalisation, dropless (capacities ignored), expert_dropout, σ-MoE init; its aux
  //         loss is the entropy regulariser −H(mean softmax) (use aux_loss_weight ~1e-3)
  //   ac    Adaptive Clustering (Nielsen et al. 2025): routes in a feature space re-weighted by
  //         the dispersion of each previous-layer expert's tokens (running statistics at inference)
  std::string router = "topk";
  bool shared_router = false;       // Omni-router: one router weight shared by all MoE layers
  double expert_dropout = 0.0;      // sigma: drop each (token, expert) score before top-k (0.05)
  std::string ac_dispersion = "mad";  // ac: mad (mean absolute deviation) | var (variance)
  double ac_momentum = 0.1;         // ac: EMA momentum of the running dispersion statistics
  int resolved_top_k() const { return top_k > 0 ? top_k : (type == "gshard" ? 2 : 1); }
};

// Language-specific low-rank modules, LMS (issue 6): `model.lms` in YAML. Dense FFN fc1/fc2 (and
// with placement ffn_attn the attention projections) get W = W_s + V[·]·F[·] per sentence.
struct LmsConfig {
  std::string mode = "none";        // none | pair (V[src]·F[tgt]) | lang (V[src]·F[src])
  int rank = 4;                     // r of V [(N+1), d_out, r] and F [(N+1), r, d_in]
  std::string placement = "ffn";    // ffn (fc1, fc2) | ffn_attn (also attention q/k/v/out)
  int every_k_layers = 1;           // layer i has LMS when (i + 1) % k == 0
};

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
  MoeConfig moe;
  LmsConfig lms;
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
