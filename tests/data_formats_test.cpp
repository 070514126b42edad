// Tests for data/formats.h (parsers) and data/clean.h (cleaning rules of
// ../shared/docs/corpus.md, "Cleaning"). Expected values are written by hand; .mo catalogues are
// compiled by GNU msgfmt from .po text written here, an implementation independent of ours.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "data/clean.h"
#include "nmt/util/error.h"
#include "data/formats.h"

namespace strata::data {
namespace {

::testing::AssertionResult starts_with(const std::string& s, const std::string& prefix) {
  if (s.compare(0, prefix.size(), prefix) == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "\"" << s << "\" does not start with \"" << prefix << "\"";
}
::testing::AssertionResult contains(const std::string& s, const std::string& part) {
  if (s.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << s << "\" does not contain \"" << part << "\"";
}

// Runs f, expecting strata::Error; returns its message ("" and a failure when none is thrown).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected strata::Error";
  return "";
}

// Feeds random inputs built from `alphabet` to `parse`; only strata::Error may escape.
template <class F>
void fuzz(const std::string& alphabet, F&& parse, int rounds = 3000) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<int> length(0, 80);
  for (int r = 0; r < rounds; ++r) {
    std::string input;
    const int n = length(rng);
    for (int i = 0; i < n; ++i) input += alphabet[pick(rng)];
    try {
      parse(input);
    } catch (const Error&) {
      // bad input is reported, never crashes
    }
  }
}

std::vector<std::tuple<std::string, std::string, bool>> key_text_plural(
    const std::vector<Message>& messages) {
  std::vector<std::tuple<std::string, std::string, bool>> out;
  for (const Message& m : messages) out.emplace_back(m.key, m.text, m.plural);
  return out;
}

// ---------------------------------------------------------------------------------------------
// MoParserTest

class MoParserTest : public ::testing::Test {
 protected:
  // Compiles .po text with msgfmt (extra flags, e.g. "--endianness=big") and returns the bytes.
  std::string compile(const std::string& po, const std::string& flags = "") {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() /
                         ("strata_mo_test_" + std::to_string(getpid()) + "_" +
                          ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
                          std::to_string(counter_++));
    fs::create_directories(dir);
    dirs_.push_back(dir);
    {
      std::ofstream out(dir / "in.po", std::ios::binary);
      out << po;
    }
    const std::string cmd = "msgfmt " + flags + " -o '" + (dir / "out.mo").string() + "' '" +
                            (dir / "in.po").string() + "' 2>'" + (dir / "err.txt").string() + "'";
    const int rc = std::system(cmd.c_str());
    std::ifstream err(dir / "err.txt");
    const std::string err_text((std::istreambuf_iterator<char>(err)), {});
    EXPECT_EQ(rc, 0) << "msgfmt (package gettext) failed: " << err_text;
    std::ifstream in(dir / "out.mo", std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }
  void TearDown() override {
    std::error_code ec;
    for (const auto& d : dirs_) std::filesystem::remove_all(d, ec);
  }

  static std::vector<std::tuple<std::string, std::string, std::string, bool>> sorted(
      const std::vector<MoEntry>& entries) {
    std::vector<std::tuple<std::string, std::string, std::string, bool>> out;
    for (const MoEntry& e : entries) out.emplace_back(e.context, e.msgid, e.msgstr, e.plural);
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::vector<std::filesystem::path> dirs_;
  int counter_ = 0;
};

const char kRussianPo[] = R"src(# Test catalogue.
msgid ""
msgstr ""
"Project-Id-Version: test\n"
"MIME-Version: 1.0\n"
"Content-Type: text/plain; charset=UTF-8\n"
"Content-Transfer-Encoding: 8bit\n"
"Plural-Forms: nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
"(n%100<10 || n%100>=20) ? 1 : 2);\n"

msgid "Open"
msgstr "Открыть"

msgctxt "menu|file"
msgid "Open"
msgstr "Открыть файл"

msgid "%d file"
msgid_plural "%d files"
msgstr[0] "%d файл"
msgstr[1] "%d файла"
msgstr[2] "%d файлов"

msgid "Save ~As…"
msgstr "名前を付けて保存(~A)…"

#, fuzzy
msgid "Close"
msgstr "Закрыть"

msgid "Untranslated"
msgstr ""

msgid "Multi\nline \"quoted\""
msgstr "Много\n"
"строк «в кавычках»"
)src";

using MoRows = std::vector<std::tuple<std::string, std::string, std::string, bool>>;
const MoRows kRussianRows = {
    {"", "%d file", "%d файл", true},
    {"", "Multi\nline \"quoted\"", "Много\nстрок «в кавычках»", false},
    {"", "Open", "Открыть", false},
    {"", "Save ~As…", "名前を付けて保存(~A)…", false},
    {"menu|file", "Open", "Открыть файл", false},
};

TEST_F(MoParserTest, ReadsContextPluralAndUtf8AndSkipsHeaderFuzzyUntranslated) {
  const std::string mo = compile(kRussianPo);
  ASSERT_FALSE(mo.empty());
  EXPECT_EQ(sorted(parse_mo(mo, "ru.mo")), kRussianRows);
}

TEST_F(MoParserTest, ReadsBigEndianCatalogue) {
  const std::string mo = compile(kRussianPo, "--endianness=big");
  ASSERT_GE(mo.size(), 4u);
  EXPECT_EQ(static_cast<unsigned char>(mo[0]), 0x95);  // big-endian magic 0x950412de
  EXPECT_EQ(sorted(parse_mo(mo, "ru.mo")), kRussianRows);
}

TEST_F(MoParserTest, ConvertsLegacyCharsetToUtf8) {
  const std::string po =
      "msgid \"\"\nmsgstr \"\"\n\"Content-Type: text/plain; charset=ISO-8859-1\\n\"\n\n"
      "msgid \"Window\"\nmsgstr \"Fen\xEAtre\"\n";
  const std::string mo = compile(po);
  ASSERT_NE(mo.find("Fen\xEAtre"), std::string::npos);  // msgfmt keeps Latin-1 bytes
  EXPECT_EQ(sorted(parse_mo(mo, "fr.mo")), (MoRows{{"", "Window", "Fenêtre", false}}));
}

TEST_F(MoParserTest, EmptyCatalogueHasNoEntries) {
  const std::string mo =
      compile("msgid \"\"\nmsgstr \"Content-Type: text/plain; charset=UTF-8\\n\"\n");
  EXPECT_TRUE(parse_mo(mo, "empty.mo").empty());
}

TEST_F(MoParserTest, TruncatedFileThrowsNamingFile) {
  const std::string mo = compile(kRussianPo);
  ASSERT_GT(mo.size(), 100u);
  const std::string msg = error_of([&] { parse_mo(mo.substr(0, mo.size() - 20), "ru.mo"); });
  EXPECT_TRUE(starts_with(msg, "ru.mo: truncated .mo file ("));
  EXPECT_TRUE(contains(msg, "past end of " + std::to_string(mo.size() - 20) + "-byte file)"));
}

TEST_F(MoParserTest, EveryPrefixThrowsErrorOrParses) {
  const std::string mo = compile(kRussianPo);
  for (size_t n = 0; n < mo.size(); ++n) {
    try {
      parse_mo(mo.substr(0, n), "cut.mo");
    } catch (const Error&) {
      continue;
    }
    // Only the final terminating NUL may be cut without losing a string.
    EXPECT_EQ(n, mo.size() - 1) << "a " << n << "-byte prefix parsed";
  }
}

// Little-endian .mo header: magic, revision, count, originals offset, translations offset.
std::string mo_header(uint32_t magic, uint32_t revision, uint32_t count, uint32_t originals,
                      uint32_t translations) {
  std::string out;
  for (uint32_t v : {magic, revision, count, originals, translations, 0u, 0u}) {
    for (int b = 0; b < 4; ++b) out += static_cast<char>((v >> (8 * b)) & 0xFF);
  }
  return out;
}
void put32(std::string& s, uint32_t v) {
  for (int b = 0; b < 4; ++b) s += static_cast<char>((v >> (8 * b)) & 0xFF);
}

TEST_F(MoParserTest, BadMagicNumber) {
  std::string bytes = mo_header(0x12345678, 0, 0, 28, 28);
  EXPECT_EQ(error_of([&] { parse_mo(bytes, "x.mo"); }),
            "x.mo: not a .mo file (bad magic number 0x12345678)");
  EXPECT_EQ(error_of([&] { parse_mo("<html>not a catalogue at all</html>", "x.mo"); }),
            "x.mo: not a .mo file (bad magic number 0x6d74683c)")
      << "the magic is read little-endian";
}

TEST_F(MoParserTest, FileShorterThanHeader) {
  EXPECT_EQ(error_of([] { parse_mo("\xde\x12\x04\x95", "x.mo"); }),
            "x.mo: truncated .mo file (4-byte file is shorter than the 28-byte header)");
  EXPECT_EQ(error_of([] { parse_mo("", "x.mo"); }),
            "x.mo: truncated .mo file (0-byte file is shorter than the 28-byte header)");
}

TEST_F(MoParserTest, StringTablePastEnd) {
  std::string bytes = mo_header(0x950412de, 0, 1, 1234, 28);
  bytes.resize(900, '\0');
  EXPECT_EQ(error_of([&] { parse_mo(bytes, "x.mo"); }),
            "x.mo: truncated .mo file (string table at offset 1234 past end of 900-byte file)");
}

TEST_F(MoParserTest, HugeCountIsRejectedBeforeReading) {
  const std::string bytes = mo_header(0x950412de, 0, 0xFFFFFFFF, 28, 28);
  EXPECT_EQ(error_of([&] { parse_mo(bytes, "x.mo"); }),
            "x.mo: truncated .mo file (string table at offset 28 (4294967295 entries of 8 bytes) "
            "past end of 28-byte file)");
}

TEST_F(MoParserTest, StringPastEnd) {
  std::string bytes = mo_header(0x950412de, 0, 1, 28, 36);
  put32(bytes, 5);    // original: length 5
  put32(bytes, 44);   //           at offset 44
  put32(bytes, 100);  // translation: length 100
  put32(bytes, 50);   //              at offset 50
  bytes += "Hello";
  bytes.resize(60, '\0');
  EXPECT_EQ(error_of([&] { parse_mo(bytes, "x.mo"); }),
            "x.mo: truncated .mo file (translation 0 at offset 50 with length 100 past end of "
            "60-byte file)");
}

TEST_F(MoParserTest, HandBuiltCatalogueParses) {
  std::string bytes = mo_header(0x950412de, 0, 1, 28, 36);
  put32(bytes, 9);  // "ctx\x04Hello"
  put32(bytes, 44);
  put32(bytes, 5);  // "Hallo"
  put32(bytes, 54);
  bytes += std::string("ctx\x04Hello", 9) + '\0' + "Hallo" + '\0';
  ASSERT_EQ(bytes.size(), 60u);
  const std::vector<MoEntry> entries = parse_mo(bytes, "x.mo");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].context, "ctx");
  EXPECT_EQ(entries[0].msgid, "Hello");
  EXPECT_EQ(entries[0].msgstr, "Hallo");
  EXPECT_FALSE(entries[0].plural);
}

TEST_F(MoParserTest, UnsupportedRevision) {
  const std::string bytes = mo_header(0x950412de, 0x00020000, 0, 28, 28);
  EXPECT_EQ(error_of([&] { parse_mo(bytes, "x.mo"); }),
            "x.mo: unsupported .mo format revision 2.0");
}

TEST_F(MoParserTest, GarbageNeverCrashes) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255), small(0, 64);
  for (int r = 0; r < 5000; ++r) {
    std::string bytes =
        mo_header(r % 2 ? 0x950412de : 0xde120495, 0, small(rng), small(rng), small(rng));
    const int n = small(rng) * 2;
    for (int i = 0; i < n; ++i) bytes += static_cast<char>(byte(rng));
    try {
      parse_mo(bytes, "fuzz.mo");
    } catch (const Error&) {
    }
  }
}

