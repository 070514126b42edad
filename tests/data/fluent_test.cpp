// Tests of data/fluent.h (Fluent .ftl parser, term expansion); expected values written by hand.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "data/clean.h"
#include "data/fluent.h"
#include "nmt/util/error.h"
#include "tests/data/parser_test_util.h"

namespace strata::data {
namespace {

using namespace strata::test;  // parser_test_util.h

// Abridged from Firefox's German browser.ftl (firefox-esr-l10n-de).
const char kGermanBrowserFtl[] =
    R"src(# This Source Code Form is subject to the terms of the Mozilla Public
# License, v. 2.0. If a copy of the MPL was not distributed with this
# file, You can obtain one at http://mozilla.org/MPL/2.0/.


## The main browser window's title

browser-main-window-default-title = { -brand-full-name }
browser-main-private-window-title =
    { PLATFORM() ->
        [macos] { -brand-full-name } – Privater Modus
       *[other] { -brand-full-name } Privater Modus
    }
urlbar-identity-button =
    .aria-label = Seiteninformationen anzeigen
bookmark-panel-cancel =
    .label = Abbrechen
    .accesskey = b
bookmark-panel-remove =
    .label =
        { $count ->
            [one] Lesezeichen entfernen
           *[other] { $count } Lesezeichen entfernen
        }
    .accesskey = e
toolbar-settings-button =
    .label = Einstellungen
    .tooltiptext =
        { PLATFORM() ->
            [macos] Einstellungen öffnen ({ $shortcut })
           *[other] Einstellungen öffnen
        }
)src";

TEST(FtlParserTest, ParsesRealGermanSnippet) {
  const FtlResource res = parse_ftl(kGermanBrowserFtl, "browser.ftl");
  EXPECT_TRUE(res.terms.empty());
  using Rows = std::vector<std::tuple<std::string, std::string, bool>>;
  EXPECT_EQ(key_text_plural(res.messages),
            (Rows{
                {"browser-main-window-default-title", "{ -brand-full-name }", false},
                {"browser-main-private-window-title", "{ -brand-full-name } Privater Modus", false},
                {"urlbar-identity-button.aria-label", "Seiteninformationen anzeigen", false},
                {"bookmark-panel-cancel.label", "Abbrechen", false},
                {"bookmark-panel-cancel.accesskey", "b", false},
                {"bookmark-panel-remove.label", "{ $count } Lesezeichen entfernen", true},
                {"bookmark-panel-remove.accesskey", "e", false},
                {"toolbar-settings-button.label", "Einstellungen", false},
                {"toolbar-settings-button.tooltiptext", "Einstellungen öffnen", false},
            }));
}

TEST(FtlParserTest, AttributeOnlyMessageHasNoValueKey) {
  const FtlResource res = parse_ftl("menu =\n    .label = Datei\n    .accesskey = D\n", "x.ftl");
  ASSERT_EQ(res.messages.size(), 2u);
  EXPECT_EQ(res.messages[0].key, "menu.label");
  EXPECT_EQ(res.messages[1].key, "menu.accesskey");
}

TEST(FtlParserTest, ValueAndAttributes) {
  const FtlResource res =
      parse_ftl("about = About { -brand-short-name }\n    .title = About\n", "x.ftl");
  using Rows = std::vector<std::tuple<std::string, std::string, bool>>;
  EXPECT_EQ(key_text_plural(res.messages), (Rows{{"about", "About { -brand-short-name }", false},
                                                 {"about.title", "About", false}}));
}

TEST(FtlParserTest, JoinsMultilineValuesWithoutIndentation) {
  const char* src =
      "onboarding =\n"
      "    Firefox puts people first.\n"
      "\n"
      "    Your data   stays yours.\n"
      "  Less indented.\n"
      "next = inline start\n"
      "     and a continuation\n";
  const FtlResource res = parse_ftl(src, "x.ftl");
  ASSERT_EQ(res.messages.size(), 2u);
  EXPECT_EQ(res.messages[0].text,
            "Firefox puts people first.\nYour data   stays yours.\nLess indented.");
  EXPECT_EQ(res.messages[1].text, "inline start\nand a continuation");
  EXPECT_EQ(clean(res.messages[1].text, Accel::kNone), "inline start and a continuation");
}

TEST(FtlParserTest, SkipsAllCommentLevels) {
  const char* src =
      "### Resource comment\n"
      "## Group comment\n"
      "# Message comment\n"
      "#\n"
      "a = A\n"
      "# b = not a message\n";
  const FtlResource res = parse_ftl(src, "x.ftl");
  ASSERT_EQ(res.messages.size(), 1u);
  EXPECT_EQ(res.messages[0].key, "a");
  EXPECT_EQ(res.messages[0].text, "A");
}

TEST(FtlParserTest, UnescapesStringLiterals) {
  const FtlResource res = parse_ftl(
      R"(braces = Use { "{" } and { "}" }, { "\\" } { "\"" }{ "\u00A0" }{ "\U01F600" } { 42 })"
      "\n",
      "x.ftl");
  ASSERT_EQ(res.messages.size(), 1u);
  EXPECT_EQ(res.messages[0].text, "Use { and }, \\ \"\u00A0\U0001F600 42");
}

