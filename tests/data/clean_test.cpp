// Tests of data/clean.h: the cleaning rules of ../shared/docs/corpus.md, "Cleaning" (one hand case
// per rule), placeholders, rejection, the split key and counts. Expected values written by hand.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "data/clean.h"
#include "nmt/util/error.h"
#include "tests/data/parser_test_util.h"

namespace strata::data {
namespace {

using namespace strata::test;  // parser_test_util.h

TEST(CleanTest, RemovesLibreOfficeTilde) {
  EXPECT_EQ(clean("~Save", Accel::kTilde), "Save");
  EXPECT_EQ(clean("Save ~As...", Accel::kTilde), "Save As...");
  EXPECT_EQ(clean("Ö~ffnen", Accel::kTilde), "Öffnen");
  EXPECT_EQ(clean("~/.config and a ~ b", Accel::kTilde), "~/.config and a ~ b");
  EXPECT_EQ(clean("~Save", Accel::kNone), "~Save");
}

TEST(CleanTest, RemovesGtkUnderscoreOnlyWhenSingle) {
  EXPECT_EQ(clean("_Open", Accel::kUnderscore), "Open");
  EXPECT_EQ(clean("Save _As…", Accel::kUnderscore), "Save As…");
  EXPECT_EQ(clean("file_name_here", Accel::kUnderscore), "file_name_here");
  EXPECT_EQ(clean("__Literal", Accel::kUnderscore), "__Literal");
  EXPECT_EQ(clean("trailing _", Accel::kUnderscore), "trailing _");
  EXPECT_EQ(clean("_Open", Accel::kTilde), "_Open");
}

TEST(CleanTest, RemovesQtAmpersandButNotEntities) {
  EXPECT_EQ(clean("&Open", Accel::kAmpersand), "Open");
  EXPECT_EQ(clean("Save &As", Accel::kAmpersand), "Save As");
  EXPECT_EQ(clean("Drag && Drop", Accel::kAmpersand), "Drag & Drop");
  EXPECT_EQ(clean("&&lt;", Accel::kAmpersand), "&lt;");
  EXPECT_EQ(clean("Save &amp; &Close", Accel::kAmpersand), "Save & Close");
  EXPECT_EQ(clean("&#38;&#x41;", Accel::kAmpersand), "&A");
  EXPECT_EQ(clean("Tom & Jerry &", Accel::kAmpersand), "Tom & Jerry &");
  EXPECT_EQ(clean("&Open", Accel::kNone), "&Open");
}

TEST(CleanTest, RemovesCjkAcceleratorSuffix) {
  for (Accel a : {Accel::kNone, Accel::kTilde, Accel::kUnderscore, Accel::kAmpersand}) {
    EXPECT_EQ(clean("保存(&S)", a), "保存");
    EXPECT_EQ(clean("名前を付けて保存(~A)...", a), "名前を付けて保存...");
    EXPECT_EQ(clean("打开(_O)…", a), "打开…");
    EXPECT_EQ(clean("ファイル(&F):", a), "ファイル:");
    EXPECT_EQ(clean("파일 (&F)", a), "파일");
    EXPECT_EQ(clean("編集（&E）", a), "編集");
  }
  EXPECT_EQ(clean("Value (a)", Accel::kNone), "Value (a)");
  EXPECT_EQ(clean("f(&xy)", Accel::kNone), "f(&xy)");
}

TEST(CleanTest, ReplacesProductName) {
  EXPECT_EQ(clean("%PRODUCTNAME Writer", Accel::kTilde), "LibreOffice Writer");
  EXPECT_EQ(clean("Close %PRODUCTNAME and %PRODUCTNAME ~Help", Accel::kTilde),
            "Close LibreOffice and LibreOffice Help");
}

TEST(CleanTest, RemovesMarkupKeepingText) {
  EXPECT_EQ(clean("<span class=\"x\">a</span>", Accel::kNone), "a");
  EXPECT_EQ(clean("Line<br/>break<BR>here", Accel::kNone), "Line break here");
  EXPECT_EQ(clean("<a data-l10n-name=\"link\" title=\"a>b\">Learn more</a>", Accel::kNone),
            "Learn more");
  EXPECT_EQ(clean("Use <strong>{ $name }</strong>", Accel::kNone), "Use { $name }");
  EXPECT_EQ(clean("<html:span>x</html:span><!-- note -->y", Accel::kNone), "xy");
  // Angle-bracketed words that are not markup stay.
  EXPECT_EQ(clean("<None> and <All> in <filename>", Accel::kNone),
            "<None> and <All> in <filename>");
  EXPECT_EQ(clean("a < b > c", Accel::kNone), "a < b > c");
  EXPECT_EQ(clean("<b unterminated", Accel::kNone), "<b unterminated");
}

TEST(CleanTest, UnescapesEntitiesAfterMarkup) {
  EXPECT_EQ(clean("&amp; &lt; &gt; &quot; &apos;", Accel::kNone), "& < > \" '");
  EXPECT_EQ(clean("&#123;&#x7D;&#X41;", Accel::kNone), "{}A");
  EXPECT_EQ(clean("&copy; &hellip; &mdash; &euro; &eacute;", Accel::kNone), "© … — € é");
  EXPECT_EQ(clean("a&nbsp;b", Accel::kNone), "a b");
  EXPECT_EQ(clean("&lt;b&gt;bold&lt;/b&gt;", Accel::kNone), "<b>bold</b>");
  EXPECT_EQ(clean("&amp;lt;", Accel::kNone), "&lt;");
  EXPECT_EQ(clean("&brandShortName; &unknown; &#0; & x", Accel::kNone),
            "&brandShortName; &unknown; &#0; & x");
  EXPECT_EQ(clean("bell&#x7;", Accel::kNone), "bell");
}

TEST(CleanTest, RemovesBidiZeroWidthAndSoftHyphen) {
  EXPECT_EQ(clean("\u200Eab\u200Fc\u202Ad\u202Be\u202Cf\u202Dg\u202Eh", Accel::kNone), "abcdefgh");
  EXPECT_EQ(clean("\u2066a\u2067b\u2068c\u2069d", Accel::kNone), "abcd");
  EXPECT_EQ(clean("zero\u200Bwidth\u200Cnon\u200Djoiner\uFEFF", Accel::kNone),
            "zerowidthnonjoiner");
  EXPECT_EQ(clean("Silben\u00ADtrennung", Accel::kNone), "Silbentrennung");
  EXPECT_EQ(clean("&lrm;x&shy;y", Accel::kNone), "xy");
}

TEST(CleanTest, CollapsesWhitespace) {
  EXPECT_EQ(clean("  a \t b\n\n c\r\n", Accel::kNone), "a b c");
  EXPECT_EQ(clean("Fichier\u00A0: \u3000x\u2009y\u202Fz", Accel::kNone), "Fichier : x y z");
  EXPECT_EQ(clean(" \n ", Accel::kNone), "");
  EXPECT_EQ(clean("", Accel::kTilde), "");
}

TEST(CleanTest, SurvivesInvalidUtf8) {
  const std::string bad = "a\xFF\xC3 b\xE2\x80";
  EXPECT_EQ(clean(bad, Accel::kTilde), bad);
  EXPECT_EQ(count_chars("\xE2\x80\xA6"), 1);
}

TEST(CleanTest, AppliesRulesTogether) {
  EXPECT_EQ(clean("  <b>%PRODUCTNAME</b> ~Options &amp;\u00A0more\u200B\n", Accel::kTilde),
            "LibreOffice Options & more");
}

TEST(CleanTest, GarbageNeverCrashes) {
  for (Accel a : {Accel::kNone, Accel::kTilde, Accel::kUnderscore, Accel::kAmpersand}) {
    fuzz(
        "&#x;<>/b~_()&\xE2\x80\xAE\xC2 aS", [a](const std::string& s) { clean(s, a); }, 1000);
  }
}

// ---------------------------------------------------------------------------------------------
// PlaceholderTest

using Strings = std::vector<std::string>;

TEST(PlaceholderTest, FindsPrintfConversions) {
  EXPECT_EQ(placeholders("%s %d %u %ld %lld %1$s %2$S %.2f %x %5.1f %-10s %'d %zu %%"),
            (Strings{"%'d", "%-10s", "%.2f", "%1$s", "%2$S", "%5.1f", "%d", "%ld", "%lld", "%s",
                     "%u", "%x", "%zu"}));
}

TEST(PlaceholderTest, IgnoresLiteralPercent) {
  EXPECT_TRUE(placeholders("50% of 100%% done, 5 %").empty());
  EXPECT_EQ(placeholders("%d%% complete"), (Strings{"%d"}));
}

TEST(PlaceholderTest, NormalisesFluentVariables) {
  EXPECT_EQ(placeholders("{$name} and { $name } and {   $count   }"),
            (Strings{"{ $count }", "{ $name }", "{ $name }"}));
  EXPECT_EQ(placeholders("{ NUMBER($size, maximumFractionDigits: 1) } MB"), (Strings{"{ $size }"}));
  EXPECT_TRUE(placeholders("{ -brand-short-name } { other-message } {x}").empty());
}

TEST(PlaceholderTest, FindsLibreOfficeMozillaAndBraceStyles) {
  EXPECT_EQ(placeholders("$(ARG1) has $(ARG2)"), (Strings{"$(ARG1)", "$(ARG2)"}));
  EXPECT_EQ(placeholders("Normal (%1) and %2%"), (Strings{"%1", "%2"}));
  EXPECT_EQ(placeholders("#1 of #2 results"), (Strings{"#1", "#2"}));
  EXPECT_EQ(placeholders("%PRODUCTNAME %FILENAME% %PRODUCTVERSION"),
            (Strings{"%FILENAME%", "%PRODUCTNAME", "%PRODUCTVERSION"}));
  EXPECT_EQ(placeholders("{0} of {1}, { 2 }"), (Strings{"{0}", "{1}", "{2}"}));
  EXPECT_TRUE(placeholders("Issue &#123; color #fff $ ( #1a2b3c").empty());
}

TEST(PlaceholderTest, ReturnsSortedMultiset) {
  EXPECT_EQ(placeholders("%2$s before %1$s and %s %s"), (Strings{"%1$s", "%2$s", "%s", "%s"}));
  EXPECT_EQ(placeholders("%1$S — %2$S"), placeholders("%2$S — %1$S"));
  EXPECT_NE(placeholders("%s"), placeholders("%d"));
}

// ---------------------------------------------------------------------------------------------
// RejectTest

TEST(RejectTest, EnglishNeedsTwoAsciiLettersOutsidePlaceholders) {
  const CleanOptions opt;
  EXPECT_EQ(reject_english("%s: %d", opt), "no-letters");
  EXPECT_EQ(reject_english("12:30", opt), "no-letters");
  EXPECT_EQ(reject_english("{ $count } × { $total }", opt), "no-letters");
  EXPECT_EQ(reject_english("%PRODUCTNAME", opt), "no-letters");
  EXPECT_EQ(reject_english("A", opt), "no-letters");
  EXPECT_EQ(reject_english("OK", opt), "");
  EXPECT_EQ(reject_english("%s files", opt), "");
}

TEST(RejectTest, EnglishCodeTokens) {
  const CleanOptions opt;
  for (const char* code : {"FOO.BAR", "browser.tabs.warnOnClose", "fooBar", "some_name", "MAX_SIZE",
                           "/usr/bin/env", "C:\\Windows\\System32", "org.gnome.x"}) {
    EXPECT_EQ(reject_english(code, opt), "code") << code;
  }
  for (const char* word :
       {"Save", "Cancel", "Save As", "e.g. this", "Settings…", "UTF-8", "Don't", "ASCII"}) {
    EXPECT_EQ(reject_english(word, opt), "") << word;
  }
}

TEST(RejectTest, EnglishUrlAndCss) {
  const CleanOptions opt;
  EXPECT_EQ(reject_english("https://www.mozilla.org/firefox/", opt), "url");
  EXPECT_EQ(reject_english("http://example.com", opt), "url");
  EXPECT_EQ(reject_english("www.libreoffice.org", opt), "url");
  EXPECT_EQ(reject_english("Visit https://example.com for help", opt), "");
  EXPECT_EQ(reject_english("width: 30em", opt), "css");
  EXPECT_EQ(reject_english("color: #fff", opt), "css");
  EXPECT_EQ(reject_english("min-width:12ch", opt), "css");
  EXPECT_EQ(reject_english("Note: 3 items", opt), "");
}

TEST(RejectTest, EnglishTooLong) {
  CleanOptions opt;
  opt.max_words = 3;
  opt.max_chars = 12;
  EXPECT_EQ(reject_english("one two three", opt), "too-long");  // 13 chars
  EXPECT_EQ(reject_english("one two three four", opt), "too-long");
  EXPECT_EQ(reject_english("aé ab cd", opt), "");      // 8 code points
  EXPECT_EQ(reject_english("abcdéééééééé", opt), "");  // 12 code points, 20 bytes
  EXPECT_EQ(reject_english("abcdééééééééé", opt), "too-long");
}

TEST(RejectTest, EnglishDropPlaceholders) {
  CleanOptions opt;
  EXPECT_EQ(reject_english("Delete %s files", opt), "");
  opt.drop_placeholders = true;
  EXPECT_EQ(reject_english("Delete %s files", opt), "placeholder");
  EXPECT_EQ(reject_english("Delete files", opt), "");
}

TEST(RejectTest, TranslationEmptyIdenticalNoText) {
  const CleanOptions opt;
  EXPECT_EQ(reject_translation("Open", "", "de", opt), "empty");
  EXPECT_EQ(reject_translation("Open", "  ", "de", opt), "empty");
  EXPECT_EQ(reject_translation("Status", "Status", "de", opt), "identical");
  EXPECT_EQ(reject_translation("%s: %s files", "%s : %s …", "fr", opt), "no-text");
  EXPECT_EQ(reject_translation("Open", "Öffnen", "de", opt), "");
  EXPECT_EQ(reject_translation("Open", "開く", "ja", opt), "");
  EXPECT_EQ(reject_translation("Page 1", "1", "ja", opt), "");  // digits are text
}

TEST(RejectTest, TranslationPlaceholderMultiset) {
  const CleanOptions opt;
  EXPECT_EQ(reject_translation("%s of %s", "%s von %d", "de", opt), "placeholders");
  EXPECT_EQ(reject_translation("%s of %s", "%s von", "de", opt), "placeholders");
  EXPECT_EQ(reject_translation("{ $n } tabs", "{$n} Tabs", "de", opt), "");
  EXPECT_EQ(reject_translation("%1$S of %2$S", "%2$S von %1$S", "de", opt), "");
  EXPECT_EQ(reject_translation("$(ARG1) changed", "$(ARG2) geändert", "de", opt), "placeholders");
  EXPECT_EQ(reject_translation("Page %1", "Seite %1", "de", opt), "");
  EXPECT_EQ(reject_translation("#1 results", "#1 Ergebnisse", "de", opt), "");
}

TEST(RejectTest, TranslationLengthRatio) {
  const CleanOptions opt;
  const std::string en = "Remove all cookies and site data";  // 32 code points
  EXPECT_EQ(reject_translation(en, "Alle Cookies und Website-Daten entfernen", "de", opt), "");
  EXPECT_EQ(reject_translation(en, "Weg", "de", opt), "ratio");                 // 3/32 < 0.3
  EXPECT_EQ(reject_translation(en, std::string(97, 'x'), "de", opt), "ratio");  // 97/32 > 3
  EXPECT_EQ(reject_translation(en, std::string(96, 'x'), "de", opt), "");       // exactly 3
  EXPECT_EQ(reject_translation(en, "全削除", "ja", opt), "");                   // 3/32 >= 0.06
  EXPECT_EQ(reject_translation(en, "削", "zh-CN", opt), "ratio");               // 1/32 < 0.06
  EXPECT_EQ(reject_translation(en, std::string(81, 'x'), "ko", opt), "ratio");  // > 2.5
  EXPECT_EQ(reject_translation(en, std::string(80, 'x'), "zh-TW", opt), "");    // exactly 2.5
  // Below 20 English characters the ratio is not checked.
  EXPECT_EQ(reject_translation("Cookies", "Cookies und Website-Daten löschen", "de", opt), "");
}

TEST(RejectTest, TranslationLibreOfficeJunk) {
  const CleanOptions opt;
  EXPECT_EQ(reject_translation("Returns the sum of the cells.",
                               "[text/scalc/01/04060106.xhp#sum_head not found].", "de", opt),
            "junk");
  EXPECT_EQ(reject_translation("Short", "D'oh! You found a bug (x).", "de", opt), "junk");
}

TEST(RejectTest, TranslationDropPlaceholders) {
  CleanOptions opt;
  opt.drop_placeholders = true;
  EXPECT_EQ(reject_translation("Delete %s", "%s löschen", "de", opt), "placeholder");
  EXPECT_EQ(reject_translation("Delete", "Löschen", "de", opt), "");
}

// ---------------------------------------------------------------------------------------------
// NormaliseKeyTest

TEST(NormaliseKeyTest, PunctuationCaseAndSpacingCollide) {
  EXPECT_EQ(normalise_key("Save As…"), "saveas");
  EXPECT_EQ(normalise_key("save as"), "saveas");
  EXPECT_EQ(normalise_key("Save\u00A0As..."), "saveas");
  EXPECT_EQ(normalise_key("“Don’t” – «save» — now·"), "dontsavenow");
  EXPECT_EQ(normalise_key("Page 2 of 10!"), "page2of10");
  EXPECT_EQ(normalise_key("  \t\n"), "");
}

TEST(NormaliseKeyTest, KeepsNonAsciiLetters) {
  EXPECT_EQ(normalise_key("Größe ändern"), "größeändern");
  EXPECT_EQ(normalise_key("Ελληνικά"), "Ελληνικά");
  EXPECT_EQ(normalise_key("保存する"), "保存する");
}

// ---------------------------------------------------------------------------------------------
// CountTest

TEST(CountTest, WordsAndCodePoints) {
  EXPECT_EQ(count_words(""), 0);
  EXPECT_EQ(count_words("  one\ttwo\nthree  "), 3);
  EXPECT_EQ(count_chars("abc"), 3);
  EXPECT_EQ(count_chars("Größe…"), 6);
  EXPECT_EQ(count_chars("保存\U0001F600"), 3);
}

}  // namespace
}  // namespace strata::data
