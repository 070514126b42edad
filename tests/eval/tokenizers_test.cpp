// Tests of nmt/eval/tokenizers (sacreBLEU's BLEU tokenizers) and of the text handling under them
// (python_str's unicode_lower, invalid UTF-8); the cases: sacrebleu_cases.h.
#include "nmt/eval/tokenizers.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "nmt/eval/bleu.h"
#include "nmt/eval/python_str.h"
#include "tests/eval/sacrebleu_cases.h"

namespace strata::eval {
namespace {


TEST(TokenizerTest, MatchesSacreBleuTokenizers) {
  for (const TokenizerCase& c : kTokenizerCases) {
    SCOPED_TRACE(c.tokenizer + ": " + c.input);
    EXPECT_EQ(tokenize(c.input, parse_tokenizer(c.tokenizer)), c.expected);
  }
}

TEST(TokenizerTest, ThirteenASplitsPunctuationButKeepsNumbers) {
  EXPECT_EQ(tokenize("Hello, world! 3.5 and 1,000; it's 2019-2020.", BleuTokenizer::k13a),
            "Hello , world ! 3.5 and 1,000 ; it's 2019 - 2020 .");
  EXPECT_EQ(tokenize("&quot;A&quot; &amp; B<skipped>", BleuTokenizer::k13a), "\" A \" & B");
}

TEST(TokenizerTest, ZhSplitsCjkCharactersOnly) {
  EXPECT_EQ(tokenize("我爱NLP模型", BleuTokenizer::kZh), "我 爱 NLP 模 型");
  // sacreBLEU's range table misses CJK Extension B (U+20000 and up).
  EXPECT_EQ(tokenize("𠀀𠀁", BleuTokenizer::kZh), "𠀀𠀁");
}

TEST(TokenizerTest, LowerMatchesPythonStrLower) {
  for (const auto& [input, expected] : kLowerCases) {
    SCOPED_TRACE(input);
    EXPECT_EQ(unicode_lower(input), expected);
  }
}

TEST(TokenizerTest, InvalidUtf8BytesPassThrough) {
  const std::string bad = "a\xff" "b. c\xc3";
  EXPECT_EQ(tokenize(bad, BleuTokenizer::k13a), "a\xff" "b . c\xc3");
  EXPECT_EQ(tokenize(bad, BleuTokenizer::kChar), "a \xff b .   c \xc3");
  EXPECT_EQ(unicode_lower("\xe2\x82 X"), "\xe2\x82 x");
  EXPECT_NEAR(corpus_bleu({bad + " d e"}, {bad + " d e"}).score, 100.0, kTol);
}

TEST(TokenizerTest, DefaultTokenizerForTargetLanguage) {
  EXPECT_EQ(default_tokenizer_for("zh"), BleuTokenizer::kZh);
  EXPECT_EQ(default_tokenizer_for("zh-TW"), BleuTokenizer::kZh);
  EXPECT_EQ(default_tokenizer_for("zh_Hans"), BleuTokenizer::kZh);
  EXPECT_EQ(default_tokenizer_for("ZHO"), BleuTokenizer::kZh);
  EXPECT_EQ(default_tokenizer_for("ja"), BleuTokenizer::kChar);
  EXPECT_EQ(default_tokenizer_for("ja-JP"), BleuTokenizer::kChar);
  EXPECT_EQ(default_tokenizer_for("de"), BleuTokenizer::k13a);
  EXPECT_EQ(default_tokenizer_for("ko"), BleuTokenizer::k13a);
  EXPECT_EQ(default_tokenizer_for("zu"), BleuTokenizer::k13a);
  EXPECT_EQ(default_tokenizer_for(""), BleuTokenizer::k13a);
}

TEST(TokenizerTest, NamesRoundTrip) {
  for (BleuTokenizer t : {BleuTokenizer::k13a, BleuTokenizer::kZh, BleuTokenizer::kChar,
                          BleuTokenizer::kNone, BleuTokenizer::kIntl}) {
    EXPECT_EQ(parse_tokenizer(tokenizer_name(t)), t);
  }
  EXPECT_EQ(tokenizer_name(BleuTokenizer::k13a), "13a");
  EXPECT_THROW(parse_tokenizer("ja-mecab"), std::invalid_argument);
}

}  // namespace
}  // namespace strata::eval
