#pragma once
// An untrained tiny checkpoint on the tiny corpus (tests/torch_test_util.h), for the library tests
// of what runs a saved model (routing analysis, KD data, scoring).
//   std::string data_yaml = test::make_tiny_corpus(d);
//   auto ck = test::save_tiny_checkpoint(d, data_yaml, "moe", test::kSwitchEveryLayer);
#include <string>
#include <vector>

#include "data/spm.h"
#include "nmt/config.h"
#include "nmt/model/checkpoint.h"
#include "tests/torch_test_util.h"

namespace strata::test {

// model_extra of a Switch model with 4 experts in every layer.
inline const std::string kSwitchEveryLayer =
    "moe: {type: switch, num_experts: 4, every_k_layers: 1}";

struct TinyCheckpoint {
  std::string path;    // d/<name>.pt
  std::string yaml;    // d/<name>.yaml, its config (train.out_dir d/<name>)
  nmt::Config config;  // the config loaded from yaml
};

// A 2+2-layer, 32-wide model (`model_extra` goes inside model: {...}), seeded, saved untrained
// with the languages `langs` and the corpus's SentencePiece model.
inline TinyCheckpoint save_tiny_checkpoint(const TempDir& d, const std::string& data_yaml,
                                           const std::string& name,
                                           const std::string& model_extra = "",
                                           const std::vector<std::string>& langs = {"en", "de",
                                                                                    "fr"}) {
  TinyCheckpoint ck;
  ck.yaml = d / (name + ".yaml");
  ck.path = d / (name + ".pt");
  write_file(ck.yaml, "model: {d_model: 32, heads: 4, ffn: 64, encoder_layers: 2, "
                      "decoder_layers: 2, dropout: 0.0, max_positions: 64" +
                          (model_extra.empty() ? "" : ", " + model_extra) +
                          "}\ntrain: {data: " + data_yaml + ", out_dir: " + (d / name) +
                          ", seed: 1, max_len: 30}\ndecode: {beam: 2, batch_size: 8}\n");
  ck.config = nmt::load_config(ck.yaml, {});
  data::Tokenizer tok(d / "data/spm.model");
  torch::manual_seed(7);
  nmt::Transformer m = nmt::build_model(ck.config.model, tok.vocab_size(),
                                        static_cast<int64_t>(langs.size()));
  nmt::save_checkpoint(ck.path, ck.config, langs, tok.serialized(), m, nullptr, nullptr);
  return ck;
}

}  // namespace strata::test
