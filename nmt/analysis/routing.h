#pragma once
// Routing analysis of an MoE model on a benchmark split, teacher-forced on its references: per
// MoE layer the first-choice expert load, the agreement with the previous MoE layer of the same
// stack (fraction of tokens with the same first choice, and the normalised mutual information of
// the two layers' choices), and expert usage by language (encoder layers: source language; decoder
// layers: target language). `strata analyze routing` prints routing_tables() and writes
// routing_json() and write_routing_heatmap().
//   RoutingReport r = analyze_routing("best.pt", RoutingOptions{});
//   std::cout << routing_tables(r);
//   write_routing_heatmap(r, "routing.png");
//   std::ofstream("routing.json") << routing_json(r, "routing.png").dump(2) << "\n";
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "nmt/model/checkpoint.h"
#include "nmt/model/transformer.h"
#include "nmt/train/batcher.h"

#include "kernels/precision.h"

namespace strata::nmt {

struct RoutingOptions {
  std::string split = "valid";  // split of the data config (<out_dir>/<split>.tsv)
  std::string data_config;      // data config (YAML); empty = the one the model was trained on
  int max_sentences = 200;      // sentence pairs per direction (0 = all)
  kernels::ComputeType compute_type = kernels::ComputeType::kFloat32;  // of the forward passes (auto: for the model's width)
};

// First-choice counts of one MoE layer.
struct LayerRouting {
  std::string name;                        // "enc0", "dec1", ...: stack and layer index
  bool encoder = true;                     // an encoder layer (usage by source language)
  int prev = -1;                           // index of the previous MoE layer of the same stack
  std::vector<double> load;                // [E] first-choice counts
  std::vector<std::vector<double>> usage;  // [language][E] first-choice counts
  torch::Tensor joint;                     // [E, E] f64 counts (prev layer's choice, this one's)
};

struct RoutingReport {
  std::string model;                 // checkpoint path
  std::string split;                 // split analysed
  size_t sentences = 0;              // sentence pairs run through the model
  int64_t num_experts = 0;           // experts per MoE layer (E)
  std::string router;                // model.moe.router
  bool shared_router = false;        // model.moe.shared_router (Omni)
  std::vector<std::string> langs;    // the split's languages
  std::vector<bool> known;           // [language] the model has it and its tag
  std::vector<LayerRouting> layers;  // the MoE layers, encoder's then decoder's, bottom up
};

// A benchmark split as the analyses read it: the sentence pairs of every direction whose two
// languages the model has (and has tags for), up to max_sentences per direction (0 = all).
struct AnalysisSplit {
  std::string path;                    // <out_dir>/<split>.tsv
  std::vector<std::string> langs;      // the split's languages
  std::vector<bool> known;             // [language] the model has it and its tag
  std::unique_ptr<LangTags> tags;      // lays out batches over langs
  std::unique_ptr<ParallelData> data;  // the split's rows, tokenised
  std::vector<Example> examples;       // direction by direction
};

// Throws strata::Error for a missing split or one without a usable pair. data_config: the data
// config (YAML); empty = the one the model was trained on.
AnalysisSplit load_analysis_split(const Checkpoint& ck, const data::Tokenizer& tok,
                                  const std::string& data_config, const std::string& split,
                                  int max_sentences);

// Loads the checkpoint, runs up to max_sentences pairs of every direction of the split whose
// languages the model has, and counts first choices. Throws strata::Error for a dense model, a
// missing split or a split without a usable pair.
RoutingReport analyze_routing(const std::string& model_path, const RoutingOptions& options);

// The MoE layers of `model` with zero counts, for `num_langs` languages.
std::vector<LayerRouting> moe_layers(const Transformer& model, int64_t num_langs);

// Runs `examples` through `model` (teacher-forced, batches of 32, no gradient) and adds their
// first choices to `layers` (from moe_layers()); `tags` lays the batches out (nmt/lang_tags.h).
void count_routing(Transformer& model, const ParallelData& data,
                   const std::vector<Example>& examples, const LangTags& tags,
                   std::vector<LayerRouting>& layers);

// The markdown tables `strata analyze routing` prints: load, agreement and NMI per layer, then
// expert usage by language per layer.
std::string routing_tables(const RoutingReport& report);

// The languages of the heat map's rows (the split's languages the model has, in split order).
std::vector<std::string> heatmap_rows(const RoutingReport& report);

// The heat map: one panel per MoE layer in table order; rows heatmap_rows(), columns experts;
// darker = larger share of the language's tokens (scaled to the panel's maximum).
void write_routing_heatmap(const RoutingReport& report, const std::string& png_path,
                           int cell_px = 12);

// routing.json: the report, per layer its load shares, max/mean, agreement, NMI and usage shares,
// and the heat map's file, rows and cell size.
nlohmann::json routing_json(const RoutingReport& report, const std::string& png_path,
                            int cell_px = 12);

}  // namespace strata::nmt
