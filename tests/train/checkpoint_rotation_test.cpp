// Tests of nmt/train/checkpoint_rotation.h.
#include "nmt/train/checkpoint_rotation.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "nmt/train/resume.h"
#include "data/spm.h"
#include "tests/torch_test_util.h"
#include "tests/train/train_test_util.h"

using namespace strata;
using namespace strata::nmt;

TEST(CheckpointRotationTest, KeepsTheLastKNumberedCopiesAndWritesBestOnlyWhenBest) {
  test::TempDir d;
  nmt::Config cfg = test::tiny_config();
  const std::vector<std::string> langs{"en", "de", "fr"};
  test::make_tiny_corpus(d);
  data::Tokenizer tok(d / "data/spm.model");
  const std::string spm = tok.serialized();
  Transformer m = build_model(cfg.model, tok.vocab_size());
  torch::optim::Adam opt(m->parameters(), torch::optim::AdamOptions(1e-3));
  const RunIdentity run{cfg, langs, spm};
  CheckpointRotation files(d.str(), /*keep_last=*/2);
  EXPECT_EQ(files.last_path(), d / "last.pt");
  TrainerState state;
  state.rng_state = get_rng_state();
  for (int64_t u : {4, 8, 12}) {
    state.updates = u;
    files.save(run, m, &opt, state, /*best=*/u == 8);
  }
  namespace fs = std::filesystem;
  EXPECT_TRUE(fs::exists(d / "last.pt"));
  EXPECT_FALSE(fs::exists(d / "checkpoint_4.pt"));
  EXPECT_TRUE(fs::exists(d / "checkpoint_8.pt"));
  EXPECT_TRUE(fs::exists(d / "checkpoint_12.pt"));
  ASSERT_TRUE(fs::exists(d / "best.pt"));
  Checkpoint last = load_checkpoint(d / "last.pt"), best = load_checkpoint(d / "best.pt");
  ASSERT_TRUE(last.trainer);
  EXPECT_EQ(last.trainer->updates, 12);
  EXPECT_FALSE(best.trainer);  // weights only
  EXPECT_EQ(best.langs, langs);
}
