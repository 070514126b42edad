#include "kernels/precision.h"

#include <ATen/Context.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif

namespace strata::kernels {

namespace {
thread_local Precision current = Precision::kFp32;
thread_local ComputeType current_type = ComputeType::kFloat32;

bool cpu_has_bf16_dot() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

bool cpu_has_vnni() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512vnni")) return true;
  // AVX-VNNI (CPUID leaf 7, sub-leaf 1, EAX bit 4): asked directly, since clang before 16 has no
  // "avxvnni" for __builtin_cpu_supports.
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid_count(7, 1, &a, &b, &c, &d) && ((a >> 4) & 1u);
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

const EnumNames<ComputeType>& names_of(ComputeType) {
  static const EnumNames<ComputeType> n = {{"auto", ComputeType::kAuto},
                                           {"float32", ComputeType::kFloat32},
                                           {"bfloat16", ComputeType::kBfloat16},
                                           {"int8", ComputeType::kInt8},
                                           {"int8_bfloat16", ComputeType::kInt8Bfloat16}};
  return n;
}

bool int8_is_fast() {
  static const bool fast = cpu_has_vnni();
  return fast;
}

ComputeType resolve_compute_type(ComputeType t) {
  if (t != ComputeType::kAuto) return t;
  if (int8_is_fast()) return ComputeType::kInt8;
  return bf16_is_fast() ? ComputeType::kBfloat16 : ComputeType::kFloat32;
}

std::string describe_auto_compute_type() {
  const ComputeType t = resolve_compute_type(ComputeType::kAuto);
  const std::string name = enum_name(names_of(t), t);
  if (t == ComputeType::kInt8) return name + " (this CPU has VNNI int8 dot products)";
  if (t == ComputeType::kBfloat16) return name + " (this CPU has AVX512_BF16 dot products)";
  return name + " (this CPU has neither VNNI int8 nor AVX512_BF16 dot products)";
}

ComputeType resolve_compute_type(ComputeType t, int64_t d_model) {
  if (t == ComputeType::kAuto && d_model > 0 && d_model < kLowPrecisionMinWidth) return ComputeType::kFloat32;
  return resolve_compute_type(t);
}

std::string describe_auto_compute_type(int64_t d_model) {
  if (d_model > 0 && d_model < kLowPrecisionMinWidth && resolve_compute_type(ComputeType::kAuto) != ComputeType::kFloat32)
    return "float32 (a d" + std::to_string(d_model) + " model: below d " +
           std::to_string(kLowPrecisionMinWidth) + " float32 decodes faster than " +
           describe_auto_compute_type() + ")";
  return describe_auto_compute_type();
}

WeightFormat weight_format(ComputeType t) {
  switch (resolve_compute_type(t)) {
    case ComputeType::kInt8:
    case ComputeType::kInt8Bfloat16: return WeightFormat::kInt8;
    case ComputeType::kBfloat16: return WeightFormat::kBf16;
    default: return WeightFormat::kNone;
  }
}

Precision precision_of(ComputeType t) {
  t = resolve_compute_type(t);
  return t == ComputeType::kBfloat16 || t == ComputeType::kInt8Bfloat16 ? Precision::kBf16
                                                                        : Precision::kFp32;
}

ComputeType compute_type() { return current_type; }
WeightFormat compute_weight_format() { return weight_format(current_type); }

ComputeTypeGuard::ComputeTypeGuard(ComputeType t)
    : saved_(current_type), precision_(precision_of(t)) {
  current_type = resolve_compute_type(t);
}
ComputeTypeGuard::~ComputeTypeGuard() { current_type = saved_; }

PrecisionGuard::PrecisionGuard(Precision p) : saved_(current) { current = resolve_precision(p); }
PrecisionGuard::~PrecisionGuard() { current = saved_; }

}  // namespace strata::kernels
