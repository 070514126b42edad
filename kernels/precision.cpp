#include "kernels/precision.h"

#include <ATen/Context.h>

namespace strata::kernels {

namespace {
thread_local Precision current = Precision::kFp32;

bool cpu_has_bf16_dot() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}
}  // namespace

const EnumNames<Precision>& names_of(Precision) {
  static const EnumNames<Precision> n = {
      {"auto", Precision::kAuto}, {"fp32", Precision::kFp32}, {"bf16", Precision::kBf16}};
  return n;
}

bool bf16_is_fast() {
  static const bool fast =
      at::hasMKLDNN() && at::globalContext().userEnabledMkldnn() && cpu_has_bf16_dot();
  return fast;
}

Precision resolve_precision(Precision p) {
  if (p != Precision::kAuto) return p;
  return bf16_is_fast() ? Precision::kBf16 : Precision::kFp32;
}

Precision compute_precision() { return current; }

PrecisionGuard::PrecisionGuard(Precision p) : saved_(current) { current = resolve_precision(p); }
PrecisionGuard::~PrecisionGuard() { current = saved_; }

}  // namespace strata::kernels
