#pragma once
// Modularity analysis of a checkpoint on a benchmark split (Zhang et al., "Emergent Modularity in
// Pre-trained Transformers", Findings ACL 2023; docs/methods §8), for many-to-many MT:
//   1. activations: every FFN neuron's ReLU output, teacher-forced on the references; encoder
//      layers keyed by the source language, decoder layers by the target language. Sentence-level
//      sub-functions use the maximum over the sentence's non-pad positions, the token-level one
//      each token's own activation. MoE layers: every expert's neurons on every token (whether
//      routed there or not: the neurons' function; where tokens go is `analyze routing`).
//   2. predictivity of each neuron for each sub-function ("source language is L", "target
//      language is L", "the token is part of a placeholder, markup or number"): AP = max(AP(y),
//      AP(1 − y)) on up to `examples` positives and as many negatives.
//   3. experts: MoE layers' own experts; dense layers MoEfied into `experts` equal groups by
//      balanced k-means on L2-normalised input weights and by a METIS partition of the
//      co-activation graph; a random partition of the same sizes as the baseline. An expert is
//      functional for a sub-function when more of the layer's top-`top` neurons for it fall in
//      the expert than a hypergeometric draw would put there (p ≤ alpha); at function level
//      (the languages together; the markup function) a binomial test with p = 1/E.
//   ModularityReport r = analyze_modularity("best.pt", ModularityOptions{});
//   std::cout << modularity_tables(r);
//   write_modularity_heatmap(r, "modularity.png");
//   write_file_atomically("modularity.json", modularity_json(r, "modularity.png").dump(2));
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nmt/analysis/modularity_stats.h"

namespace strata::nmt {

struct ModularityOptions {
  std::string split = "valid";  // split of the data config (<out_dir>/<split>.tsv)
  std::string data_config;      // data config (YAML); empty = the one the model was trained on
  int max_sentences = 25;       // sentence pairs per direction (0 = all)
  int examples = 1000;          // at most this many positives and as many negatives per sub-function
  int experts = 16;             // MoEfication: experts per dense layer (must divide its ffn)
  double top = 0.01;            // share of a layer's neurons selected per sub-function
  double alpha = 0.001;         // significance of the tests
  uint64_t seed = 1;            // example sampling, k-means seeding, METIS, random partition
  // Stabilisation: earlier checkpoints of the same run, each measured on the same examples and
  // compared with the analysed one (Spearman of neuron and expert predictivity).
  std::vector<std::string> checkpoints;
};

// The token-level sub-function: a SentencePiece piece that belongs to a placeholder, markup or a
// number (it holds a digit or one of % { } < > & $ \ [ ]: printf and brace placeholders, tags,
// entities, shell variables).
bool markup_piece(const std::string& piece);

// One binary sub-function of a stack's inputs.
struct SubFunction {
  std::string name;    // "src=de", "tgt=fr", "markup"
  int lang = -1;       // language index (languages), -1 for the token-level one
  int64_t positives = 0, negatives = 0;  // examples it was measured on
};

// The functional tests of one partition of a layer's neurons into experts.
struct PartitionTests {
  std::string kind;                  // "experts" (the MoE layer's own), "kmeans", "coactivation", "random"
  int64_t num_experts = 0;
  std::vector<int> expert_of;        // [neurons] expert of each neuron
  std::vector<FunctionalTest> sub;   // per sub-function of the stack (hypergeometric)
  FunctionalTest languages;          // the language sub-functions together (binomial)
  FunctionalTest markup;             // the markup sub-function (binomial)
};

struct LayerModularity {
  std::string name;                        // "enc0", "dec2": stack and layer index
  bool encoder = true;
  bool moe = false;                        // a sparse layer (its experts' neurons)
  int64_t neurons = 0;
  std::vector<std::vector<float>> ap;      // [sub-function][neuron] predictivity
  std::vector<std::vector<int64_t>> top;   // [sub-function] the selected neurons, best first
  std::vector<PartitionTests> partitions;  // moe: experts, random; dense: kmeans, coactivation, random
};

// One earlier checkpoint against the analysed one: per layer, the Spearman correlation of its
// neurons' AP (neuron level) and of its experts' mean AP (expert level: the analysed checkpoint's
// first partition, and its random one as the baseline) with the analysed checkpoint's, averaged
// over the layer's sub-functions.
struct StabilityPoint {
  std::string checkpoint;
  int64_t update = -1;                       // its training updates (-1: not a training checkpoint)
  std::vector<double> neuron, expert, random;  // [layer]
};

struct ModularityReport {
  std::string model, split;
  int64_t update = -1;                      // the model's training updates (-1: unknown)
  size_t sentences = 0;                     // sentence pairs run
  int64_t tokens = 0;                       // non-pad positions seen (source + decoder input)
  std::vector<std::string> langs;           // the split's languages
  std::vector<SubFunction> encoder_functions, decoder_functions;
  std::vector<LayerModularity> layers;      // encoder layers bottom up, then decoder layers
  std::vector<StabilityPoint> stability;    // by update
  double top = 0.01, alpha = 0.001;
};

// Loads the checkpoint and runs the analysis. Throws strata::Error for a missing split, a split
// without usable pairs, or an `experts` that does not divide a dense layer's width.
ModularityReport analyze_modularity(const std::string& model_path, const ModularityOptions& options);

// The layer's tests once activations and their AP are known: the top neurons per sub-function and
// each partition's tests (exposed for the tests). `first_weights` [neurons, d]: the input weights
// (k-means); `coactive` [neurons, neurons]: co-activation counts (METIS); MoE layers use
// `expert_size` blocks instead of both.
void test_layer(LayerModularity& layer, const std::vector<SubFunction>& functions,
                const torch::Tensor& first_weights, const torch::Tensor& coactive,
                int64_t expert_size, const ModularityOptions& options);

// Markdown: per layer the best and top-1% mean AP of each sub-function, then per layer and
// partition the share of functional experts and the modularisation extent (languages, markup,
// mean over the language sub-functions), then per layer the experts functional for each language,
// then the stabilisation table (one row per earlier checkpoint) when there is one.
std::string modularity_tables(const ModularityReport& report);

// The heat map: one panel per layer, rows the sub-functions of its stack, columns the experts of
// its first partition (MoE: its own experts; dense: k-means), cell = count of selected neurons in
// the expert over the count expected by chance (N/E), 0 when not functional.
void write_modularity_heatmap(const ModularityReport& report, const std::string& png_path,
                              int cell_px = 12);

// Every number: options, sub-functions, per layer the AP distribution (quantiles, best neurons),
// per partition and sub-function the counts, threshold, functional experts, share and extent;
// the stabilisation points.
nlohmann::json modularity_json(const ModularityReport& report, const std::string& png_path);

}  // namespace strata::nmt