TEST(FtlParserTest, NormalisesVariablesAndKeepsReferences) {
  const FtlResource res = parse_ftl(
      "hello = Hi {$userName}, {   $count } new, see { other-message } and { other.title }\n"
      "size = { NUMBER($size, maximumFractionDigits: 1) } MB\n",
      "x.ftl");
  ASSERT_EQ(res.messages.size(), 2u);
  EXPECT_EQ(res.messages[0].text,
            "Hi { $userName }, { $count } new, see { other-message } and { other.title }");
  EXPECT_EQ(res.messages[1].text, "{ NUMBER($size, maximumFractionDigits: 1) } MB");
}

TEST(FtlParserTest, SelectOnVariableIsPluralKeepingRestOfMessage) {
  const char* src =
      "tabs-close = Close { $count ->\n"
      "    [one] this tab\n"
      "   *[other] { $count } tabs\n"
      "} now?\n";
  const FtlResource res = parse_ftl(src, "x.ftl");
  ASSERT_EQ(res.messages.size(), 1u);
  EXPECT_EQ(res.messages[0].text, "Close { $count } tabs now?");
  EXPECT_TRUE(res.messages[0].plural);
}

TEST(FtlParserTest, NumberFunctionSelectorIsPlural) {
  const FtlResource res = parse_ftl(
      "n = { NUMBER($n, type: \"ordinal\") ->\n   *[other] { $n }th\n    [one] { $n }st\n }\n",
      "x.ftl");
  ASSERT_EQ(res.messages.size(), 1u);
  EXPECT_EQ(res.messages[0].text, "{ $n }th");
  EXPECT_TRUE(res.messages[0].plural);
}

TEST(FtlParserTest, SelectOnTermAttributeOrPlatformIsNotPlural) {
  const char* src =
      "welcome = { -brand-short-name.gender ->\n"
      "    [masculine] Vítejte ve { -brand-short-name(case: \"loc\") }\n"
      "   *[other] Vítejte v aplikaci { -brand-short-name }\n"
      "  }\n"
      "key = { PLATFORM() ->\n"
      "    [macos] Cmd\n"
      "   *[other] Ctrl\n"
      " }+S\n";
  const FtlResource res = parse_ftl(src, "x.ftl");
  using Rows = std::vector<std::tuple<std::string, std::string, bool>>;
  EXPECT_EQ(key_text_plural(res.messages),
            (Rows{{"welcome", "Vítejte v aplikaci { -brand-short-name }", false},
                  {"key", "Ctrl+S", false}}));
}

TEST(FtlParserTest, NestedSelectUsesDefaultOfEachLevel) {
  const char* src =
      "m = { $a ->\n"
      "    [x] X\n"
      "   *[y] { $b ->\n"
      "        [p] P\n"
      "       *[q] Q { $b }\n"
      "    }\n"
      "}\n";
  const FtlResource res = parse_ftl(src, "x.ftl");
  ASSERT_EQ(res.messages.size(), 1u);
  EXPECT_EQ(res.messages[0].text, "Q { $b }");
  EXPECT_TRUE(res.messages[0].plural);
}

// A Czech-style parametrised brand term, as the cs/ru/pl langpacks have.
const char kCzechBrandFtl[] = R"src(-brand-short-name =
    { $case ->
       *[nom] Firefox
        [gen] Firefoxu
        [dat] Firefoxu
        [acc] Firefox
        [voc] Firefoxe
        [loc] Firefoxu
        [ins] Firefoxem
    }
    .gender = masculine
-vendor-short-name = Mozilla
-brand-full-name = { -vendor-short-name } { -brand-short-name }
update-available = Je k dispozici nová verze { -brand-short-name(case: "gen") }.
about = O aplikaci { -brand-full-name }
with-ins = S {-brand-short-name( case : "ins" )} a { -unknown-term } i { -vendor-short-name }
)src";

TEST(FtlParserTest, ParsesParametrisedTermVariants) {
  const FtlResource res = parse_ftl(kCzechBrandFtl, "brand.ftl");
  ASSERT_EQ(res.terms.size(), 3u);
  const FtlTerm& brand = res.terms.at("-brand-short-name");
  EXPECT_EQ(brand.value, "Firefox");
  EXPECT_EQ(brand.variants, (std::map<std::string, std::string>{{"nom", "Firefox"},
                                                                {"gen", "Firefoxu"},
                                                                {"dat", "Firefoxu"},
                                                                {"acc", "Firefox"},
                                                                {"voc", "Firefoxe"},
                                                                {"loc", "Firefoxu"},
                                                                {"ins", "Firefoxem"}}));
  EXPECT_EQ(res.terms.at("-vendor-short-name").value, "Mozilla");
  EXPECT_TRUE(res.terms.at("-vendor-short-name").variants.empty());
  ASSERT_EQ(res.messages.size(), 3u);
  EXPECT_EQ(res.messages[0].text,
            "Je k dispozici nová verze { -brand-short-name(case: \"gen\") }.");
}

