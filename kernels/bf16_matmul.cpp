#include "kernels/bf16_matmul.h"

#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/dnnl_engine.h"

#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <ATen/record_function.h>

namespace strata::kernels {

namespace {
using dt = dnnl::memory::data_type;

dnnl::memory::dims dims_of(c10::IntArrayRef v) { return dnnl::memory::dims(v.begin(), v.end()); }

constexpr dnnl::memory::dim kRuntime = DNNL_RUNTIME_DIM_VAL;

// The bias of an output like c: [1, ..., 1, N] f32, contiguous; for a primitive's descriptor
// (runtime) N and the strides are given at execution.
dnnl::memory::desc bias_desc(const torch::Tensor& c, bool runtime) {
  dnnl::memory::dims dims(c.dim(), 1), strides(c.dim(), runtime ? kRuntime : c.size(-1));
  dims.back() = runtime ? kRuntime : c.size(-1);
  strides.back() = 1;
  return dnnl::memory::desc(dims, dt::f32, strides);
}

// Which of the last two dimensions of t has stride 1 (0: the last; 1: the one before).
int unit_dim(const torch::Tensor& t) { return t.stride(-1) == 1 ? 0 : 1; }

// A descriptor of t's rank and layout whose sizes and other strides are given at execution.
dnnl::memory::desc runtime_desc(const torch::Tensor& t, dt type) {
  const int n = static_cast<int>(t.dim());
  dnnl::memory::dims dims(n, kRuntime), strides(n, kRuntime);
  strides[n - 1 - unit_dim(t)] = 1;
  return dnnl::memory::desc(dims, type, strides);
}

// A matmul primitive per (rank, operand layouts, bias, accumulate), cached on the calling thread,
// with every size and non-unit stride given at execution: oneDNN compiles a primitive when it is
// made (0.4-0.8 ms here, about as long as a product of a quickstart batch takes to run), and
// training batches come in hundreds of shapes. oneDNN 2.6 runs such runtime shapes with its jit
// gemm, measured as fast as its fixed-shape brgemm on the trainer's shapes (2 Zen 4 cores,
// 430-760 GFLOP/s); with the sizes left open but the unit strides too, it falls back to its
// reference kernel (thousands of times slower), hence the layouts in the key.
const dnnl::matmul& primitive(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& c,
                              bool bias, bool accumulate) {
  thread_local std::map<std::vector<int64_t>, dnnl::matmul> cache;
  std::vector<int64_t> key{a.dim(), unit_dim(a), unit_dim(b), unit_dim(c), bias, accumulate};
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  dnnl::primitive_attr attr;
  if (accumulate) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  auto ad = runtime_desc(a, dt::bf16), bd = runtime_desc(b, dt::bf16), cd = runtime_desc(c, dt::f32);
  auto desc = bias ? dnnl::matmul::desc(ad, bd, bias_desc(c, /*runtime=*/true), cd) : dnnl::matmul::desc(ad, bd, cd);
  dnnl::matmul::primitive_desc pd(desc, attr, cpu_engine());
  return cache.emplace(std::move(key), dnnl::matmul(pd)).first->second;
}

// t itself when one of its last two dimensions is unit-stride (oneDNN's plain or transposed
// layouts), else a contiguous copy.
torch::Tensor inner_unit(const torch::Tensor& t) {
  return t.stride(-1) == 1 || t.stride(-2) == 1 ? t : t.contiguous();
}

void check_operands(const torch::Tensor& a, const torch::Tensor& b) {
  TORCH_CHECK(a.is_cpu() && b.is_cpu() && a.scalar_type() == torch::kBFloat16 &&
                  b.scalar_type() == torch::kBFloat16,
              "bf16_matmul: expected bf16 CPU operands, got ", a.scalar_type(), " and ", b.scalar_type());
  TORCH_CHECK(a.dim() >= 2 && a.dim() <= 5 && a.dim() == b.dim() &&
                  a.sizes().slice(0, a.dim() - 2) == b.sizes().slice(0, b.dim() - 2) &&
                  a.size(-1) == b.size(-2),
              "bf16_matmul: expected a [..., M, K] and b [..., K, N] with the same batch "
              "dimensions (at most 3), got ", a.sizes(), " and ", b.sizes());
}

void run(torch::Tensor& out, const torch::Tensor& a0, const torch::Tensor& b0, const torch::Tensor& bias,
         bool accumulate) {
  RECORD_FUNCTION("strata::bf16_matmul", std::vector<c10::IValue>());
  if (out.numel() == 0) return;
  if (a0.size(-1) == 0) {  // empty sum
    if (!accumulate) out.zero_();
    if (bias.defined()) out.add_(bias);
    return;
  }
  if (out.stride(-1) != 1 && out.stride(-2) != 1) {  // an output layout oneDNN cannot write
    auto tmp = accumulate ? out.contiguous() : torch::empty(out.sizes(), out.options());
    run(tmp, a0, b0, bias, accumulate);
    out.copy_(tmp);
    return;
  }
  auto a = inner_unit(a0), b = inner_unit(b0);
  const auto& prim = primitive(a, b, out, bias.defined(), accumulate);
  auto& e = cpu_engine();
  dnnl::memory am(dnnl::memory::desc(dims_of(a.sizes()), dt::bf16, dims_of(a.strides())), e, a.data_ptr());
  dnnl::memory bm(dnnl::memory::desc(dims_of(b.sizes()), dt::bf16, dims_of(b.strides())), e, b.data_ptr());
  dnnl::memory cm(dnnl::memory::desc(dims_of(out.sizes()), dt::f32, dims_of(out.strides())), e, out.data_ptr());
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}};
  torch::Tensor bc;
  if (bias.defined()) {
    bc = bias.contiguous();
    args.emplace(DNNL_ARG_BIAS, dnnl::memory(bias_desc(out, /*runtime=*/false), e, bc.data_ptr()));
  }
  auto& s = thread_stream();
  prim.execute(s, args);
  s.wait();
}
}  // namespace

