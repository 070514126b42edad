// Tests of data/dtd.h; expected values written by hand.
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "data/dtd.h"
#include "nmt/util/error.h"
#include "tests/data/parser_test_util.h"

namespace strata::data {
namespace {

using namespace strata::test;  // parser_test_util.h

const char kDtd[] = R"src(<!-- This Source Code Form is subject to the terms of the Mozilla Public
   - License, v. 2.0.
   <!ENTITY fake "inside a comment"> -->
<!ENTITY brandShortName "Thunderbird">
<!ENTITY   copiesFoldersTab.label 'Kopien &amp; Ordner'>
<!ENTITY newtodo.percentcomplete.label "&#037; fertig">
<!ENTITY hex.label "&#x41;&#X42;&#xe9;">
<!ENTITY chat.noAccount.description "Lassen Sie sich von &brandShortName; führen.">
<!ENTITY % brandDTD SYSTEM "chrome://branding/locale/brand.dtd">
%brandDTD;
<!ENTITY multi "line one
  line two">
<!ENTITY quote.label 'He said "hi" &apos;twice&apos;'>
<!ENTITY signatureHtml.label "HTML (z.B.: &lt;b&gt;fett&lt;/b&gt;)">
<!ENTITY external SYSTEM "other.dtd">
)src";

TEST(DtdParserTest, ParsesEntitiesAndUnescapesXml) {
  using Rows = std::vector<std::tuple<std::string, std::string, bool>>;
  EXPECT_EQ(
      key_text_plural(parse_dtd(kDtd, "x.dtd")),
      (Rows{
          {"brandShortName", "Thunderbird", false},
          {"copiesFoldersTab.label", "Kopien & Ordner", false},
          {"newtodo.percentcomplete.label", "% fertig", false},
          {"hex.label", "ABé", false},
          {"chat.noAccount.description", "Lassen Sie sich von &brandShortName; führen.", false},
          {"multi", "line one\n  line two", false},
          {"quote.label", "He said \"hi\" 'twice'", false},
          {"signatureHtml.label", "HTML (z.B.: <b>fett</b>)", false},
      }));
}

TEST(DtdParserTest, ErrorsNameFileAndLine) {
  EXPECT_EQ(error_of([] { parse_dtd("<!ENTITY a \"x\">\n<!ENTITY b \"never closed>\n", "x.dtd"); }),
            "x.dtd:2: unterminated value of entity \"b\"");
  EXPECT_EQ(error_of([] { parse_dtd("<!ENTITY a \"x\">\n\nhello\n", "x.dtd"); }),
            "x.dtd:3: expected <!ENTITY ...> or a comment");
  EXPECT_EQ(error_of([] { parse_dtd("<!-- open\n", "x.dtd"); }), "x.dtd:1: unterminated comment");
  EXPECT_EQ(error_of([] { parse_dtd("<!ENTITY a \"x\" junk>", "x.dtd"); }),
            "x.dtd:1: expected '>' after the value of entity \"a\"");
}

TEST(DtdParserTest, GarbageNeverCrashes) {
  fuzz("<!ENTITY a\"'>-%;& \n", [](const std::string& s) { parse_dtd(s, "fuzz.dtd"); });
}

}  // namespace
}  // namespace strata::data
