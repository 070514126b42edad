// Placeholder, markup and accelerator protection (data/protect.h): each kind of span by hand,
// restoration in the translation's order, and refusal of anything that does not restore exactly.
#include "data/protect.h"

#include <gtest/gtest.h>

#include "tests/data/parser_test_util.h"

namespace strata::data {
namespace {

using Spans = std::vector<std::string>;

TEST(ProtectTest, FindsEachKindOfPlaceholder) {
  EXPECT_EQ(protected_spans("%s and %d, %5.2f %-10s %lld %zu %1$S %<PRIuMAX> 100%%"),
            (Spans{"%s", "%d", "%5.2f", "%-10s", "%lld", "%zu", "%1$S", "%<PRIuMAX>", "%%"}));
  EXPECT_EQ(protected_spans("%(name)s has %(count)d"), (Spans{"%(name)s", "%(count)d"}));
  EXPECT_EQ(protected_spans("%1 of %2, %L1 and #1 files in %PRODUCTNAME or %FILENAME%"),
            (Spans{"%1", "%2", "%L1", "#1", "%PRODUCTNAME", "%FILENAME%"}));
  EXPECT_EQ(protected_spans("{0} {name} { $user } { -brand-short-name } { NUMBER($n, style: \"percent\") }"),
            (Spans{"{0}", "{name}", "{ $user }", "{ -brand-short-name }",
                   "{ NUMBER($n, style: \"percent\") }"}));
  EXPECT_EQ(protected_spans("$(ARG1) ${HOME} $PATH &amp; &#38; &#x26;"),
            (Spans{"$(ARG1)", "${HOME}", "$PATH", "&amp;", "&#38;", "&#x26;"}));
  EXPECT_EQ(protected_spans("<b>Bold</b> <a href=\"https://x.org\">link</a><br/><!-- c -->"),
            (Spans{"<b>", "</b>", "<a href=\"https://x.org\">", "</a>", "<br/>", "<!-- c -->"}));
  EXPECT_EQ(protected_spans("See https://www.gnu.org/software/grep/. Mail bug-grep@gnu.org, or www.debian.org."),
            (Spans{"https://www.gnu.org/software/grep/", "bug-grep@gnu.org", "www.debian.org"}));
  EXPECT_EQ(protected_spans("  -E, --extended-regexp     PATTERNS; --color[=WHEN], --file=FILE"),
            (Spans{"-E", "--extended-regexp", "--color[=WHEN]", "--file=FILE"}));
}

TEST(ProtectTest, AnAddressEndsAtABraceAndAStringLiteralsBraceIsNotAPlaceablesEnd) {
  // Found by fuzzing (catalog): "www.{me }" was one address span "www.{me" and a stray "}", so a
  // translation that moved the span split the placeable and the written .ftl did not parse.
  EXPECT_EQ(protected_spans("see www.{me }n and www.{ $host }/x"), (Spans{"{me }", "{ $host }"}));
  EXPECT_EQ(protected_spans("http://example.org/{ $path } ok"), (Spans{"http://example.org/", "{ $path }"}));
  EXPECT_EQ(protected_spans(R"(a { "}" } b { "{" } c { "\"}" } d)"),
            (Spans{R"({ "}" })", R"({ "{" })", R"({ "\"}" })"}));
}

TEST(ProtectTest, LeavesOrdinaryTextAlone) {
  EXPECT_EQ(protected_spans("50% of the e-mail, 100 % done - a < b > c {} 0% #0 $5 & co"), Spans{});
  EXPECT_EQ(protected_spans("re-run the non-interactive mode"), Spans{});
}

TEST(ProtectTest, TokensAreRestoredInTheTranslationsOrder) {
  const Protected p = protect("Move <b>%1</b> to %2", {});
  EXPECT_EQ(p.text, "Move %1%2%3 to %4");
  ASSERT_EQ(p.spans, (Spans{"<b>", "%1", "</b>", "%2"}));
  const Restored r = restore(p, "Nach %4 %1%2%3 verschieben", "de");
  ASSERT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.text, "Nach %2 <b>%1</b> verschieben");
}

TEST(ProtectTest, RefusesDroppedRepeatedUnknownAndAddedPlaceholders) {
  const Protected p = protect("Copy %s to %s", {});
  EXPECT_EQ(p.text, "Copy %1 to %2");
  Restored r = restore(p, "%1 kopieren", "de");
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(test::contains(r.problem, "drops %s"));
  r = restore(p, "%1 %1 %2", "de");
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(test::contains(r.problem, "repeats"));
  r = restore(p, "%1 %2 %3", "de");
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(test::contains(r.problem, "unknown token %3"));
  // A placeholder the model makes up is refused too (the restored text is checked).
  r = restore(p, "%1 nach %2 in %d", "de");
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(test::contains(r.problem, "adds %d"));
  // Unnumbered printf directives keep their order; a stray '%' is refused in a format string;
  // numbered ones may move.
  const Protected f = protect("Error (%d): %s", {});
  r = restore(f, "%2 (%1)", "de");
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(test::contains(r.problem, "changes the order of the format directives %d … %s"));
  r = restore(f, "Fehler 9% (%1): %2", "de");
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(test::contains(r.problem, "starts no directive"));
  EXPECT_TRUE(restore(f, "Fehler 9%% (%1): %2", "de").ok);
  EXPECT_TRUE(restore(protect("%1$s to %2$s", {}), "%2 nach %1", "de").ok);
  EXPECT_TRUE(restore(protect("Sheet %1 of %2", {}), "%2 の %1", "ja").ok);
  EXPECT_TRUE(restore(protect("Done", {}), "Fertig: 100 %", "de").ok);  // not a format string
  // Without protection the model sees the placeholders; the same check applies.
  ProtectOptions off;
  off.placeholders = false;
  const Protected q = protect("Copy %s to %s", off);
  EXPECT_EQ(q.text, "Copy %s to %s");
  EXPECT_TRUE(restore(q, "%s nach %s kopieren", "de").ok);
  EXPECT_FALSE(restore(q, "%s kopieren", "de").ok);
}

TEST(ProtectTest, AcceleratorsMoveToTheTranslation) {
  ProtectOptions opt;
  opt.accel = AccelMode::kAuto;
  Protected p = protect("_Open File", opt);
  EXPECT_EQ(p.text, "Open File");
  EXPECT_EQ(p.accel, '_');
  EXPECT_EQ(p.accel_key, "O");
  EXPECT_EQ(restore(p, "Datei öffnen", "de").text, "_Datei öffnen");  // no 'o': first letter
  EXPECT_EQ(restore(p, "Ouvrir le fichier", "fr").text, "_Ouvrir le fichier");
  EXPECT_EQ(restore(p, "Открыть файл", "ru").text, "_Открыть файл");
  EXPECT_EQ(restore(p, "ファイルを開く", "ja").text, "ファイルを開く(_O)");
  p = protect("Save &As…", opt);
  EXPECT_EQ(p.text, "Save As…");
  EXPECT_EQ(restore(p, "名前を付けて保存…", "zh-CN").text, "名前を付けて保存(&A)…");
  EXPECT_EQ(restore(p, "Speichern als…", "de").text, "Speichern &als…");
  p = protect("~Insert %1", opt);
  EXPECT_EQ(p.text, "Insert %1");
  EXPECT_EQ(restore(p, "%1 einfügen", "de").text, "%1 e~infügen");  // 'i' of einfügen
  // Not accelerators: an entity, "&&", a word-internal '_', two candidates.
  for (const char* s : {"Tom &amp; Jerry", "Fish && Chips", "file_name here", "_One _Two"}) {
    EXPECT_EQ(protect(s, opt).accel, 0) << s;
  }
  opt.accel = AccelMode::kUnderscore;
  EXPECT_EQ(protect("Re_name", opt).accel, '_');
}

TEST(ProtectTest, MasksTrainingRowsConsistentlyAcrossLanguages) {
  std::vector<std::string> row = {"Copy %s to <b>%d</b>", "%d nach %s <b>kopieren</b>", "",
                                  "%s %u %d <b></b>", "Kopieren %s %s"};
  EXPECT_EQ(mask_row_placeholders(row, 0), 4u);
  EXPECT_EQ(row[0], "Copy %1 to %2%3%4");
  EXPECT_EQ(row[1], "%3 nach %1 %2kopieren%4");
  EXPECT_EQ(row[2], "");
  EXPECT_EQ(row[3], "%1 %u %3 %2%4");  // a span the English lacks stays
  EXPECT_EQ(row[4], "Kopieren %1 %s");  // the English has one %s
  std::vector<std::string> plain = {"Open the file", "Datei öffnen"};
  EXPECT_EQ(mask_row_placeholders(plain, 0), 0u);
  EXPECT_EQ(plain[1], "Datei öffnen");
}

TEST(ProtectTest, ParsesAcceleratorModes) {
  EXPECT_EQ(parse_accel_mode("~", "--accelerator"), AccelMode::kTilde);
  EXPECT_TRUE(test::starts_with(test::error_of([] { parse_accel_mode("x", "--accelerator"); }),
                                "--accelerator: expected"));
}

}  // namespace
}  // namespace strata::data
