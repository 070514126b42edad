#pragma once
// The compute precision of matrix products, per thread. Training sets it around the forward pass
// (PrecisionGuard); the ops in kernels/ read it. Parameters, optimizer state, norms, softmax and
// losses stay fp32 whatever the precision: only the products' operands are rounded.
//
//   kernels::PrecisionGuard guard(kernels::Precision::kBf16);
//   auto y = kernels::linear(x, w, b);   // bf16 operands through oneDNN, fp32 result
#include <string>

#include "nmt/util/enum_names.h"

namespace strata::kernels {

enum class Precision {
  kAuto,  // config value only: the fastest this CPU supports (resolve_precision)
  kFp32,  // fp32 products (OpenBLAS SGEMM on CPU)
  kBf16,  // bf16 operands, fp32 accumulation (oneDNN on CPU), fp32 master weights
};
const EnumNames<Precision>& names_of(Precision);

// True when bf16 products are fast here: the CPU has native bf16 dot products (AVX512_BF16 or
// AMX-BF16) and LibTorch's oneDNN path is on (at::globalContext().userEnabledMkldnn()).
bool bf16_is_fast();

// kAuto -> kBf16 where bf16_is_fast(), else kFp32; others unchanged.
Precision resolve_precision(Precision p);

// The calling thread's precision (kFp32 unless a guard says otherwise).
Precision compute_precision();

// Sets the calling thread's precision for its lifetime (kAuto is resolved), restores on exit.
class PrecisionGuard {
 public:
  explicit PrecisionGuard(Precision p);
  ~PrecisionGuard();
  PrecisionGuard(const PrecisionGuard&) = delete;
  PrecisionGuard& operator=(const PrecisionGuard&) = delete;

 private:
  Precision saved_;
};

}  // namespace strata::kernels
