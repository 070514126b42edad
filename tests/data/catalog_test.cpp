// Filling catalogues (data/catalog.h) with a stand-in translator: what is translated, what is
// kept, plural forms per target language, placeholders, flagged entries, and the tools
// translators use (msgfmt, msgcat; @fluent/syntax through node when installed) on the output.
#include "data/catalog.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "data/fluent.h"
#include "data/po.h"
#include "data/properties.h"
#include "tests/data/parser_test_util.h"

namespace strata::data {
namespace {

// Upper-cases ASCII letters (tokens "%1" stay as they are) and counts the calls and pieces.
struct Upper {
  int calls = 0;
  std::vector<std::string> seen;
  std::vector<std::string> operator()(const std::vector<std::string>& in) {
    ++calls;
    std::vector<std::string> out;
    for (const std::string& s : in) {
      seen.push_back(s);
      std::string t = s;
      for (char& c : t) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      }
      out.push_back(t);
    }
    return out;
  }
};

std::string fill(const std::string& text, CatalogFormat format, const std::string& tgt,
                 CatalogStats* st, Upper* up, CatalogOptions opt = {}) {
  opt.format = format;
  opt.tgt_lang = tgt;
  return translate_catalog(text, "in", opt, [up](const std::vector<std::string>& v) { return (*up)(v); }, st);
}

std::filesystem::path temp_dir() {
  auto dir = std::filesystem::temp_directory_path() / ("strata_catalog_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = temp_dir() / name;
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

int run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

const char* kPot =
    "# SOME DESCRIPTIVE TITLE.\n"
    "#, fuzzy\n"
    "msgid \"\"\n"
    "msgstr \"\"\n"
    "\"Project-Id-Version: demo 1.0\\n\"\n"
    "\"Language: \\n\"\n"
    "\"Content-Type: text/plain; charset=CHARSET\\n\"\n"
    "\"Content-Transfer-Encoding: 8bit\\n\"\n"
    "\"Plural-Forms: nplurals=INTEGER; plural=EXPRESSION;\\n\"\n"
    "\n"
    "#: demo.c:1\n"
    "#, c-format\n"
    "msgid \"%s: cannot open %s\\n\"\n"
    "msgstr \"\"\n"
    "\n"
    "msgctxt \"menu\"\n"
    "msgid \"_Open File\"\n"
    "msgstr \"\"\n"
    "\n"
    "#, c-format\n"
    "msgid \"one file deleted\"\n"
    "msgid_plural \"%d files deleted\"\n"
    "msgstr[0] \"\"\n"
    "msgstr[1] \"\"\n"
    "\n"
    "#, c-format\n"
    "msgid \"\"\n"
    "\"Usage: %s [OPTION]... PATTERNS\\n\"\n"
    "\"  -E, --extended-regexp     PATTERNS are extended\\n\"\n"
    "msgstr \"\"\n"
    "\n"
    "msgid \"%s: %s\"\n"
    "msgstr \"\"\n"
    "\n"
    "msgid \"Click <b>here</b> to visit https://example.org.\"\n"
    "msgstr \"\"\n";

TEST(CatalogTest, FillsATemplateForGerman) {
  CatalogStats st;
  Upper up;
  const std::string out = fill(kPot, CatalogFormat::kPo, "de", &st, &up);
  const PoFile po = parse_po(out, "out.po");
  ASSERT_EQ(po.entries.size(), 7u);
  const PoEntry& h = po.entries[0];
  EXPECT_FALSE(h.fuzzy());
  EXPECT_EQ(po_header_field(h.msgstr[0], "Language"), "de");
  EXPECT_EQ(po_header_field(h.msgstr[0], "Plural-Forms"), "nplurals=2; plural=(n != 1);");
  EXPECT_EQ(po_header_field(h.msgstr[0], "Content-Type"), "text/plain; charset=UTF-8");
  EXPECT_EQ(po.entries[1].msgstr[0], "%s: CANNOT OPEN %s\n");
  EXPECT_EQ(po.entries[1].flags, (std::vector<std::string>{"fuzzy", "c-format"}));
  EXPECT_EQ(po.entries[1].comments_before_flags, std::vector<std::string>{"#: demo.c:1"});
  EXPECT_EQ(po.entries[2].context, "menu");
  EXPECT_EQ(po.entries[2].msgstr[0], "_OPEN FILE");
  EXPECT_EQ(po.entries[3].msgstr, (std::vector<std::string>{"ONE FILE DELETED", "%d FILES DELETED"}));
  EXPECT_EQ(po.entries[4].msgstr[0], "USAGE: %s [OPTION]... PATTERNS\n  -E, --extended-regexp     PATTERNS ARE EXTENDED\n");
  EXPECT_EQ(po.entries[5].msgstr[0], "%s: %s");  // nothing to translate: copied, not fuzzy
  EXPECT_FALSE(po.entries[5].fuzzy());
  EXPECT_EQ(po.entries[6].msgstr[0], "CLICK <b>HERE</b> TO VISIT https://example.org.");
  EXPECT_EQ(st.entries, 6);
  EXPECT_EQ(st.translated, 5);
  EXPECT_EQ(st.copied, 1);
  EXPECT_EQ(st.flagged, 0);
  // One call; the model saw tokens, never the placeholders, the markup or the accelerator.
  EXPECT_EQ(up.calls, 1);
  for (const std::string& s : up.seen) {
    EXPECT_EQ(s.find_first_of("_<$"), std::string::npos) << s;
    EXPECT_EQ(s.find("%s"), std::string::npos) << s;
  }
  EXPECT_TRUE(std::find(up.seen.begin(), up.seen.end(), "Click %1here%2 to visit %3.") != up.seen.end());
  // msgfmt accepts it (with the fuzzy entries, as a reviewer would compile them), msgcat reads it.
  const std::string path = write_temp("de.po", out);
  EXPECT_EQ(run("msgfmt --check --use-fuzzy -o /dev/null " + path), 0);
  EXPECT_EQ(run("msgfmt --check -o /dev/null " + path), 0);
  EXPECT_EQ(run("msgcat -o " + path + ".cat " + path), 0);
  std::ifstream cat(path + ".cat");
  const std::string catted((std::istreambuf_iterator<char>(cat)), std::istreambuf_iterator<char>());
  const PoFile again = parse_po(catted, "cat.po");
  ASSERT_EQ(again.entries.size(), po.entries.size());
  for (size_t i = 0; i < po.entries.size(); ++i) {
    EXPECT_EQ(again.entries[i].msgid, po.entries[i].msgid);
    EXPECT_EQ(again.entries[i].msgstr, po.entries[i].msgstr);
    EXPECT_EQ(again.entries[i].flags, po.entries[i].flags);
  }
}

TEST(CatalogTest, PluralFormsFollowTheTargetLanguage) {
  Upper up;
  CatalogStats st;
  PoFile ru = parse_po(fill(kPot, CatalogFormat::kPo, "ru", &st, &up), "ru.po");
  EXPECT_EQ(ru.entries[3].msgstr,
            (std::vector<std::string>{"%d FILES DELETED", "%d FILES DELETED", "%d FILES DELETED"}));
  PoFile ja = parse_po(fill(kPot, CatalogFormat::kPo, "ja", &st, &up), "ja.po");
  EXPECT_EQ(ja.entries[3].msgstr, std::vector<std::string>{"%d FILES DELETED"});
  EXPECT_EQ(ja.entries[2].msgstr[0], "OPEN FILE(_O)");
  // A singular with the same placeholders is used for the form of n = 1 even where that form
  // also serves 21, 31, ...
  const std::string pot =
      "msgid \"\"\nmsgstr \"Content-Type: text/plain; charset=UTF-8\\n\"\n\n"
      "#, c-format\nmsgid \"%d file\"\nmsgid_plural \"%d files\"\nmsgstr[0] \"\"\nmsgstr[1] \"\"\n";
  ru = parse_po(fill(pot, CatalogFormat::kPo, "ru", &st, &up), "ru.po");
  EXPECT_EQ(ru.entries[1].msgstr, (std::vector<std::string>{"%d FILE", "%d FILES", "%d FILES"}));
  for (const char* lang : {"ru", "ja", "de"}) {
    const std::string path = write_temp(std::string(lang) + ".po", fill(kPot, CatalogFormat::kPo, lang, &st, &up));
    EXPECT_EQ(run("msgfmt --check --use-fuzzy -o /dev/null " + path), 0) << lang;
  }
}

TEST(CatalogTest, KeepsTranslationsUnlessAskedAndFlagsWhatCannotBeRestored) {
  const std::string po =
      "msgid \"\"\nmsgstr \"Language: de\\nContent-Type: text/plain; charset=UTF-8\\n\"\n\n"
      "msgid \"Open\"\nmsgstr \"Öffnen\"\n\n"
      "#, fuzzy\nmsgid \"Close\"\nmsgstr \"Zu\"\n\n"
      "#, c-format\nmsgid \"Copy %s to %s\"\nmsgstr \"\"\n";
  // A translator that loses the second token.
  auto lossy = [](const std::vector<std::string>& in) {
    std::vector<std::string> out;
    for (const std::string& s : in) {
      std::string t = s;
      const size_t p = t.find("%2");
      if (p != std::string::npos) t.erase(p, 2);
      out.push_back("X" + t);
    }
    return out;
  };
  CatalogOptions opt;
  opt.format = CatalogFormat::kPo;
  opt.tgt_lang = "de";
  CatalogStats st;
  std::string out = translate_catalog(po, "de.po", opt, lossy, &st);
  PoFile f = parse_po(out, "out");
  EXPECT_EQ(f.entries[1].msgstr[0], "Öffnen");
  EXPECT_EQ(f.entries[2].msgstr[0], "Zu");
  EXPECT_EQ(f.entries[3].msgstr[0], "");  // not written
  EXPECT_EQ(st.kept, 2);
  EXPECT_EQ(st.flagged, 1);
  ASSERT_EQ(st.problems.size(), 1u);
  EXPECT_EQ(st.problems[0], "de.po:12: msgid \"Copy %s to %s\": the translation drops %s");
  EXPECT_EQ(f.entries[3].comments_before_flags,
            std::vector<std::string>{"# strata: not translated (the translation drops %s): XCopy %1 to "});
  // --translate fuzzy replaces the fuzzy one, all replaces both.
  opt.scope = CatalogScope::kFuzzy;
  st = {};
  f = parse_po(translate_catalog(po, "de.po", opt, lossy, &st), "out");
  EXPECT_EQ(f.entries[1].msgstr[0], "Öffnen");
  EXPECT_EQ(f.entries[2].msgstr[0], "XClose");
  opt.scope = CatalogScope::kAll;
  f = parse_po(translate_catalog(po, "de.po", opt, lossy, &st), "out");
  EXPECT_EQ(f.entries[1].msgstr[0], "XOpen");
  // No fuzzy marks when told; the catalogue's own Language must match.
  opt.mark_fuzzy = false;
  f = parse_po(translate_catalog(po, "de.po", opt, lossy, &st), "out");
  EXPECT_FALSE(f.entries[1].fuzzy());
  opt.tgt_lang = "fr";
  EXPECT_EQ(test::error_of([&] { translate_catalog(po, "de.po", opt, lossy, &st); }),
            "de.po:1: the catalogue's Language is de, not fr (--tgt-lang)");
}

TEST(CatalogTest, AFormatStringIsCheckedWhole) {
  // The second line has no directive of its own; its stray '%' would break the C format.
  auto percent = [](const std::vector<std::string>& in) {
    std::vector<std::string> out;
    for (const std::string& s : in) out.push_back(s == "done" ? "fertig zu 50 %" : s);
    return out;
  };
  CatalogOptions opt;
  opt.format = CatalogFormat::kPo;
  opt.tgt_lang = "de";
  CatalogStats st;
  const std::string po = "#, c-format\nmsgid \"\"\n\"%s: copying\\n\"\n\"done\"\nmsgstr \"\"\n";
  const PoFile f = parse_po(translate_catalog(po, "x.po", opt, percent, &st), "out");
  EXPECT_EQ(st.flagged, 1);
  EXPECT_EQ(f.entries.back().msgstr[0], "");
  ASSERT_EQ(st.problems.size(), 1u);
  EXPECT_TRUE(test::contains(st.problems[0], "starts no directive"));
  // A c-format entry without directives: a '%' is still refused; without the flag it is text.
  st = {};
  translate_catalog("#, c-format\nmsgid \"done\"\nmsgstr \"\"\n", "x.po", opt, percent, &st);
  EXPECT_EQ(st.flagged, 1);
  st = {};
  translate_catalog("msgid \"done\"\nmsgstr \"\"\n", "x.po", opt, percent, &st);
  EXPECT_EQ(st.flagged, 0);
}

TEST(CatalogTest, BadInputNamesTheLine) {
  Upper up;
  CatalogStats st;
  EXPECT_EQ(test::error_of([&] { fill("msgid \"a\"\nmsgstr \"\"\n\nmsgid \"\xc3\"\n", CatalogFormat::kPo, "de", &st, &up); }),
            "in:4: invalid UTF-8 at byte 8 of the line");
  EXPECT_EQ(test::error_of([&] { fill("msgid \"a\"\nmsgstr \"\"\nmsgid_plural \"b\"\n", CatalogFormat::kPo, "de", &st, &up); }),
            "in:3: msgid_plural must follow msgid");
  EXPECT_EQ(test::error_of([&] { fill("a = { $x\n", CatalogFormat::kFtl, "de", &st, &up); }).substr(0, 5), "in:1:");
  EXPECT_EQ(test::error_of([&] { fill("a = \\u12\n", CatalogFormat::kProperties, "de", &st, &up); }).substr(0, 5), "in:1:");
  EXPECT_EQ(test::error_of([&] { fill("msgid \"a\"\nmsgid_plural \"b\"\nmsgstr[0] \"\"\n", CatalogFormat::kPo, "xx", &st, &up); }),
            "in: no Plural-Forms is known for 'xx': put the language's \"Plural-Forms: nplurals=N; "
            "plural=EXPRESSION;\" in the header");
}

TEST(CatalogTest, PropertiesKeepKeysEscapesAndLayout) {
  const std::string in =
      "# Comment\n"
      "greeting = Hello %S\\n\\tworld\n"
      "downloads=#1 file;#1 files\n"
      "save.label = Save As\n"
      "save.accesskey = A\n"
      "save.key = S\n"
      "long = first \\\n"
      "    second\n"
      "\n"
      "url: https://example.org\n";
  Upper up;
  CatalogStats st;
  CatalogOptions opt;
  std::string out = fill(in, CatalogFormat::kProperties, "ru", &st, &up);
  EXPECT_EQ(out,
            "# Comment\n"
            "greeting = HELLO %S\\n\\tWORLD\n"
            "downloads=#1 FILE;#1 FILES;#1 FILES\n"
            "save.label = SAVE AS\n"
            "save.accesskey = A\n"
            "save.key = S\n"
            "long = FIRST SECOND\n"
            "\n"
            "url: https://example.org\n");
  const auto msgs = parse_properties(out, "out");
  ASSERT_EQ(msgs.size(), 7u);
  EXPECT_EQ(msgs[0].text, "HELLO %S\n\tWORLD");
  EXPECT_EQ(st.entries, 7);
  EXPECT_EQ(st.translated, 4);
  EXPECT_EQ(st.kept, 2);
  EXPECT_EQ(st.copied, 1);
  // Java style (\u escapes, no raw UTF-8) stays Java style; a label without the old access key
  // gets its first letter.
  auto cyr = [](const std::vector<std::string>& v) {
    std::vector<std::string> out;
    for (const std::string& s : v) out.push_back(s == "Save As" ? "Сохранить как" : "Привет \\ é");
    return out;
  };
  opt.format = CatalogFormat::kProperties;
  opt.tgt_lang = "ru";
  out = translate_catalog("a = Hi \\u00e9\nsave.label = Save As\nsave.accesskey = A\n", "x", opt, cyr, &st);
  EXPECT_EQ(out, "a = \\u041F\\u0440\\u0438\\u0432\\u0435\\u0442 \\\\ \\u00E9\n"
                 "save.label = \\u0421\\u043E\\u0445\\u0440\\u0430\\u043D\\u0438\\u0442\\u044C "
                 "\\u043A\\u0430\\u043A\n"
                 "save.accesskey = \\u0421\n");
  EXPECT_EQ(parse_properties(out, "x")[0].text, "Привет \\ é");
}

const char* kFtl =
    "# This Source Code Form is subject to the terms of the MPL.\n"
    "\n"
    "-brand-short-name = Firefox\n"
    "\n"
    "## Downloads\n"
    "\n"
    "downloads-title = Downloads in { -brand-short-name }\n"
    "# $count (Number) - the number of files\n"
    "downloads-count =\n"
    "    { $count ->\n"
    "        [one] One file left\n"
    "       *[other] { $count } files left\n"
    "    }\n"
    "open-button =\n"
    "    .label = Open File\n"
    "    .accesskey = O\n"
    "    .style = width: 12em\n"
    "multi =\n"
    "    First line\n"
    "    second line with { $name }\n";

TEST(CatalogTest, FluentMessagesAttributesAndPluralVariants) {
  Upper up;
  CatalogStats st;
  const std::string out = fill(kFtl, CatalogFormat::kFtl, "ru", &st, &up);
  EXPECT_EQ(out,
            "# This Source Code Form is subject to the terms of the MPL.\n"
            "\n"
            "-brand-short-name = Firefox\n"
            "\n"
            "## Downloads\n"
            "\n"
            "downloads-title = DOWNLOADS IN { -brand-short-name }\n"
            "# $count (Number) - the number of files\n"
            "downloads-count = { $count ->\n"
            "        [one] ONE FILE LEFT\n"
            "        [few] { $count } FILES LEFT\n"
            "        [many] { $count } FILES LEFT\n"
            "       *[other] { $count } FILES LEFT\n"
            "    }\n"
            "open-button =\n"
            "    .label = OPEN FILE\n"
            "    .accesskey = O\n"
            "    .style = width: 12em\n"
            "multi = FIRST LINE\n"
            "    SECOND LINE WITH { $name }\n");
  EXPECT_EQ(st.flagged, 0);
  EXPECT_EQ(st.kept, 2);
  // Our parser reads what we wrote; ja has one variant.
  const FtlResource res = parse_ftl(out, "out.ftl");
  EXPECT_EQ(res.messages.size(), 6u);
  const std::string ja = fill(kFtl, CatalogFormat::kFtl, "ja", &st, &up);
  EXPECT_TRUE(test::contains(ja, "downloads-count = { $count ->\n       *[other] { $count } FILES LEFT\n    }\n"));
  // A second Fluent parser, as in Mozilla's tools (tests/data/ftl_check.js, @fluent/syntax).
#ifdef STRATA_NODE_MODULES
  const std::string nm = STRATA_NODE_MODULES;
#else
  const std::string nm = "build/npm/node_modules";
#endif
  if (!std::filesystem::exists(nm + "/@fluent/syntax")) {
    GTEST_SKIP() << "@fluent/syntax not installed in " << nm << " (scripts/bootstrap.sh installs it)";
  }
  const std::string path = write_temp("ru.ftl", out);
  EXPECT_EQ(run("NODE_PATH=" + nm + " node tests/data/ftl_check.js " + path), 0);
  EXPECT_NE(run("NODE_PATH=" + nm + " node tests/data/ftl_check.js " + write_temp("bad.ftl", "a = { $x\n")), 0);
}

TEST(CatalogTest, FluentSpecialCharactersInTranslationsAreEscaped) {
  auto braces = [](const std::vector<std::string>& v) {
    std::vector<std::string> out;
    for (size_t i = 0; i < v.size(); ++i) out.push_back("[x] {y} " + v[i]);
    return out;
  };
  CatalogOptions opt;
  opt.format = CatalogFormat::kFtl;
  opt.tgt_lang = "de";
  CatalogStats st;
  const std::string out = translate_catalog("a = Hello\n", "x", opt, braces, &st);
  // "{y}" looks like a placeable the source lacks: refused, the English kept.
  EXPECT_EQ(st.flagged, 1);
  EXPECT_TRUE(test::contains(out, "a = Hello\n"));
  auto bracket = [](const std::vector<std::string>& v) {
    std::vector<std::string> out;
    for (size_t i = 0; i < v.size(); ++i) out.push_back("[x] a } b");
    return out;
  };
  const std::string out2 = translate_catalog("a = Hello\n", "x", opt, bracket, &st);
  EXPECT_EQ(out2, "a = { \"[\" }x] a { \"}\" } b\n");
  EXPECT_EQ(parse_ftl(out2, "x").messages.at(0).text, "[x] a } b");
}

TEST(CatalogTest, AKeyStartingWithU_FEFFAfterTheByteOrderMarkKeepsItsFirstCharacter) {
  // Found by fuzzing (catalog): a byte-order mark, then a key whose first character is U+FEFF.
  // The writer drops the mark, so the key's U+FEFF came first and read back as the mark.
  const std::string bom = "\xEF\xBB\xBF";
  const std::string in = bom + bom + " = x\nb = y\n";
  CatalogOptions opt;
  opt.format = CatalogFormat::kProperties;
  opt.tgt_lang = "de";
  CatalogStats st;
  Upper up;
  const std::string out =
      translate_catalog(in, "x", opt, [&up](const std::vector<std::string>& v) { return up(v); }, &st);
  EXPECT_EQ(out, "\\uFEFF = X\nb = Y\n");
  const auto a = parse_properties(in, "in"), b = parse_properties(out, "out");
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(a[0].key, bom);
  EXPECT_EQ(b[0].key, bom);
}

TEST(CatalogTest, FluentPlaceablesSurviveATranslationThatMovesWordsAroundThem) {
  // Found by fuzzing: "www.{me }n" lost half of its placeable to an address span, and the reversed
  // translation wrote "{ \"}\" }n www.{me", which no Fluent parser reads.
  auto reverse_words = [](const std::vector<std::string>& in) {
    std::vector<std::string> out;
    for (const auto& l : in) {
      std::istringstream words(l);
      std::vector<std::string> w;
      for (std::string x; words >> x;) w.push_back(x);
      std::string t;
      for (size_t k = w.size(); k-- > 0;) t += (t.empty() ? "" : " ") + w[k];
      out.push_back(t);
    }
    return out;
  };
  CatalogOptions opt;
  opt.format = CatalogFormat::kFtl;
  opt.tgt_lang = "de";
  for (bool protect : {true, false}) {
    opt.protect = protect;
    CatalogStats st;
    const std::string src = "a = www.{me }n world\nb = x { \"}\" } y\n";
    const std::string out = translate_catalog(src, "x", opt, reverse_words, &st);
    EXPECT_EQ(parse_ftl(out, "out").messages.size(), 2u) << out;
    if (protect) {  // the placeables move whole
      EXPECT_TRUE(test::contains(out, "a = world www.{me }n\n")) << out;
      EXPECT_TRUE(test::contains(out, "b = y { \"}\" } x\n")) << out;
    }
  }
}

// Mutated catalogues: either a one-line error, or a file that the format's own parser reads back
// (the writer never makes what its reader rejects), with a translator that moves tokens and
// drops some.
TEST(CatalogTest, MutatedInputEitherErrorsOrWritesAFileThatReadsBack) {
  auto stand_in = [](const std::vector<std::string>& in) {
    std::vector<std::string> out;
    for (size_t i = 0; i < in.size(); ++i) {
      std::istringstream words(in[i]);
      std::vector<std::string> w;
      for (std::string x; words >> x;) w.push_back(x);
      std::string t;
      for (size_t k = w.size(); k-- > 0;) t += (t.empty() ? "" : " ") + w[k];
      if (i % 3 == 2 && t.find("%1") != std::string::npos) t.erase(t.find("%1"), 2);
      out.push_back(t);
    }
    return out;
  };
  const std::string props = "# c\ngreeting = Hello %S\\n\\tworld\ndownloads=#1 file;#1 files\n"
                            "save.label = Save As\nsave.accesskey = A\nlong = first \\\n    second\n";
  const std::vector<std::pair<CatalogFormat, std::string>> seeds = {
      {CatalogFormat::kPo, kPot}, {CatalogFormat::kFtl, kFtl}, {CatalogFormat::kProperties, props}};
  const std::string alphabet = "\"\\\n {}[]*.#$%-_&~<>=:;1smsgidtrx\xc3\xa9";
  std::mt19937 rng(7);
  int written = 0;
  for (int round = 0; round < 3000; ++round) {
    const auto& [format, seed] = seeds[static_cast<size_t>(round) % seeds.size()];
    std::string text = seed;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const size_t at = rng() % text.size();
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0: text[at] = c; break;
        case 1: text.insert(at, 1, c); break;
        default: text.erase(at, 1);
      }
    }
    CatalogOptions opt;
    opt.format = format;
    opt.tgt_lang = round % 2 ? "ru" : "ja";
    opt.protect = round % 5 != 0;
    CatalogStats st;
    std::string out;
    try {
      out = translate_catalog(text, "m", opt, stand_in, &st);
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
      continue;
    }
    ++written;
    try {
      if (format == CatalogFormat::kPo) parse_po(out, "out");
      if (format == CatalogFormat::kFtl) parse_ftl(out, "out");
      if (format == CatalogFormat::kProperties) parse_properties(out, "out");
    } catch (const Error& e) {
      ADD_FAILURE() << e.what() << "\ninput:\n" << text << "\noutput:\n" << out;
      return;
    }
  }
  EXPECT_GT(written, 300);
}

}  // namespace
}  // namespace strata::data
