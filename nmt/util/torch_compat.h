#pragma once
// The one place where LibTorch version differences (Debian's 1.13 CPU build vs 2.x CUDA builds)
// are guarded. Code includes this instead of testing TORCH_VERSION_* itself.
#include <torch/torch.h>
#include <torch/version.h>

#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

#define STRATA_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace strata::compat {

// c10::Error::what_without_backtrace() exists in both; the message format of what() differs.
template <class E>
const char* error_message(const E& e) {
  return e.what_without_backtrace();
}

// The key of a parameter in an optimizer's state(): its TensorImpl's address printed to a string in
// 1.13 (what c10::guts::to_string gave), the TensorImpl pointer itself in 2.x.
using OptimizerStateKey =
    std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>::key_type;
template <class Key = OptimizerStateKey>
Key optimizer_state_key(const torch::Tensor& p) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream os;
    os << p.unsafeGetTensorImpl();
    return os.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

// Torch version as "major.minor.patch".
inline const char* torch_version() { return TORCH_VERSION; }

}  // namespace strata::compat
