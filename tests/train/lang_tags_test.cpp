// Tests of nmt/lang_tags.h: the tag table and the one batch layout (docs/ARCHITECTURE.md
// "Tensors").
#include "nmt/lang_tags.h"

#include <gtest/gtest.h>

#include "nmt/util/error.h"
#include "data/spm.h"
#include "nmt/train/batcher.h"
#include "tests/torch_test_util.h"

using namespace strata;
using namespace strata::nmt;

namespace {

torch::Tensor rows(std::vector<std::vector<int64_t>> r) { return test::pad_rows(r); }

}  // namespace

TEST(LangTagsTest, ResolvesTagsOnceAndNamesAMissingOne) {
  LangTags tags({"en", "de", "fr"}, {7, -1, 9}, /*decoder_lang_tag=*/true);
  EXPECT_EQ(tags.index("fr"), 2);
  EXPECT_EQ(tags.index("ja"), -1);
  EXPECT_EQ(tags.tag(0), 7);
  EXPECT_TRUE(tags.has_tag(2));
  EXPECT_FALSE(tags.has_tag(1));
  EXPECT_EQ(tags.start(2), 9);
  EXPECT_EQ(tags.known_ids(), (std::vector<int64_t>{7, 9}));
  try {
    tags.require("spm.model");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "spm.model: no language tag >>de<< in the vocabulary");
  }
  LangTags eos_start({"en", "de"}, {7, 8}, /*decoder_lang_tag=*/false);
  EXPECT_NO_THROW(eos_start.require("spm.model"));
  EXPECT_EQ(eos_start.start(1), data::kEosId);
}

TEST(LangTagsTest, FromTheTokenizerGivesThePiecesIds) {
  test::TempDir d;
  test::make_tiny_corpus(d);
  data::Tokenizer tok(d / "data/spm.model");
  LangTags tags(tok, {"en", "de", "fr", "ja"}, true);
  EXPECT_EQ(tags.tag(1), tok.piece_id(">>de<<"));
  EXPECT_GE(tags.tag(1), 4);
  EXPECT_FALSE(tags.has_tag(3));  // no >>ja<< piece
}

TEST(LangTagsTest, TrainingLayoutTagsTheSourceAndStartsTheDecoder) {
  LangTags tags({"en", "de", "fr"}, {10, 11, 12}, true);
  std::vector<int> x0{20, 21, 22}, y0{30}, x1{23}, y1{31, 32, 33};
  TaggedBatch b = lay_out_batch(tags, {{&x0, 1, &y0}, {&x1, 2, &y1}});
  EXPECT_TRUE(torch::equal(b.src, rows({{11, 20, 21, 22, 3}, {12, 23, 3}})));
  EXPECT_TRUE(torch::equal(b.prev, rows({{11, 30}, {12, 31, 32, 33}})));
  EXPECT_TRUE(torch::equal(b.target, rows({{30, 3}, {31, 32, 33, 3}})));
  EXPECT_EQ(b.target_tokens, 2 + 4);
  EXPECT_EQ(b.truncated, 0);
  // Without decoder_lang_tag the decoder starts with </s>.
  LangTags eos({"en", "de", "fr"}, {10, 11, 12}, false);
  TaggedBatch e = lay_out_batch(eos, {{&x0, 1, &y0}});
  EXPECT_TRUE(torch::equal(e.src, rows({{11, 20, 21, 22, 3}})));
  EXPECT_TRUE(torch::equal(e.prev, rows({{3, 30}})));
}

TEST(LangTagsTest, InferenceLayoutCutsLongSourcesAndGivesTheStartTokens) {
  LangTags tags({"en", "de"}, {10, 11}, true);
  std::vector<int> x0{20, 21, 22, 23}, x1{24};
  TaggedBatch b = lay_out_batch(tags, {{&x0, 1}, {&x1, 1}}, /*max_source_tokens=*/2);
  EXPECT_TRUE(torch::equal(b.src, rows({{11, 20, 21, 3}, {11, 24, 3}})));
  EXPECT_TRUE(torch::equal(b.prev, rows({{11}, {11}})));
  EXPECT_FALSE(b.target.defined());
  EXPECT_EQ(b.truncated, 1);
  std::vector<int> y{30};
  EXPECT_THROW(lay_out_batch(tags, {{&x0, 1}, {&x1, 1, &y}}), c10::Error);
}

TEST(LangTagsTest, MakeBatchLaysOutExamplesByTheirLanguages) {
  test::TempDir d;
  test::make_tiny_corpus(d);
  data::Tokenizer tok(d / "data/spm.model");
  std::vector<std::string> langs;
  auto split = data::read_split(d / "data/train.tsv", &langs);
  ParallelData pd(split, langs, tok, 30);
  LangTags tags(tok, langs, true);
  std::vector<Example> ex{{0, 0, 1}, {3, 2, 0}};
  Batch b = make_batch(pd, ex, tags);
  EXPECT_EQ(b.src[0][0].item<int64_t>(), tags.tag(1));
  EXPECT_EQ(b.src[1][0].item<int64_t>(), tags.tag(0));
  EXPECT_EQ(b.prev[1][0].item<int64_t>(), tags.tag(0));
  EXPECT_EQ(b.examples.size(), 2u);
  // The older form (ids and decoder_lang_tag) gives the same tensors.
  std::vector<int> ids{static_cast<int>(tags.tag(0)), static_cast<int>(tags.tag(1)),
                       static_cast<int>(tags.tag(2))};
  Batch old = make_batch(pd, ex, ids, true);
  EXPECT_TRUE(torch::equal(old.src, b.src));
  EXPECT_TRUE(torch::equal(old.prev, b.prev));
  EXPECT_TRUE(torch::equal(old.target, b.target));
  EXPECT_EQ(old.target_tokens, b.target_tokens);
}