// ---------------------------------------------------------------------------------------------
// FtlParserTest

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

// ---------------------------------------------------------------------------------------------
// PropertiesParserTest

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

// ---------------------------------------------------------------------------------------------
// DtdParserTest

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

// ---------------------------------------------------------------------------------------------
// HelpHtmlTest

// Abridged from LibreOffice's en-US help (text/swriter/guide/anchor_object.html and others).
const char kHelpHtml[] = R"src(<!DOCTYPE html>
<html lang="en-US" dir="ltr">
<head>
<title>Positioning Objects</title>
<script type="text/javascript">var s = '<p id="par_id999">not a paragraph</p>';</script>
</head>
<body>
<!-- <p id="par_id998">commented out</p> -->
<a name="bm_id3147828"></a>
<h1 id="hd_id3147828" dir="auto">
<a name="anchor_object"></a>Positioning Objects</h1>
<p id="par_id181634295881266" class="paragraph" dir="auto">)src"
    R"src(An object, such as an image or frame, is positioned within a document using an anchor.</p>
<p dir="auto">No id here</p>
<table border="1" class="" cellpadding="0" cellspacing="0">
  <tr>
    <td rowspan="" colspan="" dir="auto">
      <p id="par_id3145650" class="tablecontentintable" dir="auto">As character</p>
    </td>
  </tr>
