#pragma once
// Helpers of the tests that run `strata` end to end on the tiny corpus (tests/torch_test_util.h).
#include <string>

#include "tests/test_util.h"
#include "tests/torch_test_util.h"

namespace strata::test {

inline const std::string kStrata = STRATA_BIN;  // the strata binary under test

// A tiny training config (1+1 layers, d 32) on `data_yaml`, writing to d/<out>.
inline std::string tiny_train_config(const TempDir& d, const std::string& data_yaml,
                                     const std::string& out, int updates, int valid_every) {
  std::string p = d / (out + ".yaml");
  write_file(p, "model: {d_model: 32, heads: 4, ffn: 64, encoder_layers: 1, decoder_layers: 1, "
                      "dropout: 0.1, max_positions: 64}\n"
                      "train: {data: " + data_yaml + ", out_dir: " + (d / out) +
                      ", max_tokens: 200, lr: 0.003, warmup: 10, max_updates: " +
                      std::to_string(updates) + ", valid_every: " + std::to_string(valid_every) +
                      ", valid_sentences: 2, log_every: 5, max_len: 30, keep_last: 1}\n"
                      "decode: {beam: 2, batch_size: 8}\n");
  return p;
}

}  // namespace strata::test
