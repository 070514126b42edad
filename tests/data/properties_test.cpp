// Tests of data/properties.h; expected values written by hand.
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "data/properties.h"
#include "nmt/util/error.h"
#include "tests/data/parser_test_util.h"

namespace strata::data {
namespace {

using namespace strata::test;  // parser_test_util.h

const char kProperties[] =
    R"src(# This Source Code Form is subject to the terms of the Mozilla Public
! a bang comment

loadingText=Loading\u2026
dimensions = %S\u00D7%S
statusSeparator : %1$S \u2014 %2$S
emoji=\uD83D\uDE00 ok
key\ with\ spaces = value
multi = first \
        second \
   third
escapes = a\tb\nc\\d\=e\:f
downloadsTitleFiles=#1 file - Downloads;#1 files - Downloads
markupView.more.showAll2=Show one more node;Show all #1 nodes
semicolonOnly=a;b
empty=
   utf8 = Schließen…
spaced key value
operator.\u0021.prefix = lspace:0 rspace:0
)src";

TEST(PropertiesParserTest, ParsesRealisticFile) {
  using Rows = std::vector<std::tuple<std::string, std::string, bool>>;
  EXPECT_EQ(key_text_plural(parse_properties(kProperties, "x.properties")),
            (Rows{
                {"loadingText", "Loading…", false},
                {"dimensions", "%S×%S", false},
                {"statusSeparator", "%1$S — %2$S", false},
                {"emoji", "\U0001F600 ok", false},
                {"key with spaces", "value", false},
                {"multi", "first second third", false},
                {"escapes", "a\tb\nc\\d=e:f", false},
                {"downloadsTitleFiles", "#1 file - Downloads;#1 files - Downloads", true},
                {"markupView.more.showAll2", "Show one more node;Show all #1 nodes", true},
                {"semicolonOnly", "a;b", false},
                {"empty", "", false},
                {"utf8", "Schließen…", false},
                {"spaced", "key value", false},
                {"operator.!.prefix", "lspace:0 rspace:0", false},
            }));
}

TEST(PropertiesParserTest, CrLfContinuationAndLoneSurrogate) {
  using Rows = std::vector<std::tuple<std::string, std::string, bool>>;
  EXPECT_EQ(key_text_plural(parse_properties("a = one \\\r\n  two\r\nb = \\uD800x\r\n", "x")),
            (Rows{{"a", "one two", false}, {"b", "\uFFFDx", false}}));
}

TEST(PropertiesParserTest, BadUnicodeEscapeNamesLine) {
  EXPECT_EQ(error_of([] { parse_properties("# c\na = ok\nb = \\u12G4\n", "x.properties"); }),
            "x.properties:3: bad \\u escape (expected 4 hex digits): \"\\u12G4\"");
  EXPECT_TRUE(starts_with(error_of([] { parse_properties("a = \\u12", "x.properties"); }),
                          "x.properties:1: bad \\u escape"));
}

TEST(PropertiesParserTest, GarbageNeverCrashes) {
  fuzz("ab=: \\\n\r#!u0D8F", [](const std::string& s) { parse_properties(s, "fuzz"); });
}

}  // namespace
}  // namespace strata::data
