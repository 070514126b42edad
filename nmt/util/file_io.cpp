#include "nmt/util/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "nmt/util/error.h"

namespace strata {

namespace {
std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}
}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)), tmp_(path_ + ".tmp") {
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    const int err = errno;
    throw Error(path_ + ": cannot write (" + std::strerror(err) + ")");
  }
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(tmp_.c_str());
}

void AtomicFile::write(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0 && errno_ == 0) {
    ssize_t k = ::write(fd_, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      errno_ = k < 0 ? errno : EIO;
      break;
    }
    p += k;
    n -= static_cast<size_t>(k);
  }
}

void AtomicFile::fail(const char* what, int err) {
  ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_.c_str());
  throw Error(path_ + ": " + what + " (" + std::strerror(err) + ")");
}

void AtomicFile::commit() {
  if (errno_ != 0) fail("cannot write", errno_);
  // Fault injection for the tests (docs/RELIABILITY.md): STRATA_FAULT_SLOW_SAVE_MS=N holds every
  // finished temp file N ms before it is renamed into place, so that a test can signal a process
  // in the middle of a save.
  if (const char* ms = std::getenv("STRATA_FAULT_SLOW_SAVE_MS"))
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(ms)));
  if (::fsync(fd_) != 0) fail("cannot write", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp_.c_str());
    throw Error(path_ + ": cannot write (" + std::strerror(err) + ")");
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_.c_str());
    throw Error(path_ + ": cannot replace the file (" + std::strerror(err) + ")");
  }
  committed_ = true;
  // The rename itself reaches the disk with the directory.
  int dir = ::open(dir_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  AtomicFile f(path);
  f.write(bytes);
  f.commit();
}

void check_stdout() {
  errno = 0;
  const bool flushed = std::fflush(stdout) == 0;
  const int err = errno;
  if (flushed && !std::ferror(stdout)) return;
  throw Error(std::string("cannot write the output (stdout): ") +
              (err ? std::strerror(err) : "write error"));
}

}  // namespace strata
