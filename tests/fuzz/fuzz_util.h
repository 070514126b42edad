#pragma once
// Helpers of the fuzz targets (tests/fuzz/): a temporary file for readers that take a path, and
// the input as lines the way std::getline reads a file.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace strata::fuzz {

// The input written to <temp dir>/strata_fuzz_<pid>_<tag><ext>; removed when this goes away.
// One per target and process: libFuzzer runs one input at a time (-jobs=1 per process).
class TempFile {
 public:
  TempFile(std::string_view bytes, const std::string& tag, const std::string& ext) {
    path_ = (std::filesystem::temp_directory_path() /
             ("strata_fuzz_" + std::to_string(getpid()) + "_" + tag + ext))
                .string();
    std::FILE* f = std::fopen(path_.c_str(), "wb");
    if (!f) std::abort();  // the harness itself is broken, not the reader
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size())
      std::abort();
    if (std::fclose(f) != 0) std::abort();
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The lines of `text` as `for (std::getline(in, l);)` returns them (a last line without '\n'
// counts; no trailing empty line), each with one trailing '\r' removed.
inline std::vector<std::string> getline_lines(std::string_view text) {
  std::vector<std::string> lines;
  size_t b = 0;
  while (b < text.size()) {
    size_t e = text.find('\n', b);
    if (e == std::string_view::npos) e = text.size();
    std::string l(text.substr(b, e - b));
    if (!l.empty() && l.back() == '\r') l.pop_back();
    lines.push_back(std::move(l));
    b = e + 1;
  }
  return lines;
}

// A config target's input: YAML, then optionally a line "#--set" and one `--set` override per line.
struct ConfigInput {
  std::string_view yaml;
  std::vector<std::string> overrides;
};
inline ConfigInput split_config_input(std::string_view text) {
  ConfigInput in{text, {}};
  const size_t cut = text.find("\n#--set\n");
  if (cut != std::string_view::npos) {
    in.overrides = getline_lines(text.substr(cut + 8));
    in.yaml = text.substr(0, cut + 1);
  }
  return in;
}

inline std::string_view as_view(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

}  // namespace strata::fuzz
