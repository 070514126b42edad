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

// The compute type of inference (CTranslate2's names): which weight format linear layers use and
// the precision of the other products. Set per thread with ComputeTypeGuard; layers use their
// packed weights (packed_linear.h, made by pack_weights in linear.h) when it asks for them.
//   float32        fp32 weights and products
//   bfloat16       bf16 linear weights, bf16 operands elsewhere (Precision::kBf16), fp32 results
//   int8           int8 linear weights (per-row scales), fp32 elsewhere
//   int8_bfloat16  int8 linear weights, bf16 operands elsewhere
//   auto           the fastest this CPU supports (resolve_compute_type)
enum class ComputeType { kAuto, kFloat32, kBfloat16, kInt8, kInt8Bfloat16 };
const EnumNames<ComputeType>& names_of(ComputeType);

// The weight formats of packed linear layers.
enum class WeightFormat { kNone, kInt8, kBf16 };

// True when int8 products are fast here: the CPU has VNNI int8 dot products (AVX512_VNNI or
// AVX_VNNI).
bool int8_is_fast();

// kAuto -> int8 where int8_is_fast(), else bfloat16 where bf16_is_fast(), else float32.
ComputeType resolve_compute_type(ComputeType t);

// Why auto resolves as it does here, e.g. "int8 (this CPU has AVX512_VNNI int8 dot products)".
std::string describe_auto_compute_type();

// Below this model width (d_model) auto means float32: the products of a narrow model are too
// small for oneDNN's low-precision kernels to beat OpenBLAS fp32 (Zen 4, 2 threads, bench_decode,
// target tokens/s greedy / beam 4: d 128 float32 8,414 / 3,285 vs int8 5,755 / 3,008; d 256 float32
// 4,835 / 2,037 vs int8 4,908 / 2,672; d 512 int8 2.3x float32; docs/PERFORMANCE.md).
constexpr int64_t kLowPrecisionMinWidth = 256;

// resolve_compute_type for a model of width d_model (0: unknown, as above).
ComputeType resolve_compute_type(ComputeType t, int64_t d_model);
// describe_auto_compute_type for a model of width d_model.
std::string describe_auto_compute_type(int64_t d_model);

// The linear layers' weight format and the other products' precision under t (resolved).
WeightFormat weight_format(ComputeType t);
Precision precision_of(ComputeType t);

// The calling thread's compute type (kFloat32 unless a guard says otherwise) and the weight
// format its linear layers use.
ComputeType compute_type();
WeightFormat compute_weight_format();

// Sets the calling thread's compute type (resolved) and its precision for its lifetime.
class ComputeTypeGuard {
 public:
  explicit ComputeTypeGuard(ComputeType t);
  ~ComputeTypeGuard();
  ComputeTypeGuard(const ComputeTypeGuard&) = delete;
  ComputeTypeGuard& operator=(const ComputeTypeGuard&) = delete;

 private:
  ComputeType saved_;
  PrecisionGuard precision_;
};

}  // namespace strata::kernels
