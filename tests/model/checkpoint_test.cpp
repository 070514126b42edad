// nmt/model/checkpoint: save/reload and bad files.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "data/langs.h"
#include "data/prepare.h"
#include "data/spm.h"
#include "nmt/config.h"
#include "nmt/decode/translator.h"
#include "nmt/model/checkpoint.h"
#include "nmt/train/batcher.h"
#include "nmt/train/loss.h"
#include "nmt/util/error.h"
#include "tests/cli_test_util.h"

using namespace strata;
using namespace strata::nmt;
using test::expect_one_line_error;
using test::kStrata;
using test::make_tiny_corpus;
using test::tiny_train_config;

TEST(CheckpointTest, SaveReloadGivesIdenticalLogitsAndBadFilesAreErrors) {
  test::TempDir d;
  std::string data_yaml = make_tiny_corpus(d);
  data::Tokenizer tok(d / "data/spm.model");
  Config cfg = load_config(tiny_train_config(d, data_yaml, "m", 1, 1), {});
  torch::manual_seed(3);
  Transformer m = build_model(cfg.model, tok.vocab_size());
  m->eval();
  save_checkpoint(d / "m.pt", cfg, {"en", "de", "fr"}, tok.serialized(), m, nullptr, nullptr);
  Checkpoint back = load_checkpoint(d / "m.pt");
  back.model->eval();
  auto src = torch::tensor({{5, 6, 7, 3}}, torch::kLong);
  auto prev = torch::tensor({{2, 8, 9}}, torch::kLong);
  torch::NoGradGuard ng;
  EXPECT_TRUE(torch::equal(m->forward(src, prev), back.model->forward(src, prev)));
  EXPECT_EQ(back.langs, (std::vector<std::string>{"en", "de", "fr"}));
  EXPECT_EQ(to_yaml(back.config), to_yaml(cfg));

  std::string bytes = test::read_file(d / "m.pt");
  test::write_file(d / "cut.pt", bytes.substr(0, bytes.size() / 2));
  test::write_file(d / "junk.pt", "not a checkpoint");
  EXPECT_THROW(load_checkpoint(d / "cut.pt"), Error);
  EXPECT_THROW(load_checkpoint(d / "junk.pt"), Error);
  EXPECT_THROW(load_checkpoint(d / "missing.pt"), Error);
  // Shapes are validated: a config with another width cannot load these weights.
  Config other = cfg;
  other.model.ffn = 128;
  torch::manual_seed(3);
  Transformer m2 = build_model(other.model, tok.vocab_size());
  save_checkpoint(d / "m2.pt", cfg, {"en", "de", "fr"}, tok.serialized(), m2, nullptr, nullptr);
  try {
    load_checkpoint(d / "m2.pt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has shape"), std::string::npos) << e.what();
  }
}
