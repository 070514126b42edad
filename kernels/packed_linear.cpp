#include "kernels/packed_linear.h"

#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/dnnl_engine.h"

#include "kernels/simd.h"

#include "kernels/cpu_dispatch.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

namespace strata::kernels {

namespace {
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// One row: scale = 127 / max|x|, q = round-half-even(x · scale). Plain loops, and AVX-512
// intrinsics (GCC does not vectorise the max reduction without fast-math) with the same results:
// _mm512_cvtps_epi32 rounds half to even under the default MXCSR, as nearbyint does.
void quantize_row_plain(const float* x, int64_t k, int8_t* q, float* scale) {
  float amax = 0.f;
  for (int64_t i = 0; i < k; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float s = amax > 0.f ? 127.f / amax : 1.f;
  for (int64_t i = 0; i < k; ++i) q[i] = static_cast<int8_t>(std::nearbyint(x[i] * s));
  *scale = s;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f,avx512bw"))) void quantize_row_avx512(const float* x, int64_t k,
                                                                     int8_t* q, float* scale) {
  __m512 mx = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= k; i += 16) mx = _mm512_max_ps(mx, _mm512_abs_ps(_mm512_loadu_ps(x + i)));
  float amax = _mm512_reduce_max_ps(mx);
  for (; i < k; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float s = amax > 0.f ? 127.f / amax : 1.f;
  const __m512 vs = _mm512_set1_ps(s);
  for (i = 0; i + 16 <= k; i += 16) {
    const __m512i r = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + i), vs));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i), _mm512_cvtsepi32_epi8(r));
  }
  for (; i < k; ++i) q[i] = static_cast<int8_t>(std::nearbyint(x[i] * s));
  *scale = s;
}
#endif

void quantize_row(const float* x, int64_t k, int8_t* q, float* scale) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (cpu_has_avx512bw()) return quantize_row_avx512(x, k, q, scale);
#endif
  quantize_row_plain(x, k, q, scale);
}

// y[n] = acc[n] · (inv_x · inv_w[n]) + b[n] (b may be null).
STRATA_CLONES void dequantize_row(const int32_t* acc, int64_t n, float inv_x, const float* inv_w,
                                  const float* b, float* y) {
  if (b)
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(acc[i]) * (inv_x * inv_w[i]) + b[i];
  else
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(acc[i]) * (inv_x * inv_w[i]);
}

// A matmul primitive for M rows, cached per (format, M, K, N) on the calling thread: oneDNN's
// brgemm kernels are JIT-compiled when a primitive is made (~0.4 ms), so decoding with a few
// distinct row counts makes each one once.
struct Prim {
  dnnl::matmul matmul;
  dnnl::memory::desc weights;
};
// Made inside a parallel region (packed_experts_ffn's concurrent experts), a primitive is made for
// the one thread oneDNN then runs on, so those are cached apart from the ones made outside.
const Prim& primitive(WeightFormat f, int64_t M, int64_t K, int64_t N) {
  thread_local std::map<std::tuple<int, int64_t, int64_t, int64_t, bool>, Prim> cache;
  auto key = std::make_tuple(static_cast<int>(f), M, K, N, at::in_parallel_region());
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  if (cache.size() >= 4096) cache.clear();
  const bool i8 = f == WeightFormat::kInt8;
  dnnl::memory::desc src({M, K}, i8 ? dt::s8 : dt::bf16, tag::ab);
  dnnl::memory::desc wei({K, N}, i8 ? dt::s8 : dt::bf16, tag::any);
  dnnl::memory::desc dst({M, N}, i8 ? dt::s32 : dt::f32, tag::ab);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, wei, dst), cpu_engine());
  return cache.emplace(key, Prim{dnnl::matmul(pd), pd.weights_desc()}).first->second;
}
}  // namespace

struct PackedWeight::Impl {
  WeightFormat format;
  torch::Tensor data;   // [N, K] int8 or bf16, row-major
  torch::Tensor scale;  // [N] f32 (int8)
  torch::Tensor inv_scale;
  const void* source = nullptr;  // the f32 weight it was made from (made_from)
  int64_t source_version = -1;
  std::mutex mu;
  std::vector<std::pair<dnnl::memory::desc, dnnl::memory>> packed;  // one per layout asked for

