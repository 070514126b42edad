#pragma once
// Training and measuring the expert predictor of data-aware offloading (nmt/model/
// expert_predictor.h; SiDA, issue 22) from an MoE model's own routing.
//
//   RoutingTargets t = collect_routing_targets(model, data, examples, tags);
//   PredictorTraining r = train_expert_predictor(ck, PredictorTrainOptions{}, stderr);
//   std::cout << predictor_table(r.valid);
//
// Targets: the MoE model runs the split's sentence pairs teacher-forced (as `strata analyze
// routing` does) and records every MoE layer's first choice (MoeAux::top1): per source token for
// encoder layers, and for decoder layers the set of experts the sentence's target tokens were
// routed to. Loss ("ce", the default): cross-entropy of each encoder layer's token logits against
// the router's first choice, plus binary cross-entropy of each decoder layer's sentence logits
// against that set. Loss "sida" (SiDA's truncated distillation for the encoder layers): 0.005 ·
// that cross-entropy (ce_weight) + L1 between the predictor's softmax and the router's
// probabilities at the router's K = min(30, E) most likely experts (the targets then also keep
// those probabilities).
#include <torch/torch.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nmt/model/checkpoint.h"
#include "nmt/model/expert_predictor.h"
#include "nmt/train/batcher.h"

namespace strata::nmt {

struct PredictorTrainOptions {
  std::string data_config;            // data config (YAML); empty = the one the model was trained on
  std::string split = "train";        // the split the predictor learns from
  std::string valid_split = "valid";  // the split its accuracy is measured on
  int max_sentences = 300;            // sentence pairs per direction of `split` (0 = all)
  int valid_sentences = 50;           // per direction of `valid_split` (0 = all)
  int64_t dim = 64;                   // ExpertPredictorOptions::dim
  bool freeze_embedding = false;      // keep the embedding as initialised (a projection of the model's)
  int64_t updates = 1500;
  int64_t batch_sentences = 64;
  double lr = 3e-3;                   // Adam
  uint64_t seed = 1;
  int64_t log_every = 100;
  std::string log_path;               // JSON lines (one record per log_every, then the accuracy); empty: none
  int64_t top_k = 2;                  // encoder layers: a token's experts in its k most likely
  double threshold = 0.5;             // decoder layers: experts with probability >= threshold
  std::string loss = "ce";            // "ce" or "sida" (above)
  double ce_weight = 0.005;           // loss "sida": the cross-entropy's weight (SiDA's 0.005)
};

// SiDA's truncation: the router's probabilities are kept at its min(kSidaTop, E) likeliest experts.
constexpr int64_t kSidaTop = 30;

// What the predictor learns from: sentence by sentence, the encoder input and the routing.
struct RoutingTargets {
  int64_t experts = 0;
  std::vector<std::string> encoder_layers, decoder_layers;  // names as in `strata analyze routing`
  std::vector<torch::Tensor> src;      // [S] i64 per sentence: the encoder input, no padding
  std::vector<torch::Tensor> encoder;  // [L_enc, S] i64 per sentence: first choices (-1: not routed)
  std::vector<torch::Tensor> decoder;  // [L_dec, E] f32 per sentence: first choices of its target tokens
  // With probabilities (collect_routing_targets' prob_top K > 0): per sentence [L_enc, S, K], the
  // router's K largest probabilities per source token (f32) and their experts (i16).
  std::vector<torch::Tensor> encoder_probs, encoder_prob_experts;
};

// Runs `examples` through the MoE `model` (teacher-forced, batches of 32, no gradient) and records
// every MoE layer's first choices, and with prob_top > 0 the encoder layers' prob_top largest
// router probabilities per token. Throws strata::Error for a model without MoE layers, and with
// prob_top > 0 for routers that give no probabilities.
RoutingTargets collect_routing_targets(Transformer& model, const ParallelData& data,
                                       const std::vector<Example>& examples, const LangTags& tags,
                                       int64_t prob_top = 0);

// Accuracy of one MoE layer's prediction.
struct LayerAccuracy {
  std::string name;
  bool encoder = true;
  int64_t count = 0;     // encoder: routed source tokens; decoder: sentences
  double top1 = 0;       // encoder: the predictor's most likely expert is the router's first choice
  double topk = 0;       // encoder: the router's first choice is among the predictor's top_k
  double table_top1 = -1;  // encoder: the same for a token-id table (token_table_accuracy); -1: not measured
  double recall = 0;     // decoder: of the experts the sentence's tokens used, the share predicted
  double precision = 0;  // decoder: of the predicted experts, the share used
  double coverage = 0;   // decoder: target tokens whose first choice was predicted for their sentence
  double predicted = 0;  // decoder: mean number of experts predicted per sentence
  double used = 0;       // decoder: mean number of experts used per sentence
};

struct PredictorReport {
  size_t sentences = 0;
  int64_t experts = 0, top_k = 2;
  double threshold = 0.5;
  std::vector<LayerAccuracy> layers;  // encoder MoE layers, then decoder MoE layers
};

PredictorReport evaluate_predictor(ExpertPredictorImpl& predictor, const RoutingTargets& targets,
                                   int64_t top_k, double threshold);

// The baseline a predictor must beat: each encoder layer's most frequent first choice per token id
// in `train` (unseen ids: the layer's most frequent expert), scored on `test` as LayerAccuracy::top1;
// written into `report`'s encoder layers as table_top1.
void token_table_accuracy(const RoutingTargets& train, const RoutingTargets& test, PredictorReport& report);

// The markdown table `strata predictor train|eval` prints, and the same numbers as JSON.
std::string predictor_table(const PredictorReport& report);
nlohmann::json predictor_json(const PredictorReport& report);

// Trains a predictor on `targets` (progress lines to `progress` when not null; options.log_path
// gets JSON lines). Deterministic for a given seed.
ExpertPredictor train_predictor_on(const RoutingTargets& targets, const torch::Tensor& model_embedding,
                                   const PredictorTrainOptions& options, std::FILE* progress);

struct PredictorTraining {
  ExpertPredictor predictor{nullptr};
  PredictorReport train, valid;  // accuracy on (the sentences of) each split
};

// The command: the MoE checkpoint's routing on options.split and options.valid_split, training,
// and the accuracy on both.
PredictorTraining train_expert_predictor(Checkpoint& ck, const PredictorTrainOptions& options,
                                         std::FILE* progress);

// The routing targets of `split` for a loaded checkpoint (max_sentences per direction).
RoutingTargets checkpoint_routing_targets(Checkpoint& ck, const std::string& data_config,
                                          const std::string& split, int max_sentences, int64_t prob_top = 0);

}  // namespace strata::nmt