</table>
<p id="par_id3145758" dir="auto">To move the heading, hold down )src"
    R"src(<span id="swlnsys_2" class="switchinline"><span hidden="true" id="MACtext_2" )src"
    R"src(class="MAC">Command</span><span hidden="true" id="defaulttext_2">Ctrl</span></span>)src"
    R"src( while you drag the <span class="emph">Promote Chapter</span> icon <img )src"
    R"src(src="media/sc20174.svg" class="iconimage" alt="Icon promote" )src"
    R"src(style="width:22px;height:22px">.</p>
<div class="notetext"><p id="par_id261527693436801" dir="auto">)src"
    R"src(Some options cannot be reset once edited.</p></div>
<div class="notetext"><p id="par_id261527693436801" dir="auto">)src"
    R"src(Some options cannot be reset once edited.</p></div>
<h id="par_idN10571" dir="auto"><span class="emph">Entrance:</span> )src"
    R"src(Select an entrance effect &amp; more.</h>
<p id="par_id3"/>
</body>
</html>
)src";

TEST(HelpHtmlTest, ExtractsParagraphsAndHeadings) {
  const std::vector<Message> m = parse_help_html(kHelpHtml, "anchor_object.html");
  std::vector<std::string> keys;
  for (const Message& msg : m) keys.push_back(msg.key);
  EXPECT_EQ(keys,
            (std::vector<std::string>{"hd_id3147828", "par_id181634295881266", "par_id3145650",
                                      "par_id3145758", "par_id261527693436801",
                                      "par_id261527693436801#2", "par_idN10571", "par_id3"}));
  ASSERT_EQ(m.size(), 8u);
  EXPECT_EQ(m[0].text, "\n<a name=\"anchor_object\"></a>Positioning Objects");
  EXPECT_EQ(m[2].text, "As character");
  EXPECT_EQ(m[6].text,
            "<span class=\"emph\">Entrance:</span> Select an entrance effect &amp; more.");
  EXPECT_EQ(m[7].text, "");
  for (const Message& msg : m) EXPECT_FALSE(msg.plural);
}