  // `data` in the layout `want` (reordered once; weights are read-only afterwards).
  dnnl::memory& packed_for(const dnnl::memory::desc& want) {
    std::lock_guard<std::mutex> lock(mu);
    for (auto& p : packed)
      if (p.first == want) return p.second;
    const int64_t N = data.size(0), K = data.size(1);
    dnnl::memory::desc plain({K, N}, format == WeightFormat::kInt8 ? dt::s8 : dt::bf16, tag::ba);
    dnnl::memory src(plain, cpu_engine(), data.data_ptr());
    dnnl::memory dst(want, cpu_engine());
    dnnl::stream s(cpu_engine());
    dnnl::reorder(src, dst).execute(s, src, dst);
    s.wait();
    packed.emplace_back(want, dst);
    return packed.back().second;
  }
};

std::pair<torch::Tensor, torch::Tensor> quantize_rows(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 2 && x.scalar_type() == torch::kFloat && x.is_cpu(),
              "quantize_rows: expected a 2-D f32 CPU tensor, got ", x.sizes(), " ", x.scalar_type());
  auto xc = x.contiguous();
  const int64_t M = xc.size(0), K = xc.size(1);
  auto q = torch::empty({M, K}, torch::kChar);
  auto s = torch::empty({M}, torch::kFloat);
  const float* xp = xc.data_ptr<float>();
  int8_t* qp = q.data_ptr<int8_t>();
  float* sp = s.data_ptr<float>();
  at::parallel_for(0, M, parallel_grain(2 * K), [&](int64_t b, int64_t e) {
    for (int64_t m = b; m < e; ++m) quantize_row(xp + m * K, K, qp + m * K, sp + m);
  });
  return {q, s};
}

PackedWeight PackedWeight::int8(const torch::Tensor& w) {
  TORCH_CHECK(w.dim() == 2, "PackedWeight: expected a weight [out, in], got ", w.sizes());
  auto [q, s] = quantize_rows(w.detach().to(torch::kFloat));
  return from_int8(q, s);
}

PackedWeight PackedWeight::from_int8(torch::Tensor q, torch::Tensor scale) {
  TORCH_CHECK(q.dim() == 2 && q.scalar_type() == torch::kChar, "PackedWeight: expected int8 [out, in], got ",
              q.sizes(), " ", q.scalar_type());
  TORCH_CHECK(scale.dim() == 1 && scale.size(0) == q.size(0) && scale.scalar_type() == torch::kFloat,
              "PackedWeight: expected f32 scales [", q.size(0), "], got ", scale.sizes());
  TORCH_CHECK(torch::isfinite(scale).all().item<bool>() && scale.gt(0).all().item<bool>(),
              "PackedWeight: int8 scales must be finite and > 0");
  PackedWeight p;
  p.impl_ = std::make_shared<Impl>();
  p.impl_->format = WeightFormat::kInt8;
  p.impl_->data = q.contiguous();
  p.impl_->scale = scale.contiguous();
  p.impl_->inv_scale = 1.0 / p.impl_->scale;
  return p;
}

PackedWeight PackedWeight::bf16(const torch::Tensor& w) {
  TORCH_CHECK(w.dim() == 2, "PackedWeight: expected a weight [out, in], got ", w.sizes());
  PackedWeight p;
  p.impl_ = std::make_shared<Impl>();
  p.impl_->format = WeightFormat::kBf16;
  p.impl_->data = w.detach().to(torch::kBFloat16).contiguous();
  return p;
}

PackedWeight PackedWeight::make(WeightFormat format, const torch::Tensor& w) {
  switch (format) {
    case WeightFormat::kInt8: return int8(w);
    case WeightFormat::kBf16: return bf16(w);
    case WeightFormat::kNone: break;
  }
  return PackedWeight();
}

PackedWeight& PackedWeight::from(const torch::Tensor& w) {
  if (!impl_) return *this;
  impl_->source = w.data_ptr();
  impl_->source_version = w._version();
  return *this;
}

bool PackedWeight::made_from(const torch::Tensor& w) const {
  return impl_ && w.defined() && impl_->source == w.data_ptr() && impl_->source_version == w._version();
}

WeightFormat PackedWeight::format() const { return impl_->format; }
int64_t PackedWeight::out_features() const { return impl_->data.size(0); }
int64_t PackedWeight::in_features() const { return impl_->data.size(1); }
const torch::Tensor& PackedWeight::data() const { return impl_->data; }
const torch::Tensor& PackedWeight::scale() const { return impl_->scale; }

