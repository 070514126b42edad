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
  nmt::Config cfg;
  cfg.model.d_model = 16;
  cfg.model.heads = 2;
  cfg.model.ffn = 32;
  cfg.model.encoder_layers = 1;
  cfg.model.decoder_layers = 1;
  cfg.model.dropout = 0.0;
  cfg.model.max_positions = 32;
  cfg.train.max_len = 30;  // within max_positions - 2 (checkpoints validate their config)
  return cfg;
}

inline nmt::Transformer tiny_model(const nmt::Config& cfg, uint64_t seed = 1) {
  torch::manual_seed(seed);
  return nmt::build_model(cfg.model, kTinyVocab, 3);
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
