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

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "nmt/analysis/modularity_stats.h"
#include "nmt/model/transformer.h"

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
  // Perturbation (empty split = off): for each language L, perturb the neurons of the experts
  // that are functional for L (encoder layers: source language L; decoder layers: target
  // language L; the first partition of each layer) in `perturb_layers` (names such as enc1, dec2;
  // empty = all), versus as many random experts of the same layers and as many of the layers'
  // top-AP neurons for L; translate `perturb_sentences` of every direction of the split (greedy,
  // fp32) and report each direction's chrF drop from the unperturbed model. Modes:
  //   zero     the neurons' ReLU outputs are 0
  //   permute  the paper's permute-and-scale: the selected outputs of a forward call (rows ×
  //            positions × neurons) are replaced by a random permutation of them, × 4, ReLU
  //   route    MoE layers with a top-k router only: tokens may go only to L's functional experts
  //            ("functional") or to as many random non-functional ones ("random"), the Switch
  //            experiment of the paper without its few-shot tuning
  std::string perturb_split;
  int perturb_sentences = 20;
  std::vector<std::string> perturb_layers;
  std::vector<std::string> perturb_modes = {"zero", "permute", "route"};
};

// The perturbation modes, in order.
const std::vector<std::string>& perturbation_modes();

// One perturbation: its perturbed units and every direction's scores.
struct Perturbation {
  std::string lang;       // the language whose functional experts define it
  std::string mode;       // "zero", "permute", "route"
  std::string condition;  // "functional", "random", "top-AP" (not with route)
  int64_t experts = 0;    // experts perturbed (route: allowed) over the layers (top-AP: 0)
  int64_t neurons = 0;    // neurons perturbed over the layers (route: 0)
  std::map<std::pair<std::string, std::string>, double> chrf, bleu;  // (src, tgt)
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
  std::string perturb_split;                // the perturbation's split ("" = none)
  std::map<std::pair<std::string, std::string>, double> base_chrf, base_bleu;  // unperturbed
  std::vector<Perturbation> perturbations;  // languages × conditions
  double top = 0.01, alpha = 0.001;
};

// Zeroes hidden units of a model's FFN layers for the guard's lifetime, through the weights that
// read them (dense: fc2's columns and its LMS F banks' columns; MoE: the experts' w2 rows), which
// is the same as zeroing their ReLU outputs, in every forward pass and decoding step. units[l]:
// the neurons of FFN layer l (encoder layers, then decoder layers; MoE layers number their
// experts' neurons expert by expert). The destructor restores the weights bit for bit.
class UnitMask {
 public:
  UnitMask(TransformerImpl& model, const std::vector<std::vector<int64_t>>& units);
  ~UnitMask();
  UnitMask(const UnitMask&) = delete;
  UnitMask& operator=(const UnitMask&) = delete;

 private:
  std::vector<torch::Tensor> weights_, saved_;  // the changed tensors and their copies
};

// The permute-and-scale perturbation of hidden units (Zhang et al. 2023) for the guard's lifetime
// on this thread: in every FFN forward (each expert's call separately), the chosen units'
// post-ReLU outputs over all rows are replaced by a random permutation of those values, times
// `scale`, then ReLU. units[l] as for UnitMask. Seeded: the same calls give the same outputs.
class UnitPermutation {
 public:
  UnitPermutation(TransformerImpl& model, const std::vector<std::vector<int64_t>>& units,
                  uint64_t seed, double scale = 4.0);
  ~UnitPermutation();
  UnitPermutation(const UnitPermutation&) = delete;
  UnitPermutation& operator=(const UnitPermutation&) = delete;

 private:
  struct Hook;
  std::unique_ptr<Hook> hook_;
};

// Restricts the routing of MoE layers for the guard's lifetime: allowed[l] the experts tokens of
// FFN layer l may go to (empty: unrestricted). Throws strata::Error for a dense layer, a router
// that cannot be restricted, or fewer experts than the layer's top_k.
class RoutingRestriction {
 public:
  RoutingRestriction(TransformerImpl& model, const std::vector<std::vector<int64_t>>& allowed);
  ~RoutingRestriction();
  RoutingRestriction(const RoutingRestriction&) = delete;
  RoutingRestriction& operator=(const RoutingRestriction&) = delete;

 private:
  std::vector<torch::Tensor*> restricted_;
};

// Whether FFN layer `layer` of the model is an MoE layer whose routing RoutingRestriction can
// restrict.
bool routing_restrictable(TransformerImpl& model, size_t layer);

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
// then the stabilisation table (one row per earlier checkpoint) and the perturbation summary (mean
// chrF drop on the directions from L, into L and the others, per language, mode and condition,
// then averaged over the languages) when there are ones.
std::string modularity_tables(const ModularityReport& report);

// The heat map of one perturbation mode: one panel per language (its functional experts
// perturbed), rows the source languages, columns the target languages, darker = larger chrF drop
// (drops below 0 as 0).
void write_perturbation_heatmap(const ModularityReport& report, const std::string& mode,
                                const std::string& png_path, int cell_px = 12);

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
