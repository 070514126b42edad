// gettext .po reading and writing (data/po.h) and plural rules (data/plural_rules.h).
#include "data/po.h"

#include <gtest/gtest.h>

#include "data/plural_rules.h"
#include "tests/data/parser_test_util.h"

namespace strata::data {
namespace {

const char* kPo =
    "# German translations for grep.\n"
    "msgid \"\"\n"
    "msgstr \"\"\n"
    "\"Project-Id-Version: grep 3.8\\n\"\n"
    "\"Language: de\\n\"\n"
    "\"Content-Type: text/plain; charset=UTF-8\\n\"\n"
    "\"Plural-Forms: nplurals=2; plural=(n != 1);\\n\"\n"
    "\n"
    "#. TRANSLATORS: a file name follows\n"
    "#: src/grep.c:10 src/grep.c:20\n"
    "#, c-format\n"
    "#| msgid \"old %s\"\n"
    "msgid \"%s: binary file matches\\n\"\n"
    "msgstr \"\"\n"
    "\n"
    "msgctxt \"menu\"\n"
    "msgid \"Open\"\n"
    "msgstr \"Öffnen\"\n"
    "\n"
    "#, c-format\n"
    "msgid \"one file\"\n"
    "msgid_plural \"%d files\"\n"
    "msgstr[0] \"\"\n"
    "msgstr[1] \"\"\n"
    "\n"
    "msgid \"\"\n"
    "\"Usage: %s [OPTION]...\\n\"\n"
    "\"Search for \\\"PATTERNS\\\"\\tin each FILE.\\n\"\n"
    "msgstr \"\"\n"
    "\n"
    "#~ msgid \"gone\"\n"
    "#~ msgstr \"weg\"\n";

TEST(PoTest, ReadsEntriesCommentsFlagsContextsPluralsAndEscapes) {
  const PoFile po = parse_po(kPo, "de.po");
  ASSERT_EQ(po.entries.size(), 6u);
  EXPECT_TRUE(po.entries[0].is_header());
  EXPECT_EQ(po_header_field(po.entries[0].msgstr[0], "Language"), "de");
  const PoEntry& a = po.entries[1];
  EXPECT_EQ(a.msgid, "%s: binary file matches\n");
  EXPECT_EQ(a.flags, std::vector<std::string>{"c-format"});
  EXPECT_EQ(a.comments_before_flags.size(), 2u);
  EXPECT_EQ(a.comments_after_flags, std::vector<std::string>{"#| msgid \"old %s\""});
  EXPECT_EQ(a.line, 13);
  EXPECT_FALSE(a.translated());
  const PoEntry& b = po.entries[2];
  EXPECT_TRUE(b.has_context);
  EXPECT_EQ(b.context, "menu");
  EXPECT_EQ(b.msgstr, std::vector<std::string>{"Öffnen"});
  const PoEntry& c = po.entries[3];
  EXPECT_TRUE(c.plural);
  EXPECT_EQ(c.msgid_plural, "%d files");
  EXPECT_EQ(c.msgstr.size(), 2u);
  EXPECT_EQ(po.entries[4].msgid, "Usage: %s [OPTION]...\nSearch for \"PATTERNS\"\tin each FILE.\n");
  EXPECT_TRUE(po.entries[5].obsolete);
}

TEST(PoTest, WritesAnUnchangedFileByteForByte) {
  EXPECT_EQ(write_po(parse_po(kPo, "de.po")), kPo);
}

TEST(PoTest, WritesChangedEntriesAsMsgcatWould) {
  PoFile po = parse_po(kPo, "de.po");
  PoEntry& a = po.entries[1];
  a.msgstr[0] = "%s: Binärdatei passt\n";
  a.set_fuzzy(true);
  const std::string out = write_po(po);
  EXPECT_TRUE(test::contains(out,
                             "#. TRANSLATORS: a file name follows\n#: src/grep.c:10 src/grep.c:20\n"
                             "#, fuzzy, c-format\n#| msgid \"old %s\"\n"
                             "msgid \"%s: binary file matches\\n\"\nmsgstr \"%s: Binärdatei passt\\n\"\n"));
  // Long and multi-line strings: "" first, broken after "\n" and spaces within 79 columns.
  EXPECT_EQ(po_string_lines("msgstr", "a\nb"), "msgstr \"\"\n\"a\\n\"\n\"b\"\n");
  const std::string long_text(30, 'x');
  const std::string lines = po_string_lines("msgstr", long_text + " " + long_text + " " + long_text);
  EXPECT_EQ(lines, "msgstr \"\"\n\"" + long_text + " " + long_text + " \"\n\"" + long_text + "\"\n");
  EXPECT_EQ(po_string_lines("msgstr[1]", "tab\there \"q\" \\"), "msgstr[1] \"tab\\there \\\"q\\\" \\\\\"\n");
}

TEST(PoTest, ErrorsNameTheLine) {
  auto err = [](const std::string& text) {
    return test::error_of([&] { parse_po(text, "x.po"); });
  };
  EXPECT_EQ(err("msgid \"a\nmsgstr \"b\"\n"), "x.po:1: string not closed (a '\"' is missing)");
  EXPECT_EQ(err("msgid \"a\"\n\nmsgid \"b\"\nmsgstr \"\"\n"), "x.po:1: msgid without msgstr");
  EXPECT_EQ(err("msgid \"a\"\nmsgstr \"\"\n\nmsgid \"a\"\nmsgstr \"\"\n"),
            "x.po:4: duplicate message definition (first at line 1)");
  EXPECT_EQ(err("msgid \"a\"\nmsgid_plural \"as\"\nmsgstr[1] \"\"\n"),
            "x.po:3: expected msgstr[0], not msgstr[1]");
  EXPECT_EQ(err("msgid \"a\"\nmsgstr \"\\q\"\n"), "x.po:2: unknown escape \\q");
  EXPECT_EQ(err("msgid \"a\"\nmsgstr \"x\xff\"\n"), "x.po:2: invalid UTF-8 at byte 10 of the line");
  // Found by fuzzing (catalog): escapes that make bytes which are not UTF-8; ones that do are fine.
  EXPECT_EQ(err("msgid \"a\\333\"\nmsgstr \"\"\n"), "x.po:1: invalid UTF-8 in msgid (from an octal or \\x escape)");
  EXPECT_EQ(err("msgid \"a\"\nmsgstr \"\\xff\"\n"), "x.po:1: invalid UTF-8 in msgstr (from an octal or \\x escape)");
  EXPECT_EQ(parse_po("msgid \"caf\\303\"\n\"\\251\"\nmsgstr \"\"\n", "x.po").entries.at(0).msgid, "caf\xc3\xa9");
  EXPECT_EQ(err("msgid \"\"\nmsgstr \"Content-Type: text/plain; charset=ISO-8859-1\\n\"\n"),
            "x.po:1: the header's charset is ISO-8859-1, not UTF-8 (convert the file: msgconv "
            "--to-code=UTF-8)");
  EXPECT_EQ(err("hello\n"), "x.po:1: expected a comment, a keyword (msgctxt, msgid, msgid_plural, msgstr) or a string");
  test::fuzz("msgidstr_plural[0]\"\\ #,~|\nxa", [](const std::string& s) { write_po(parse_po(s, "f.po")); });
}

TEST(PluralRulesTest, EvaluatesGettextExpressions) {
  const PluralForms ru(gettext_plural_forms("ru"), "ru");
  EXPECT_EQ(ru.nplurals(), 3);
  const std::vector<std::pair<int, int>> cases = {{1, 0}, {2, 1}, {4, 1}, {5, 2}, {11, 2}, {12, 2},
                                                  {21, 0}, {22, 1}, {25, 2}, {111, 2}, {0, 2}};
  for (auto [n, form] : cases) EXPECT_EQ(ru.index(static_cast<unsigned long>(n)), form) << n;
  const PluralForms fr(gettext_plural_forms("fr"), "fr");
  EXPECT_EQ(fr.index(0), 0);
  EXPECT_EQ(fr.index(2), 1);
  const PluralForms ja(gettext_plural_forms("ja"), "ja");
  EXPECT_EQ(ja.nplurals(), 1);
  EXPECT_EQ(ja.index(7), 0);
  const PluralForms ar(gettext_plural_forms("ar"), "ar");
  EXPECT_EQ(ar.index(0), 0);
  EXPECT_EQ(ar.index(103), 3);
  EXPECT_EQ(ar.index(111), 4);
  EXPECT_EQ(ar.index(100), 5);
  EXPECT_EQ(gettext_plural_forms("pt_BR"), gettext_plural_forms("fr"));
  EXPECT_EQ(gettext_plural_forms("zh-CN"), "nplurals=1; plural=0;");
  EXPECT_EQ(gettext_plural_forms("xx"), "");
  EXPECT_EQ(cldr_plural_categories("ru"), (std::vector<std::string>{"one", "few", "many", "other"}));
  EXPECT_EQ(cldr_plural_categories("ja"), (std::vector<std::string>{"other"}));
  EXPECT_EQ(mozilla_plural_count("ru"), 3);
  EXPECT_EQ(mozilla_plural_count("zh-CN"), 1);
  // A form index past nplurals is refused, as msgfmt does.
  EXPECT_EQ(PluralForms("nplurals=2; plural=n;", "x").index(5), -1);
  EXPECT_TRUE(test::starts_with(test::error_of([] { PluralForms("nplurals=2; plural=(n != ;", "h"); }),
                                "h: Plural-Forms: "));
  EXPECT_TRUE(test::starts_with(test::error_of([] { PluralForms("nplurals=INTEGER; plural=EXPRESSION;", "h"); }),
                                "h: Plural-Forms: nplurals must be"));
}

}  // namespace
}  // namespace strata::data
