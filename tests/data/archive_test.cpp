// Tests of data/archive.h: .deb members and control fields, zip from memory, errors naming
// the file.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>

#include "data/archive.h"
#include "nmt/util/error.h"
#include "tests/test_util.h"

using namespace strata;
using namespace strata::data;
using strata::test::TempDir;

TEST(ArchiveTest, StreamsMembersOfARealDeb) {
  TempDir d;
  test::write_file(d / "root/usr/share/doc/x/a.txt", "hello");
  test::write_file(d / "root/usr/share/doc/x/b.txt", std::string(200000, 'z'));
  test::build_deb(d / "root", "x", d / "x.deb");
  std::map<std::string, std::string> got;
  for_each_deb_member(
      d / "x.deb", [](const std::string& p) { return p.find(".txt") != std::string::npos; },
      [&](const std::string& p, std::string&& b) { got[p] = b; });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got["usr/share/doc/x/a.txt"], "hello");
  EXPECT_EQ(got["usr/share/doc/x/b.txt"].size(), 200000u);
}

TEST(ArchiveTest, ControlFieldsAsDpkgDebWroteThem) {
  TempDir d;
  test::write_file(d / "root/usr/share/doc/x/a.txt", "hello");
  test::build_deb(d / "root", "x-l10n", d / "x.deb", "1:7.4.7-1+deb12u9~b1");
  EXPECT_EQ(deb_control_field(d / "x.deb", "Version"), "1:7.4.7-1+deb12u9~b1");
  EXPECT_EQ(deb_control_field(d / "x.deb", "Package"), "x-l10n");
  EXPECT_EQ(deb_control_field(d / "x.deb", "Description"), "test");  // first line only
  try {
    deb_control_field(d / "x.deb", "Homepage");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("x.deb"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Homepage"), std::string::npos) << e.what();
  }
}

TEST(ArchiveTest, CorruptOrMissingDebIsAnErrorNamingTheFile) {
  TempDir d;
  test::write_file(d / "bad.deb", "this is not an ar archive at all");
  auto none = [](const std::string&) { return true; };
  auto sink = [](const std::string&, std::string&&) {};
  try {
    for_each_deb_member(d / "bad.deb", none, sink);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.deb"), std::string::npos) << e.what();
  }
  EXPECT_THROW(for_each_deb_member(d / "missing.deb", none, sink), Error);
  // A truncated .deb: cut a real one in half.
  test::write_file(d / "root/usr/share/x/big.bin", std::string(300000, 'q') + "end");
  test::build_deb(d / "root", "x", d / "x.deb");
  std::string bytes = test::read_file(d / "x.deb");
  test::write_file(d / "cut.deb", bytes.substr(0, bytes.size() / 2));
  EXPECT_THROW(for_each_deb_member(d / "cut.deb", none, sink), Error);
}

TEST(ArchiveTest, ReadsZipFromMemory) {
  TempDir d;
  // Python's zipfile is the reference zip writer (stored and deflated members).
  std::string py = "import zipfile; z=zipfile.ZipFile('" + (d / "a.zip") +
                   "','w'); z.writestr('localization/de/a.ftl','x = Hallo\\n', "
                   "compress_type=zipfile.ZIP_DEFLATED); z.writestr('b.properties','k=v'); z.close()";
  ASSERT_EQ(std::system(("python3 -c \"" + py + "\"").c_str()), 0);
  std::map<std::string, std::string> got;
  for_each_zip_member(test::read_file(d / "a.zip"), "a.zip",
                      [](const std::string&) { return true; },
                      [&](const std::string& p, std::string&& b) { got[p] = b; });
  EXPECT_EQ(got["localization/de/a.ftl"], "x = Hallo\n");
  EXPECT_EQ(got["b.properties"], "k=v");
}

// Found by fuzzing (tests/fuzz/regressions/zip/null-error-string.zip): a zip whose first local
// header names an unknown compression method fails in libarchive with no error message (a null
// char*), which used to reach std::string and crash.
TEST(ArchiveTest, ZipErrorWithoutLibarchiveMessageIsAnError) {
  const std::string header("PK\x03\x04n\0\x02\0\0\x01\0\0\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 30);
  try {
    for_each_zip_member(header, "bad.zip", [](const std::string&) { return true; },
                        [](const std::string&, std::string&&) {});
    FAIL() << "expected strata::Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("bad.zip: corrupt archive (", 0), 0u) << e.what();
  }
}
