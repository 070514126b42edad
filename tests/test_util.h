#pragma once
// Helpers shared by the test files: temp folders, files, running commands.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace strata::test {

// A fresh temporary folder, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("strata_test_" + std::to_string(rd()) + "_" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }
  std::string operator/(const std::string& rel) const { return (path_ / rel).string(); }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

struct RunResult {
  int status = -1;
  std::string out, err;
};

// Runs a shell command, capturing stdout and stderr.
inline RunResult run_command(const std::string& cmd, const std::string& tmp) {
  RunResult r;
  std::string o = tmp + "/.stdout", e = tmp + "/.stderr";
  int rc = std::system((cmd + " >" + o + " 2>" + e).c_str());
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
  r.out = read_file(o);
  r.err = read_file(e);
  return r;
}

// A failed command: non-zero exit, and stderr ends with exactly one error line
// "strata: error: ..." containing `needle` (progress lines may come before it), no backtrace.
inline void expect_one_line_error(const RunResult& r, const std::string& needle) {
  EXPECT_NE(r.status, 0);
  std::string err = r.err;
  ASSERT_FALSE(err.empty());
  ASSERT_EQ(err.back(), '\n') << err;
  size_t start = err.rfind('\n', err.size() - 2);
  std::string last = err.substr(start == std::string::npos ? 0 : start + 1);
  EXPECT_EQ(last.rfind("strata: error: ", 0), 0u) << err;
  EXPECT_NE(last.find(needle), std::string::npos) << err;
  EXPECT_EQ(err.find("strata: error: "), err.rfind("strata: error: ")) << err;
  EXPECT_EQ(err.find("Exception raised from"), std::string::npos) << err;
}

// Compiles a .po text into a .mo file with msgfmt (an independent reference implementation).
inline void msgfmt(const std::string& po_text, const std::string& mo_path, const std::string& tmp) {
  std::string po = tmp + "/.msgfmt_in.po";
  write_file(po, po_text);
  std::filesystem::create_directories(std::filesystem::path(mo_path).parent_path());
  ASSERT_EQ(std::system(("msgfmt -o '" + mo_path + "' '" + po + "'").c_str()), 0) << po_text;
}

// Builds a .deb from a folder tree with dpkg-deb (the reference .deb writer).
inline void build_deb(const std::string& root, const std::string& pkg, const std::string& deb,
                      const std::string& version = "1.0") {
  std::filesystem::create_directories(std::filesystem::path(deb).parent_path());
  write_file(root + "/DEBIAN/control", "Package: " + pkg + "\nVersion: " + version +
                                           "\nArchitecture: all\nMaintainer: t <t@t>\n"
                                           "Description: test\n multi-line\n");
  ASSERT_EQ(std::system(("dpkg-deb -Zxz --build '" + root + "' '" + deb + "' >/dev/null").c_str()), 0);
}

}  // namespace strata::test
