#pragma once
// The one place where LibTorch version differences (Debian's 1.13 CPU build vs 2.x CUDA builds)
// are guarded. Code includes this instead of testing TORCH_VERSION_* itself.
#include <torch/version.h>

#define STRATA_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace strata::compat {

// c10::Error::what_without_backtrace() exists in both; the message format of what() differs.
template <class E>
const char* error_message(const E& e) {
  return e.what_without_backtrace();
}

// Torch version as "major.minor.patch".
inline const char* torch_version() { return TORCH_VERSION; }

}  // namespace strata::compat