TEST(HelpHtmlTest, KeepsOnlyDefaultCaseOfSwitch) {
  const std::vector<Message> m = parse_help_html(kHelpHtml, "x.html");
  ASSERT_GE(m.size(), 4u);
  EXPECT_EQ(m[3].text,
            "To move the heading, hold down <span id=\"swlnsys_2\" class=\"switchinline\"><span "
            "hidden=\"true\" id=\"defaulttext_2\">Ctrl</span></span> while you drag the <span "
            "class=\"emph\">Promote Chapter</span> icon <img src=\"media/sc20174.svg\" "
            "class=\"iconimage\" alt=\"Icon promote\" style=\"width:22px;height:22px\">.");
  EXPECT_EQ(clean(m[3].text, Accel::kNone),
            "To move the heading, hold down Ctrl while you drag the Promote Chapter icon.");
  EXPECT_EQ(clean(m[0].text, Accel::kNone), "Positioning Objects");
  EXPECT_EQ(clean(m[6].text, Accel::kNone), "Entrance: Select an entrance effect & more.");
}

TEST(HelpHtmlTest, MatchesNestedElementsOfSameName) {
  const std::vector<Message> m = parse_help_html(
      "<div id=\"par_id1\">outer <div class=\"x\">inner <div>deep</div><br/></div> tail</div>"
      "<DIV id='hd_id2'>upper<div/></DIV>",
      "x.html");
  using Rows = std::vector<std::tuple<std::string, std::string, bool>>;
  EXPECT_EQ(
      key_text_plural(m),
      (Rows{{"par_id1", "outer <div class=\"x\">inner <div>deep</div><br/></div> tail", false},
            {"hd_id2", "upper<div/>", false}}));
}

TEST(HelpHtmlTest, FindsIdsNestedInsideIds) {
  const std::vector<Message> m =
      parse_help_html("<div id=\"par_id1\">a <p id=\"par_id2\">b</p></div>", "x.html");
  using Rows = std::vector<std::tuple<std::string, std::string, bool>>;
  EXPECT_EQ(key_text_plural(m),
            (Rows{{"par_id1", "a <p id=\"par_id2\">b</p>", false}, {"par_id2", "b", false}}));
}

TEST(HelpHtmlTest, UnclosedParagraphNamesLine) {
  EXPECT_EQ(error_of([] {
              parse_help_html("<html>\n<p id=\"par_id1\">text\n<p id=\"par_id2\">more</p>",
                              "x.html");
            }),
            "x.html:2: <p id=\"par_id1\"> is never closed");
}

TEST(HelpHtmlTest, GarbageNeverCrashes) {
  fuzz("<p id=\"par_id1\" hidden class>/ -!x",
       [](const std::string& s) { parse_help_html(s, "fuzz.html"); });
}

// ---------------------------------------------------------------------------------------------
// CleanTest: one hand case per rule of corpus.md "Cleaning"

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
