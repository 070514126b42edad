// Tests of data/gettext_mo.h. Expected values are written by hand; .mo catalogues are compiled by
// GNU msgfmt from .po text written here, an implementation independent of ours.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "data/gettext_mo.h"
#include "nmt/util/error.h"
#include "tests/data/parser_test_util.h"

namespace strata::data {
namespace {

using namespace strata::test;  // parser_test_util.h

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

}  // namespace
}  // namespace strata::data
