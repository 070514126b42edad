#pragma once
// Writes that cannot fail silently. Every output file is written to `path.tmp` with each write
// checked, flushed to disk (fsync), renamed over `path` and the directory synced, so a reader sees
// the old file or the complete new one, never a torn one; any failure (a full disk, a read-only
// or missing directory) is a strata::Error naming the file and the reason, and the temp file is
// removed. Standard output is checked the same way at the end of a command.
#include <cstddef>
#include <string>
#include <string_view>

namespace strata {

class AtomicFile {
 public:
  // Creates `path`.tmp (truncating a stale one). Throws strata::Error when it cannot.
  explicit AtomicFile(std::string path);
  ~AtomicFile();  // removes the temp file unless commit() succeeded
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Appends bytes. Never throws: the first failure is kept and reported by commit() (so that it
  // can be called from writers that must not throw, like LibTorch's zip writer callback).
  void write(const void* data, size_t n);
  void write(std::string_view s) { write(s.data(), s.size()); }
  bool failed() const { return errno_ != 0; }

  // fsync + rename over the final path + directory fsync. Throws strata::Error on any failure,
  // including an earlier write's.
  void commit();

  const std::string& path() const { return path_; }

 private:
  [[noreturn]] void fail(const char* what, int err);
  std::string path_, tmp_;
  int fd_ = -1;
  int errno_ = 0;
  bool committed_ = false;
};

// The whole file in one go.
void write_file_atomically(const std::string& path, std::string_view bytes);

// Flushes stdout and throws strata::Error ("cannot write the output (stdout): No space left on
// device") when any write to it failed: a full disk or a closed descriptor must not exit 0.
void check_stdout();

}  // namespace strata