torch::Tensor PackedWeight::dequantized() const {
  if (impl_->format == WeightFormat::kBf16) return impl_->data.to(torch::kFloat);
  return impl_->data.to(torch::kFloat) * impl_->inv_scale.unsqueeze(1);
}

torch::Tensor PackedWeight::dequantized_rows(const torch::Tensor& rows) const {
  auto flat = rows.reshape({-1});
  auto sizes = rows.sizes().vec();
  sizes.push_back(in_features());
  if (impl_->format == WeightFormat::kBf16) return impl_->data.index_select(0, flat).to(torch::kFloat).view(sizes);
  return (impl_->data.index_select(0, flat).to(torch::kFloat) * impl_->inv_scale.index_select(0, flat).unsqueeze(1))
      .view(sizes);
}

int64_t PackedWeight::bytes() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  int64_t n = impl_->data.numel() * impl_->data.element_size();
  if (impl_->scale.defined()) n += 2 * impl_->scale.numel() * 4;
  for (auto& p : impl_->packed) n += static_cast<int64_t>(p.first.get_size());
  return n;
}

torch::Tensor PackedWeight::linear(const torch::Tensor& x, const torch::Tensor& b) const {
  TORCH_CHECK(defined(), "PackedWeight::linear: no weight");
  const int64_t N = out_features(), K = in_features();
  TORCH_CHECK(x.is_cpu() && x.scalar_type() == torch::kFloat && x.dim() >= 1 && x.size(-1) == K,
              "PackedWeight::linear: expected f32 CPU input [..., ", K, "], got ", x.sizes(), " ",
              x.scalar_type());
  TORCH_CHECK(!b.defined() || (b.dim() == 1 && b.size(0) == N && b.scalar_type() == torch::kFloat),
              "PackedWeight::linear: expected f32 bias [", N, "]");
  RECORD_FUNCTION(impl_->format == WeightFormat::kInt8 ? "strata::int8_linear" : "strata::bf16_linear",
                  std::vector<c10::IValue>());  // a row of bench_decode --profile
  auto out_sizes = x.sizes().vec();
  out_sizes.back() = N;
  auto x2 = x.reshape({-1, K});
  const int64_t M = x2.size(0);
  if (M == 0) return torch::empty(out_sizes, torch::kFloat);
  const Prim& prim = primitive(impl_->format, M, K, N);
  dnnl::memory& w = impl_->packed_for(prim.weights);
  dnnl::stream& s = thread_stream();
  const bool i8 = impl_->format == WeightFormat::kInt8;
  torch::Tensor src, xscale;
  if (i8) {
    RECORD_FUNCTION("strata::quantize_rows", std::vector<c10::IValue>());
    std::tie(src, xscale) = quantize_rows(x2);
  }
  else src = x2.to(torch::kBFloat16).contiguous();
  auto acc = torch::empty({M, N}, i8 ? torch::kInt : torch::kFloat);
  dnnl::memory sm(dnnl::memory::desc({M, K}, i8 ? dt::s8 : dt::bf16, tag::ab), cpu_engine(), src.data_ptr());
  dnnl::memory dm(dnnl::memory::desc({M, N}, i8 ? dt::s32 : dt::f32, tag::ab), cpu_engine(), acc.data_ptr());
  {
    RECORD_FUNCTION("dnnl::matmul", std::vector<c10::IValue>());
    prim.matmul.execute(s, {{DNNL_ARG_SRC, sm}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, dm}});
    s.wait();
  }
  if (!i8) {
    if (b.defined()) acc.add_(b);
    return acc.view(out_sizes);
  }
  auto y = torch::empty({M, N}, torch::kFloat);
  auto bc = b.defined() ? b.contiguous() : torch::Tensor();
  const int32_t* ap = acc.data_ptr<int32_t>();
  const float* xs = xscale.data_ptr<float>();
  const float* iw = impl_->inv_scale.data_ptr<float>();
  const float* bp = bc.defined() ? bc.data_ptr<float>() : nullptr;
  float* yp = y.data_ptr<float>();
  at::parallel_for(0, M, parallel_grain(N), [&](int64_t lo, int64_t hi) {
    for (int64_t m = lo; m < hi; ++m) dequantize_row(ap + m * N, N, 1.f / xs[m], iw, bp, yp + m * N);
  });
  return y.view(out_sizes);
}

