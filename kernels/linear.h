#pragma once
// Matrix products in the calling thread's compute precision (precision.h). Inputs are fp32 (or
// already bf16); results are always fp32, so that residual sums, norms and softmax stay fp32.
// Under kBf16 the fp32 operands of CPU tensors are rounded to bf16 and multiplied by oneDNN
// with fp32 accumulation (LibTorch 1.13: at::mm/addmm/bmm on bf16 with userEnabledMkldnn());
// autograd carries the casts, so gradients reach fp32 parameters as fp32.
//
// Reference: kFp32 is exactly LibTorch's own op (torch::nn::functional::linear, torch::addmm,
// torch::matmul), bit for bit; tests/kernels/linear_test.cpp checks kBf16 against it.
#include <torch/torch.h>

#include <initializer_list>
#include <map>
#include <string>

#include "kernels/packed_linear.h"
#include "kernels/precision.h"

namespace strata::kernels {

// t rounded to the dtype products use on this thread (bf16 under kBf16 for fp32 CPU tensors);
// t itself otherwise. Lets a caller cast a weight once and use it in several products.
torch::Tensor to_compute(const torch::Tensor& t);

// x [..., in] · w [out, in]ᵀ + b [out] (b may be undefined) -> [..., out] f32.
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b);

// bias [n] (or [m, n]) + x [m, k] · w [k, n] -> [m, n] f32.
torch::Tensor addmm(const torch::Tensor& bias, const torch::Tensor& x, const torch::Tensor& w);

// torch::matmul(a, b) -> f32 (batched products: attention scores and contexts).
torch::Tensor matmul(const torch::Tensor& a, const torch::Tensor& b);

// Inference with packed weights (packed_linear.h). A layer keeps a PackedWeight made from its fp32
// weight; use_packed() says whether this call may use it: the thread's compute type asks for its
// format, no gradient is being recorded, and it was made from `source` as it is now.
bool use_packed(const PackedWeight& packed, const torch::Tensor& source);

// linear(x, w, b) through `packed` where use_packed(packed, w).
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                     const PackedWeight& packed);

// A packable weight as an int8 checkpoint stores it (`strata quantize`): q int8 [..., N, K] and
// scale f32 [..., N], quantize_rows of each [N, K] matrix the layer packs (rows = outputs).
struct Int8Weight {
  torch::Tensor q, scale;
};

// Modules with weights that can be packed: LmsLinear, the MoE experts, the output layer.
class PackableModule {
 public:
  virtual ~PackableModule() = default;
  // Makes the packed copies of this module's own weights in format f (drops them for kNone).
  // kInt8 packs the stored int8 form (set_int8_weight) while the parameter is unchanged since.
  // A weight restored with `release` can only be packed in kInt8 (else: a one-line error).
  virtual void pack_weights(WeightFormat f) = 0;
  // Int8 checkpoints: this module's own packable weights by parameter name, in int8 (the stored
  // form where the parameter is unchanged since set_int8_weight, else quantized now).
  virtual std::map<std::string, Int8Weight> int8_weights() const = 0;
  // Restores parameter `name` from its int8 form: the parameter becomes the dequantized weight,
  // or with `release` a placeholder that holds no memory (NaN, stride 0), for int8 inference only.
  virtual void set_int8_weight(const std::string& name, const Int8Weight& w, bool release) = 0;
};

// Helpers for PackableModule implementations (2-D weights packed as they are, [N, K]):
// the int8 form of `weight` (stored.data()/scale() where stored.made_from(weight)).
Int8Weight int8_form(const torch::Tensor& weight, const PackedWeight& stored);
// Checks w against `param`'s shape [N, K] (`name` in the message), sets `param` (dequantized, or
// a placeholder with `release`) and returns the stored form, made from the new `param`.
PackedWeight restore_int8(torch::Tensor& param, const std::string& name, const Int8Weight& w, bool release);
// A placeholder for a released weight of these sizes: NaN through a stride-0 view (4 bytes).
torch::Tensor released_placeholder(torch::IntArrayRef sizes);
// True for a placeholder made by released_placeholder.
bool is_released(const torch::Tensor& t);
// Throws when one of `weights` is such a placeholder: the model was loaded with its int8 weights
// only, so an fp32/bf16 product (or training) on them cannot run.
void check_not_released(std::initializer_list<const torch::Tensor*> weights);

// Weights a model is built without, because a loader restores them next (nmt/model/checkpoint.cpp).
enum class Deferred {
  kExperts,   // the MoE experts' w1, b1 and w2: a slim checkpoint, its experts in an expert file
              // (ExpertsImpl::set_source restores them on dispatch)
  kPackable,  // every packable weight (LmsLinear's weight, the experts' w1 and w2, the embedding /
              // output layer): an int8 checkpoint loaded int8-only (set_int8_weight with `release`)
};

// While one is alive on this thread, the layers build the weights it names as released
// placeholders (released_placeholder): no storage, no initialisation, no random draws, so loading
// never allocates them. Every such weight must be restored before the model is used.
//   { kernels::DeferredStorage deferred(kernels::Deferred::kPackable); model = build(...); }
class DeferredStorage {
 public:
  explicit DeferredStorage(Deferred what);
  ~DeferredStorage();
  DeferredStorage(const DeferredStorage&) = delete;
  DeferredStorage& operator=(const DeferredStorage&) = delete;
  // True while the innermost DeferredStorage alive on this thread defers `what`.
  static bool defers(Deferred what);

 private:
  int previous_;
};

// pack_weights(weight_format(t)) on every PackableModule in root, root included. Weights on a GPU
// are not packed (bfloat16 there = LibTorch's bf16 products; int8 is an error: CPU only).
void pack_weights(torch::nn::Module& root, ComputeType t);

}  // namespace strata::kernels
