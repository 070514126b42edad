// Fuzz target: checkpoints (.pt: a zip of the TorchScript-serialized module, the resolved config,
// the languages and the SentencePiece model), nmt::load_checkpoint and the tokenizer it carries
// (nmt::checkpoint_tokenizer). The loader takes a path, so the input goes through a temporary
// file. Only strata::Error may leave the loader: a c10::Error (LibTorch's multi-line messages)
// escaping is a finding too (issue 19, class 7).
#include <torch/torch.h>

#include <cstddef>
#include <cstdint>

#include "nmt/model/checkpoint.h"
#include "nmt/util/error.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);  // one core per fuzzer (the machine is shared)
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const strata::fuzz::TempFile pt(strata::fuzz::as_view(data, size), "checkpoint", ".pt");
  try {
    const strata::nmt::Checkpoint ckpt = strata::nmt::load_checkpoint(pt.path());
    strata::nmt::checkpoint_tokenizer(ckpt);
  } catch (const strata::Error&) {
  }
  return 0;
}