torch::Tensor int8_linear_reference(const torch::Tensor& x, const torch::Tensor& w,
                                    const torch::Tensor& b) {
  const int64_t K = w.size(1), N = w.size(0);
  auto x2 = x.reshape({-1, K}).contiguous();
  const int64_t M = x2.size(0);
  auto [qx, sx] = quantize_rows(x2);
  auto [qw, sw] = quantize_rows(w.contiguous());
  auto y = torch::empty({M, N}, torch::kFloat);
  auto X = qx.accessor<int8_t, 2>();
  auto W = qw.accessor<int8_t, 2>();
  auto SX = sx.accessor<float, 1>(), SW = sw.accessor<float, 1>();
  auto Y = y.accessor<float, 2>();
  auto bc = b.defined() ? b.contiguous() : torch::zeros({N});
  auto B = bc.accessor<float, 1>();
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      int32_t acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += static_cast<int32_t>(X[m][k]) * W[n][k];
      Y[m][n] = static_cast<float>(acc) * ((1.f / SX[m]) * (1.f / SW[n])) + B[n];
    }
  auto sizes = x.sizes().vec();
  sizes.back() = N;
  return y.view(sizes);
}

torch::Tensor packed_experts_ffn(const torch::Tensor& x, const std::vector<int64_t>& counts,
                                 const std::vector<PackedWeight>& w1, const torch::Tensor& b1,
                                 const std::vector<PackedWeight>& w2, const torch::Tensor& b2,
                                 const std::function<torch::Tensor(int64_t, const torch::Tensor&)>& hidden) {
  const int64_t E = static_cast<int64_t>(counts.size());
  TORCH_CHECK(static_cast<int64_t>(w1.size()) == E && static_cast<int64_t>(w2.size()) == E && E > 0,
              "packed_experts_ffn: need one packed weight pair per expert, got ", w1.size(), " and ",
              w2.size(), " for ", E, " experts");
  TORCH_CHECK(x.dim() == 2 && b1.dim() == 2 && b1.size(0) == E && b2.dim() == 2 && b2.size(0) == E,
              "packed_experts_ffn: expected x [M, d], b1 [E, ffn], b2 [E, d_out], got ", x.sizes(), ", ",
              b1.sizes(), ", ", b2.sizes());
  std::vector<int64_t> start(E + 1, 0);
  for (int64_t e = 0; e < E; ++e) {
    TORCH_CHECK(counts[e] >= 0, "packed_experts_ffn: negative row count for expert ", e);
    start[e + 1] = start[e] + counts[e];
  }
  TORCH_CHECK(start[E] == x.size(0), "packed_experts_ffn: counts sum to ", start[E], ", rows ", x.size(0));
  auto out = torch::empty({x.size(0), b2.size(1)}, x.options());
  auto one = [&](int64_t e) {
    auto xe = x.slice(0, start[e], start[e + 1]);
    auto h = torch::relu(w1[e].linear(xe, b1[e]));
    if (hidden) h = hidden(e, h);
    out.slice(0, start[e], start[e + 1]).copy_(w2[e].linear(h, b2[e]));
  };
  // Experts with this many rows or more keep both threads busy on their own products.
  constexpr int64_t kOwnThreads = 64;
  const int threads = at::get_num_threads();
  const bool concurrent = threads > 1 && !hidden && !at::in_parallel_region();
  std::vector<int64_t> small;  // experts run concurrently, in order
  int64_t small_rows = 0;
  for (int64_t e = 0; e < E; ++e) {
    if (counts[e] == 0) continue;
    if (concurrent && counts[e] < kOwnThreads) {
      small.push_back(e);
      small_rows += counts[e];
    } else {
      one(e);
    }
  }
  if (small.empty()) return out;
  // Contiguous runs of experts with about equal rows, one run per thread.
  const int64_t T = std::min<int64_t>(threads, static_cast<int64_t>(small.size()));
  std::vector<size_t> cut(T + 1, small.size());
  cut[0] = 0;
  int64_t acc = 0;
  for (size_t i = 0, t = 1; i < small.size() && t < static_cast<size_t>(T); ++i) {
    acc += counts[small[i]];
    if (acc * T >= small_rows * static_cast<int64_t>(t)) cut[t++] = i + 1;
  }
  at::parallel_for(0, T, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t)
      for (size_t i = cut[t]; i < cut[t + 1]; ++i) one(small[i]);
  });
  return out;
}

}  // namespace strata::kernels
