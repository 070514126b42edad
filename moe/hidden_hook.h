#pragma once
// A per-thread hook on the hidden activations of FFNs and experts (after the ReLU, before the
// output product), for analyses that perturb them (nmt/analysis/modularity: the permute-and-scale
// perturbation of Zhang et al. 2023). Dense FFNs call it with expert -1, Experts modules with the
// expert's index and its rows' activations [rows, ffn]. Without a hook nothing changes.
//
//   struct Scale : moe::HiddenHook {
//     torch::Tensor hidden(const void* ffn, int64_t expert, const torch::Tensor& h) override { return 2 * h; }
//   } hook;
//   moe::HiddenHookGuard guard(&hook);   // this thread, for the guard's lifetime
#include <torch/torch.h>

namespace strata::moe {

struct HiddenHook {
  virtual ~HiddenHook() = default;
  // ffn: the module (FeedForwardImpl or ExpertsImpl) as an identity; h [..., ffn]. Returns the
  // activations to use instead (h itself to leave them).
  virtual torch::Tensor hidden(const void* ffn, int64_t expert, const torch::Tensor& h) = 0;
};

// The hook set on this thread, or null.
HiddenHook* hidden_hook();

// Sets `hook` on this thread for the guard's lifetime (the previous one is restored after).
class HiddenHookGuard {
 public:
  explicit HiddenHookGuard(HiddenHook* hook);
  ~HiddenHookGuard();
  HiddenHookGuard(const HiddenHookGuard&) = delete;
  HiddenHookGuard& operator=(const HiddenHookGuard&) = delete;

 private:
  HiddenHook* previous_;
};

// h with the hook applied (h itself when none is set).
inline torch::Tensor hook_hidden(const void* ffn, int64_t expert, torch::Tensor h) {
  HiddenHook* k = hidden_hook();
  return k ? k->hidden(ffn, expert, h) : h;
}

}  // namespace strata::moe
