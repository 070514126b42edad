// Tests of nmt/eval/chrf: corpus chrF / chrF++ against sacreBLEU (its cases: sacrebleu_cases.h).
#include "nmt/eval/chrf.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/eval/sacrebleu_cases.h"

namespace strata::eval {
namespace {

// hyp "ab", ref "abc", chrF2 (effective-order averaging):
//   1-grams: hyp {a, b}, ref {a, b, c}: P = 2/2, R = 2/3
//   2-grams: hyp {ab}, ref {ab, bc}:     P = 1/1, R = 1/2
//   3..6-grams: the hypothesis has none, so these orders do not count.
//   avg P = 1, avg R = 7/12; F2 = 5 * P * R / (4 * P + R) = (35/12) / (55/12) = 7/11.
TEST(ChrfTest, HandComputedAveragesPrecisionAndRecallOverOrders) {
  const ChrfScore s = corpus_chrf({"ab"}, {"abc"});
  EXPECT_NEAR(s.score, 700.0 / 11.0, kTol);
  EXPECT_EQ(s.name, "chrF2");
}

// Word unigrams only (char_order 0, word_order 1): "hello, world" -> {hello, ",", world};
// P = 2/3, R = 2/2; F2 = 5 * (2/3) / (4 * 2/3 + 1) = 10/11.
TEST(ChrfTest, HandComputedWordNgramsSplitPunctuation) {
  const ChrfScore s = corpus_chrf({"hello, world"}, {"hello world"}, 1, 0, 2);
  EXPECT_NEAR(s.score, 1000.0 / 11.0, kTol);
  EXPECT_EQ(s.name, "chrF2+");
}

TEST(ChrfTest, UpstreamCasesMatchPublishedValues) {
  for (const UpstreamChrfCase& c : kUpstreamChrfCases) {
    SCOPED_TRACE(c.hyps.front() + " | " + c.refs.front());
    ChrfOptions options;
    options.beta = 3;
    options.eps_smoothing = c.eps_smoothing;
    options.whitespace = c.whitespace;
    const ChrfScore s = corpus_chrf(c.hyps, c.refs, options);
    EXPECT_NEAR(s.score, c.published, 1e-4);
    EXPECT_NEAR(s.score, c.exact, kTol);
  }
}

// test_chrf.py test_chrf_sentence_level (eps smoothing, beta 2).
TEST(ChrfTest, UpstreamSentenceLevelCases) {
  const double published[] = {39.14078509, 31.22557079, 57.15704367};
  const double exact[] = {kChrfCsEps0, kChrfCsEps1, kChrfCsEps2};
  ChrfOptions options;
  options.eps_smoothing = true;
  for (size_t i = 0; i < 3; ++i) {
    const ChrfScore s = corpus_chrf({kCsHyps[i]}, {kCsRefs[i]}, options);
    EXPECT_NEAR(s.score, published[i], 1e-4);
    EXPECT_NEAR(s.score, exact[i], kTol);
  }
}

TEST(ChrfTest, ChrfAndChrfPlusPlusOnMultilingualCorpora) {
  struct Case {
    const std::vector<std::string>& hyps;
    const std::vector<std::string>& refs;
    double chrf;
    double chrf_pp;
  };
  const Case cases[] = {
      {kDeHyps, kDeRefs, kChrfDe, kChrfPpDe}, {kFrHyps, kFrRefs, kChrfFr, kChrfPpFr},
      {kRuHyps, kRuRefs, kChrfRu, kChrfPpRu}, {kElHyps, kElRefs, kChrfEl, kChrfPpEl},
      {kTrHyps, kTrRefs, kChrfTr, kChrfPpTr}, {kJaHyps, kJaRefs, kChrfJa, kChrfPpJa},
      {kZhHyps, kZhRefs, kChrfZh, kChrfPpZh},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.refs.front());
    EXPECT_NEAR(corpus_chrf(c.hyps, c.refs).score, c.chrf, kTol);
    EXPECT_NEAR(corpus_chrf(c.hyps, c.refs, 2).score, c.chrf_pp, kTol);
  }
}

TEST(ChrfTest, ThirtySentenceCorpusWithEveryOption) {
  EXPECT_NEAR(corpus_chrf(kNewsHyps, kNewsRefs).score, kChrfNews, kTol);
  const ChrfScore pp = corpus_chrf(kNewsHyps, kNewsRefs, 2);
  EXPECT_NEAR(pp.score, kChrfPpNews, kTol);
  EXPECT_EQ(pp.format(2, true), kChrfPpNewsFormatSigned);
  ChrfOptions whitespace;
  whitespace.whitespace = true;
  EXPECT_NEAR(corpus_chrf(kNewsHyps, kNewsRefs, whitespace).score, kChrfNewsWhitespace, kTol);
  ChrfOptions eps;
  eps.eps_smoothing = true;
  EXPECT_NEAR(corpus_chrf(kNewsHyps, kNewsRefs, eps).score, kChrfNewsEps, kTol);
}

TEST(ChrfTest, MultipleReferencesPickTheBestPerSegment) {
  const std::vector<std::vector<std::string>> refs = {kReadmeRefs1, kReadmeRefs2};
  EXPECT_NEAR(corpus_chrf(kReadmeHyps, refs, ChrfOptions{}).score, kChrfReadme, kTol);
  ChrfOptions pp;
  pp.word_order = 2;
  EXPECT_NEAR(corpus_chrf(kReadmeHyps, refs, pp).score, kChrfPpReadme, kTol);
}

TEST(ChrfTest, LowercaseUsesFullUnicodeLowering) {
  ChrfOptions lc;
  lc.lowercase = true;
  EXPECT_NEAR(corpus_chrf(kElHyps, kElRefs, lc).score, kChrfElLowercase, kTol);
  EXPECT_NEAR(corpus_chrf(kSigmaHyps, kSigmaRefs, lc).score, kChrfSigmaLowercase, kTol);
  EXPECT_NEAR(kChrfSigmaLowercase, 100.0, kTol);
}

TEST(ChrfTest, PerfectMatchScores100) {
  EXPECT_NEAR(corpus_chrf(kNewsRefs, kNewsRefs).score, 100.0, kTol);
  EXPECT_NEAR(corpus_chrf(kNewsRefs, kNewsRefs, 2).score, 100.0, kTol);
}

TEST(ChrfTest, NoSharedCharacterScoresZero) {
  EXPECT_EQ(corpus_chrf({"xyz qvw"}, {"abc def"}).score, 0.0);
  EXPECT_EQ(corpus_chrf({"xyz qvw"}, {"abc def"}, 2).score, 0.0);
}

TEST(ChrfTest, EmptyHypothesisAmongOthers) {
  EXPECT_NEAR(corpus_chrf(kEmptyHypHyps, kEmptyHypRefs).score, kChrfEmptyHyp, kTol);
  EXPECT_NEAR(corpus_chrf(kEmptyHypHyps, kEmptyHypRefs, 2).score, kChrfPpEmptyHyp, kTol);
  EXPECT_EQ(corpus_chrf({""}, {"reference"}).score, 0.0);
}

// sacreBLEU raises IndexError on an empty corpus; here it scores 0.
TEST(ChrfTest, EmptyCorpusScoresZero) {
  EXPECT_EQ(corpus_chrf({}, std::vector<std::string>{}).score, 0.0);
}

TEST(ChrfTest, InvalidArgumentsThrow) {
  try {
    corpus_chrf({"a"}, {"a", "b"});
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("1 hypotheses"), std::string::npos) << what;
    EXPECT_NE(what.find("2 references"), std::string::npos) << what;
  }
  EXPECT_THROW(corpus_chrf({"a"}, {"a"}, 0, 0, 2), std::invalid_argument);
  EXPECT_THROW(corpus_chrf({"a"}, {"a"}, -1, 6, 2), std::invalid_argument);
}

TEST(ChrfTest, SignaturesAndScoreLines) {
  const ChrfScore s = corpus_chrf({"The cat sat on the mat."}, {"The cat sat on a mat."});
  EXPECT_EQ(s.signature, "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0");
  EXPECT_EQ(s.format(), "chrF2 = 71.42");
  EXPECT_EQ(corpus_chrf({"a"}, {"a"}, 2).signature,
            "nrefs:1|case:mixed|eff:yes|nc:6|nw:2|space:no|version:2.6.0");
  ChrfOptions options;
  options.lowercase = true;
  options.whitespace = true;
  options.eps_smoothing = true;
  options.beta = 3;
  const ChrfScore o = corpus_chrf({"a"}, {"a"}, options);
  EXPECT_EQ(o.signature, kChrfSignatureLcWsEps);
  EXPECT_EQ(o.name, "chrF3");
}

}  // namespace
}  // namespace strata::eval