torch::Tensor bf16_matmul(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& bias) {
  check_operands(a, b);
  TORCH_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == b.size(-1) &&
                                  bias.scalar_type() == torch::kFloat && bias.is_cpu()),
              "bf16_matmul: expected an f32 bias [", b.size(-1), "], got ", bias.sizes());
  auto sizes = a.sizes().vec();
  sizes.back() = b.size(-1);
  auto out = torch::empty(sizes, torch::kFloat);
  run(out, a, b, bias, false);
  return out;
}

void bf16_matmul_out(torch::Tensor& out, const torch::Tensor& a, const torch::Tensor& b, bool accumulate) {
  check_operands(a, b);
  auto sizes = a.sizes().vec();
  sizes.back() = b.size(-1);
  TORCH_CHECK(out.is_cpu() && out.scalar_type() == torch::kFloat && out.sizes() == c10::IntArrayRef(sizes),
              "bf16_matmul_out: expected an f32 output ", c10::IntArrayRef(sizes), ", got ", out.sizes());
  run(out, a, b, torch::Tensor(), accumulate);
}

torch::Tensor bf16_weight(const torch::Tensor& w) {
  if (w.scalar_type() == torch::kBFloat16) return w.detach();
  if (!(w.is_leaf() && w.requires_grad())) return w.detach().to(torch::kBFloat16);
  // Parameters: keyed by their TensorImpl, held weakly (a dead parameter's address is not reused
  // while the entry lives), valid while the storage and the version counter are unchanged.
  struct Entry {
    c10::weak_intrusive_ptr<c10::TensorImpl> owner;
    const void* data;
    uint32_t version;
    torch::Tensor copy;
  };
  static std::mutex mu;
  static std::unordered_map<const c10::TensorImpl*, Entry> cache;
  auto* impl = w.unsafeGetTensorImpl();
  const uint32_t version = w._version();
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(impl);
  if (it != cache.end() && !it->second.owner.expired() && it->second.data == w.data_ptr() &&
      it->second.version == version)
    return it->second.copy;
  if (cache.size() >= 4096)
    for (auto i = cache.begin(); i != cache.end();) i = i->second.owner.expired() ? cache.erase(i) : std::next(i);
  torch::NoGradGuard no_grad;
  auto copy = w.detach().to(torch::kBFloat16).contiguous();
  cache.insert_or_assign(impl, Entry{c10::weak_intrusive_ptr<c10::TensorImpl>(
                                         w.getIntrusivePtr()),
                                     w.data_ptr(), version, copy});
  return copy;
}

}  // namespace strata::kernels
