// Tests of nmt/train/lms_languages.h.
#include "nmt/train/lms_languages.h"

#include <gtest/gtest.h>

#include "nmt/util/error.h"
#include "tests/train/train_test_util.h"

using namespace strata;
using namespace strata::nmt;

TEST(LmsLanguagesTest, MapsValidationLanguagesByNameAndNamesTheSplitForAnUnknownOne) {
  nmt::Config cfg = test::tiny_config();
  Transformer dense = test::tiny_model(cfg);
  LmsLanguages lms({"en", "de", "fr"}, {"fr", "en", "ja"}, "data/valid.tsv");
  std::vector<Example> ex{{0, 0, 1}};
  EXPECT_FALSE(lms.keys(dense, ex, true, false).v.defined());  // no LMS layers: no keys
  cfg.model.lms.mode = nmt::LmsMode::kPair;
  Transformer m = test::tiny_model(cfg);
  auto train_keys = lms.keys(m, ex, false, false);
  auto want = m->lms_keys(torch::tensor({0}, torch::kLong), torch::tensor({1}, torch::kLong));
  EXPECT_TRUE(torch::equal(train_keys.v, want.v));
  EXPECT_TRUE(torch::equal(train_keys.f, want.f));
  // Validation: fr (valid 0) -> en (valid 1) is training 2 -> 0.
  auto valid_keys = lms.keys(m, ex, true, true);
  auto want_valid =
      m->lms_keys(torch::tensor({2}, torch::kLong), torch::tensor({0}, torch::kLong), true);
  EXPECT_TRUE(torch::equal(valid_keys.v, want_valid.v));
  EXPECT_TRUE(torch::equal(valid_keys.f, want_valid.f));
  try {
    lms.keys(m, {{0, 2, 0}}, true, false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "data/valid.tsv: a language not in the training data");
  }
}