TEST(FtlParserTest, ExpandsTermsWithSelectedVariant) {
  const FtlResource res = parse_ftl(kCzechBrandFtl, "brand.ftl");
  ASSERT_EQ(res.messages.size(), 3u);
  EXPECT_EQ(expand_ftl_terms(res.messages[0].text, res.terms),
            "Je k dispozici nová verze Firefoxu.");
  EXPECT_EQ(expand_ftl_terms(res.messages[1].text, res.terms), "O aplikaci Mozilla Firefox");
  EXPECT_EQ(expand_ftl_terms(res.messages[2].text, res.terms),
            "S Firefoxem a { -unknown-term } i Mozilla");
  // A variant the term does not have falls back to the default value.
  EXPECT_EQ(expand_ftl_terms("{ -brand-short-name(case: \"abl\") }", res.terms), "Firefox");
  EXPECT_EQ(expand_ftl_terms("no terms { $x }", res.terms), "no terms { $x }");
}

TEST(FtlParserTest, ExpansionStopsOnCyclicTerms) {
  const FtlResource res = parse_ftl("-a = x { -b }\n-b = y { -a }\n", "x.ftl");
  const std::string out = expand_ftl_terms("{ -a }", res.terms);
  EXPECT_TRUE(starts_with(out, "x y x y"));
}

TEST(FtlParserTest, CrLfLineEndingsAndBom) {
  const FtlResource res = parse_ftl(
      "\xEF\xBB\xBF"
      "a = one\r\n    two\r\nb =\r\n    .label = L\r\n",
      "x.ftl");
  using Rows = std::vector<std::tuple<std::string, std::string, bool>>;
  EXPECT_EQ(key_text_plural(res.messages),
            (Rows{{"a", "one\ntwo", false}, {"b.label", "L", false}}));
}

TEST(FtlParserTest, LaterDuplicateWins) {
  const FtlResource res = parse_ftl("a = first\nb = B\na = second\n", "x.ftl");
  using Rows = std::vector<std::tuple<std::string, std::string, bool>>;
  EXPECT_EQ(key_text_plural(res.messages), (Rows{{"a", "second", false}, {"b", "B", false}}));
}

TEST(FtlParserTest, ErrorsNameFileAndLine) {
  EXPECT_EQ(error_of([] { parse_ftl("ok = fine\nbad-line fine\n", "x.ftl"); }),
            "x.ftl:2: expected '=' after \"bad-line\"");
  EXPECT_EQ(error_of([] { parse_ftl("a = A\nempty =\nnext = x\n", "x.ftl"); }),
            "x.ftl:2: message \"empty\" has neither a value nor attributes");
  EXPECT_TRUE(
      starts_with(error_of([] { parse_ftl("a = { $n ->\n  [one] x\n  [other] y\n}\n", "x.ftl"); }),
                  "x.ftl:4: a select expression has no default variant"));
  EXPECT_TRUE(starts_with(error_of([] { parse_ftl("a = x\nb = { $x\n", "x.ftl"); }), "x.ftl:2: "));
  EXPECT_TRUE(starts_with(error_of([] { parse_ftl("a = x }\n", "x.ftl"); }), "x.ftl:1: "));
  EXPECT_TRUE(starts_with(error_of([] { parse_ftl("a = { \"open\n", "x.ftl"); }),
                          "x.ftl:1: unterminated string literal"));
  EXPECT_TRUE(starts_with(error_of([] { parse_ftl("# c\n  indented junk\n", "x.ftl"); }),
                          "x.ftl:2: indented text outside a message"));
  EXPECT_TRUE(starts_with(error_of([] { parse_ftl("-term =\n    .attr = x\n", "x.ftl"); }),
                          "x.ftl:1: term \"-term\" has no value"));
}

TEST(FtlParserTest, DeepNestingIsAnErrorNotAStackOverflow) {
  const std::string deep = "a = " + std::string(100000, '{') + "\n";
  EXPECT_EQ(error_of([&] { parse_ftl(deep, "x.ftl"); }), "x.ftl:1: placeables nested too deeply");
  EXPECT_EQ(parse_ftl("a = {{{ \"x\" }}}\n", "x.ftl").messages.at(0).text, "x");
}

TEST(FtlParserTest, GarbageNeverCrashes) {
  fuzz("{}[]*.-=$\"\\ \n\n#abcAB(),:0u>", [](const std::string& s) { parse_ftl(s, "fuzz.ftl"); });
  fuzz("ab =\n  {$ -> *[]}.", [](const std::string& s) {
    const FtlResource res = parse_ftl("x = " + s, "fuzz.ftl");
    for (const Message& m : res.messages) expand_ftl_terms(m.text, res.terms);
  });
}

}  // namespace
}  // namespace strata::data
