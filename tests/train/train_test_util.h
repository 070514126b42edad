#pragma once
// Tiny configurations, models and batches for the tests of nmt/train (no data on disk).
#include <torch/torch.h>

#include <string>
#include <vector>

#include "nmt/config.h"
#include "nmt/lang_tags.h"
#include "nmt/model/checkpoint.h"
#include "nmt/train/batcher.h"

namespace strata::test {

constexpr int64_t kTinyVocab = 40;

// A 1 + 1 layer model of width 16 without dropout (two passes give the same numbers).
inline nmt::Config tiny_config() {
  // max_len within max_positions - 2: checkpoints validate their config.
  return nmt::parse_config(
      "model: {d_model: 16, heads: 2, ffn: 32, encoder_layers: 1, decoder_layers: 1, "
      "dropout: 0.0, max_positions: 32}\n"
      "train: {max_len: 30}\n",
      "tiny_config");
}

inline nmt::Transformer tiny_model(const nmt::Config& cfg, uint64_t seed = 1) {
  torch::manual_seed(seed);
  return nmt::build_model(cfg.model, kTinyVocab, 3);
}

// An LMS model (pair, rank 2) trained with Fuse Distillation (weight `fd_weight`), its banks
// moved away from zero so that the language-specific and shared sides differ.
inline nmt::Transformer tiny_fd_model(nmt::Config& cfg, double fd_weight) {
  cfg.model.lms.mode = nmt::LmsMode::kPair;
  cfg.model.lms.rank = 2;
  cfg.train.fuse_distillation = true;
  cfg.train.fd_weight = fd_weight;
  nmt::Transformer m = tiny_model(cfg);
  for (auto& p : m->named_parameters())
    if (p.key().find("lms_") != std::string::npos) p.value().data().normal_(0, 0.5);
  return m;
}

// Two sentence pairs (en->de, de->fr) over 3 languages with tags 4, 5, 6; some padding.
struct TinyBatch {
  std::vector<std::vector<int>> ids{{7, 8, 9}, {10, 11}, {12}, {13, 14, 15, 16}};
  nmt::Batch batch;
  TinyBatch() {
    nmt::LangTags tags({"en", "de", "fr"}, {4, 5, 6}, true);
    static_cast<nmt::TaggedBatch&>(batch) =
        nmt::lay_out_batch(tags, {{&ids[0], 1, &ids[1]}, {&ids[2], 2, &ids[3]}});
    batch.examples = {{0, 0, 1}, {1, 1, 2}};
  }
};

// Every parameter's gradient, cloned (undefined where there is none).
inline std::vector<torch::Tensor> grads(torch::nn::Module& m) {
  std::vector<torch::Tensor> g;
  for (auto& p : m.parameters()) g.push_back(p.grad().defined() ? p.grad().clone() : torch::Tensor());
  return g;
}

inline bool same_grads(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].defined() != b[i].defined()) return false;
    if (a[i].defined() && !torch::equal(a[i], b[i])) return false;
  }
  return true;
}

}  // namespace strata::test
