// Tests of nmt/eval/bleu: corpus BLEU against sacreBLEU (its cases: sacrebleu_cases.h).
#include "nmt/eval/bleu.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/eval/sacrebleu_cases.h"

namespace strata::eval {
namespace {

BleuOptions bleu_options(BleuTokenizer tokenizer, BleuSmoothing smoothing,
                         std::optional<double> smooth_value, bool lowercase,
                         bool effective_order) {
  BleuOptions options;
  options.tokenizer = tokenizer;
  options.smoothing = smoothing;
  options.smooth_value = smooth_value;
  options.lowercase = lowercase;
  options.effective_order = effective_order;
  return options;
}

// sacreBLEU's compat.raw_corpus_bleu(hyps, [refs], smooth_value): floor smoothing, no
// tokenization, effective order.
BleuScore raw_corpus_bleu(const std::vector<std::string>& hyps,
                          const std::vector<std::string>& refs, double smooth_value) {
  return corpus_bleu(hyps, refs,
                     bleu_options(BleuTokenizer::kNone, BleuSmoothing::kFloor, smooth_value,
                                  false, true));
}

// hyp "the cat sat on the mat", ref "the cat is on the mat" (6 tokens each, BP = 1):
//   1-grams: the x2, cat, on, mat match                        5/6
//   2-grams: "the cat", "on the", "the mat" match                3/5
//   3-grams: "on the mat" matches                                1/4
//   4-grams: none of 3 match; exp smoothing: 1 / (2 * 3)        1/6
//   BLEU = 100 * (5/6 * 3/5 * 1/4 * 1/6)^(1/4) = 100 * (1/48)^(1/4) = 37.99...
TEST(BleuTest, HandComputedPrecisionsUseExpSmoothingForZeroMatches) {
  const BleuScore s = corpus_bleu({"the cat sat on the mat"}, {"the cat is on the mat"});
  EXPECT_EQ(s.counts, (std::array<int64_t, 4>{5, 3, 1, 0}));
  EXPECT_EQ(s.totals, (std::array<int64_t, 4>{6, 5, 4, 3}));
  EXPECT_NEAR(s.precisions[0], 500.0 / 6, kTol);
  EXPECT_NEAR(s.precisions[1], 60.0, kTol);
  EXPECT_NEAR(s.precisions[2], 25.0, kTol);
  EXPECT_NEAR(s.precisions[3], 100.0 / 6, kTol);
  EXPECT_DOUBLE_EQ(s.bp, 1.0);
  EXPECT_EQ(s.sys_len, 6);
  EXPECT_EQ(s.ref_len, 6);
  EXPECT_NEAR(s.score, 100.0 / std::pow(48.0, 0.25), kTol);
}

// hyp "the cat sat on the mat" (6 tokens), ref "the cat sat on the red mat" (7 tokens):
//   precisions 6/6, 4/5, 3/4, 2/3; BP = exp(1 - 7/6);
//   BLEU = 100 * exp(1 - 7/6) * (1 * 4/5 * 3/4 * 2/3)^(1/4) = 100 * exp(-1/6) * 0.4^(1/4).
TEST(BleuTest, HandComputedBrevityPenaltyForShortHypothesis) {
  const BleuScore s = corpus_bleu({"the cat sat on the mat"}, {"the cat sat on the red mat"});
  EXPECT_EQ(s.counts, (std::array<int64_t, 4>{6, 4, 3, 2}));
  EXPECT_NEAR(s.bp, std::exp(1.0 - 7.0 / 6.0), kTol);
  EXPECT_NEAR(s.ratio, 6.0 / 7.0, kTol);
  EXPECT_NEAR(s.score, 100.0 * std::exp(-1.0 / 6.0) * std::pow(0.4, 0.25), kTol);
}

TEST(BleuTest, LongerHypothesisHasNoBrevityPenalty) {
  const BleuScore s = corpus_bleu({"the cat sat on the red mat"}, {"the cat sat on the mat"});
  EXPECT_DOUBLE_EQ(s.bp, 1.0);
  EXPECT_NEAR(s.ratio, 7.0 / 6.0, kTol);
}

TEST(BleuTest, ReadmeExampleWithTwoReferenceStreamsMatchesPublishedValues) {
  const std::vector<std::vector<std::string>> refs = {kReadmeRefs1, kReadmeRefs2};
  // test_bleu.py: 48.530827, 49.1919566 (tokenize none), 43.91623493 (intl), all to 1e-8.
  const BleuScore s13a = corpus_bleu(kReadmeHyps, refs, BleuOptions{});
  EXPECT_NEAR(s13a.score, 48.530827, 1e-6);
  EXPECT_NEAR(s13a.score, kBleuReadme, kTol);
  EXPECT_EQ(s13a.signature.substr(0, 8), "nrefs:2|");
  BleuOptions none;
  none.tokenizer = BleuTokenizer::kNone;
  EXPECT_NEAR(corpus_bleu(kReadmeHyps, refs, none).score, 49.1919566, 1e-6);
  EXPECT_NEAR(corpus_bleu(kReadmeHyps, refs, none).score, kBleuReadmeNone, kTol);
  BleuOptions intl;
  intl.tokenizer = BleuTokenizer::kIntl;
  EXPECT_NEAR(corpus_bleu(kReadmeHyps, refs, intl).score, 43.91623493, 1e-7);
  EXPECT_NEAR(corpus_bleu(kReadmeHyps, refs, intl).score, kBleuReadmeIntl, kTol);
  // smooth_method='none' gives the same score here (every order has a match).
  BleuOptions no_smoothing;
  no_smoothing.smoothing = BleuSmoothing::kNone;
  EXPECT_NEAR(corpus_bleu(kReadmeHyps, refs, no_smoothing).score, kBleuReadme, kTol);
}

TEST(BleuTest, EmptyHypothesesAreKeptAndScoreZero) {
  const std::vector<std::vector<std::string>> refs = {kReadmeRefs1, kReadmeRefs2};
  const BleuScore s = corpus_bleu({"", "", ""}, refs, BleuOptions{});
  EXPECT_EQ(s.score, 0.0);
  EXPECT_EQ(s.sys_len, 0);
  EXPECT_EQ(s.bp, 0.0);
}

// test_bleu.py test_raw_bleu / test_effective_order / test_statistics / test_offset
// (compat.raw_corpus_bleu: tokenize none, floor smoothing, effective order).
TEST(BleuTest, UpstreamRawBleuCases) {
  EXPECT_EQ(raw_corpus_bleu({"this is a test", "another test"}, {"ref1", "ref2"}, 0.01).score,
            0.0);
  EXPECT_NEAR(raw_corpus_bleu({"this is a test"}, {"this is a test"}, 0.01).score, 100.0, 1e-6);
  EXPECT_NEAR(raw_corpus_bleu({"this is a fest"}, {"this is a test"}, 0.01).score,
              22.3606797749979, 1e-6);
  EXPECT_NEAR(raw_corpus_bleu({"test"}, {"a test"}, 0.01).score, 36.78794411714425, 1e-6);
  EXPECT_NEAR(raw_corpus_bleu({"a test"}, {"a test"}, 0.01).score, 100.0, 1e-6);
  EXPECT_NEAR(raw_corpus_bleu({"a little test"}, {"a test"}, 0.01).score, 3.218297948685433,
              1e-6);
}

TEST(BleuTest, UpstreamStatisticsAndFloorOffset) {
  const std::vector<std::string> hyp = {"am I am a character sequence"};
  const std::vector<std::string> ref = {"I am a symbol string sequence a a"};
  const BleuScore s = raw_corpus_bleu(hyp, ref, 0.01);
  EXPECT_EQ(s.counts, (std::array<int64_t, 4>{4, 2, 1, 0}));
  EXPECT_EQ(s.totals, (std::array<int64_t, 4>{6, 5, 4, 3}));
  EXPECT_NEAR(raw_corpus_bleu(hyp, ref, 0.1).score, 15.55722182, 1e-6);
  EXPECT_EQ(raw_corpus_bleu(hyp, ref, 0.0).score, 0.0);
  // An unset smooth_value falls back to floor's default of 0.1.
  const BleuScore default_floor = corpus_bleu(
      hyp, ref,
      bleu_options(BleuTokenizer::kNone, BleuSmoothing::kFloor, std::nullopt, false, true));
  EXPECT_NEAR(default_floor.score, 15.55722182, 1e-6);
}

// test_sentence_bleu.py (issue #98), effective order; published to 1e-3.
TEST(BleuTest, SentenceLevelSmoothingMethodsAndTokenizers) {
  struct Case {
    BleuTokenizer tokenizer;
    BleuSmoothing smoothing;
    std::optional<double> smooth_value;
    bool lowercase;
    double published;
    double exact;
  };
  using T = BleuTokenizer;
  using S = BleuSmoothing;
  const Case cases[] = {
      {T::k13a, S::kExp, std::nullopt, false, 8.493, kBleuRoExp},
      {T::k13a, S::kNone, std::nullopt, false, 0.0, kBleuRoNone},
      {T::k13a, S::kFloor, std::nullopt, false, 4.51688, kBleuRoFloor},
      {T::k13a, S::kFloor, 0.5, false, 10.10, kBleuRoFloor05},
      {T::k13a, S::kAddK, std::nullopt, false, 14.882, kBleuRoAddK},
      {T::k13a, S::kAddK, 2.0, false, 21.389, kBleuRoAddK2},
      {T::kNone, S::kExp, std::nullopt, false, 7.347, kBleuRoTokNone},
      {T::kIntl, S::kExp, std::nullopt, false, 8.493, kBleuRoTokIntl},
      {T::kChar, S::kExp, std::nullopt, false, 40.8759, kBleuRoTokChar},
      {T::kChar, S::kExp, std::nullopt, true, 42.0267, kBleuRoTokCharLc},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(tokenizer_name(c.tokenizer) + " " + std::to_string(c.published));
    const BleuScore s = corpus_bleu(
        kRoHyps, kRoRefs,
        bleu_options(c.tokenizer, c.smoothing, c.smooth_value, c.lowercase, true));
    EXPECT_NEAR(s.score, c.published, 1e-3);
    EXPECT_NEAR(s.score, c.exact, kTol);
  }
}

TEST(BleuTest, ZeroMatchesScoreZeroWithEverySmoothing) {  // test_sentence_bleu.py, issue #141
  for (BleuSmoothing smoothing : {BleuSmoothing::kExp, BleuSmoothing::kNone,
                                  BleuSmoothing::kFloor, BleuSmoothing::kAddK}) {
    const BleuScore s = corpus_bleu(
        {"this is a cat"}, {"okay thanks"},
        bleu_options(BleuTokenizer::k13a, smoothing, std::nullopt, false, true));
    EXPECT_EQ(s.score, 0.0);
  }
}

// BLEU._get_closest_ref_len(): the reference length closest to the hypothesis length, the
// shorter one on a tie (5 tokens vs references of 4 and 6 -> 4, so no brevity penalty).
TEST(BleuTest, ClosestReferenceLengthPrefersShorterOnTie) {
  const std::vector<std::vector<std::string>> refs = {{"a b c d f g"}, {"a b c d"}};
  const BleuScore s = corpus_bleu({"a b c d e"}, refs, BleuOptions{});
  EXPECT_EQ(s.ref_len, 4);
  EXPECT_DOUBLE_EQ(s.bp, 1.0);
  // 1..4-gram matches 4/5, 3/4, 2/3, 1/2 (counts maxed over both references).
  EXPECT_EQ(s.counts, (std::array<int64_t, 4>{4, 3, 2, 1}));
  EXPECT_NEAR(s.score, 100.0 * std::pow(0.8 * 0.75 * (2.0 / 3.0) * 0.5, 0.25), kTol);
}

TEST(BleuTest, EuropeanLanguagesWith13aTokenizer) {
  EXPECT_NEAR(corpus_bleu(kDeHyps, kDeRefs).score, kBleuDe, kTol);
  EXPECT_NEAR(corpus_bleu(kFrHyps, kFrRefs).score, kBleuFr, kTol);
  EXPECT_NEAR(corpus_bleu(kRuHyps, kRuRefs).score, kBleuRu, kTol);
  EXPECT_NEAR(corpus_bleu(kElHyps, kElRefs).score, kBleuEl, kTol);
  EXPECT_NEAR(corpus_bleu(kTrHyps, kTrRefs).score, kBleuTr, kTol);
}

TEST(BleuTest, IntlTokenizerSplitsUnicodePunctuation) {
  EXPECT_NEAR(corpus_bleu(kDeHyps, kDeRefs, BleuTokenizer::kIntl).score, kBleuDeIntl, kTol);
  EXPECT_NEAR(corpus_bleu(kFrHyps, kFrRefs, BleuTokenizer::kIntl).score, kBleuFrIntl, kTol);
}

TEST(BleuTest, JapaneseWithCharTokenizer) {
  const BleuScore s = corpus_bleu(kJaHyps, kJaRefs, default_tokenizer_for("ja"));
  EXPECT_NEAR(s.score, kBleuJa, kTol);
  EXPECT_NE(s.signature.find("|tok:char|"), std::string::npos);
  EXPECT_NEAR(corpus_bleu(kJaHyps, kJaRefs).score, kBleuJaAs13a, kTol);
}

TEST(BleuTest, ChineseWithZhTokenizer) {
  const BleuScore s = corpus_bleu(kZhHyps, kZhRefs, default_tokenizer_for("zh-Hans"));
  EXPECT_NEAR(s.score, kBleuZh, kTol);
  EXPECT_NE(s.signature.find("|tok:zh|"), std::string::npos);
  EXPECT_NEAR(corpus_bleu(kZhHyps, kZhRefs).score, kBleuZhAs13a, kTol);
}

TEST(BleuTest, LowercaseUsesFullUnicodeLowering) {
  BleuOptions lc;
  lc.lowercase = true;
  EXPECT_NEAR(corpus_bleu(kElHyps, kElRefs, lc).score, kBleuElLowercase, kTol);
  EXPECT_NEAR(corpus_bleu(kTrHyps, kTrRefs, lc).score, kBleuTrLowercase, kTol);
  // Lowered "ΟΔΥΣΣΕΥΣ" ends in a final sigma, so the segment matches exactly.
  EXPECT_NEAR(corpus_bleu(kSigmaHyps, kSigmaRefs, lc).score, 100.0, kTol);
  EXPECT_NEAR(kBleuSigmaLowercase, 100.0, kTol);
  EXPECT_LT(corpus_bleu(kSigmaHyps, kSigmaRefs).score, 10.0);  // only "." matches
}

TEST(BleuTest, ThirtySentenceCorpusMatchesScoreLineAndSignature) {
  ASSERT_EQ(kNewsHyps.size(), 30u);
  const BleuScore s = corpus_bleu(kNewsHyps, kNewsRefs);
  EXPECT_NEAR(s.score, kBleuNews, kTol);
  EXPECT_EQ(s.format(), kBleuNewsFormat);
  EXPECT_EQ(s.format(2, true), kBleuNewsFormatSigned);
  EXPECT_EQ(s.signature, "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0");
}

TEST(BleuTest, PerfectMatchScores100) {
  const BleuScore s = corpus_bleu(kNewsRefs, kNewsRefs);
  EXPECT_NEAR(s.score, 100.0, kTol);
  EXPECT_EQ(s.format(), "BLEU = 100.00 100.0/100.0/100.0/100.0 (BP = 1.000 ratio = 1.000 "
                        "hyp_len = " + std::to_string(s.sys_len) + " ref_len = " +
                        std::to_string(s.sys_len) + ")");
}

TEST(BleuTest, ZeroOverlapScoresZero) {
  const BleuScore s = corpus_bleu(kZeroOverlapHyps, kZeroOverlapRefs);
  EXPECT_EQ(s.score, 0.0);
  EXPECT_EQ(s.counts, (std::array<int64_t, 4>{0, 0, 0, 0}));
  EXPECT_DOUBLE_EQ(s.bp, 1.0);
}

TEST(BleuTest, EmptyHypothesisAmongOthers) {
  const BleuScore s = corpus_bleu(kEmptyHypHyps, kEmptyHypRefs);
  EXPECT_NEAR(s.score, kBleuEmptyHyp, kTol);
  EXPECT_EQ(s.sys_len, 6);
}

// sacreBLEU raises IndexError on an empty corpus; here it scores 0.
TEST(BleuTest, EmptyCorpusScoresZero) {
  const BleuScore s = corpus_bleu({}, std::vector<std::string>{});
  EXPECT_EQ(s.score, 0.0);
  EXPECT_EQ(s.sys_len, 0);
  EXPECT_EQ(s.ref_len, 0);
  EXPECT_EQ(s.ratio, 0.0);
}

// Corpus BLEU (effective_order off) is 0 when the corpus has no 4-gram, however good it is.
TEST(BleuTest, CorpusWithoutFourGramsNeedsEffectiveOrder) {
  EXPECT_EQ(corpus_bleu({"a b c"}, {"a b c"}).score, 0.0);
  BleuOptions eff;
  eff.effective_order = true;
  const BleuScore s = corpus_bleu({"a b c"}, {"a b c"}, eff);
  EXPECT_NEAR(s.score, 100.0, kTol);
  EXPECT_NE(s.signature.find("|eff:yes|"), std::string::npos);
}

TEST(BleuTest, MismatchedLengthsThrowNamingBothCounts) {
  try {
    corpus_bleu({"a", "b", "c"}, {"a", "b"});
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("3 hypotheses"), std::string::npos) << what;
    EXPECT_NE(what.find("2 references"), std::string::npos) << what;
  }
  const std::vector<std::vector<std::string>> streams = {{"a", "b"}, {"a"}};
  EXPECT_THROW(corpus_bleu({"a", "b"}, streams, BleuOptions{}), std::invalid_argument);
  EXPECT_THROW(corpus_bleu({"a"}, std::vector<std::vector<std::string>>{}, BleuOptions{}),
               std::invalid_argument);
}

TEST(BleuTest, SignaturesSpellOptionsLikeSacreBleu) {
  EXPECT_EQ(corpus_bleu({"a"}, {"a"}).signature,
            "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0");
  EXPECT_EQ(corpus_bleu({"a"}, {"a"},
                        bleu_options(BleuTokenizer::kZh, BleuSmoothing::kFloor, std::nullopt,
                                     true, true))
                .signature,
            kBleuSignatureFloorLcZh);
  EXPECT_EQ(corpus_bleu({"a"}, {"a"},
                        bleu_options(BleuTokenizer::kChar, BleuSmoothing::kAddK, 2.0, false,
                                     false))
                .signature,
            kBleuSignatureAddK2Char);
}

}  // namespace
}  // namespace strata::eval
