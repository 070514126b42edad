#pragma once
// Error type for bad input: the message is one line naming the file, line or field.
#include <stdexcept>
#include <string>

namespace strata {

// Thrown for user-facing input errors (bad file, bad config, bad argument). The CLI prints
// what() on one line and exits non-zero. Invariant violations use assertions instead.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Thrown when a long command stopped early on SIGINT/SIGTERM after saving its work: the CLI prints
// what() and exits with 128 + signal, as a process killed by it would.
class Interrupted : public Error {
 public:
  Interrupted(const std::string& what, int signal) : Error(what), signal_(signal) {}
  int signal() const { return signal_; }

 private:
  int signal_;
};

}  // namespace strata
