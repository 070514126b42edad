// bench/kernels: milliseconds per linear product y = x·Wᵀ + b for the shapes of Transformer-base
// decoding and encoding (M rows × K in × N out), fp32 (LibTorch → OpenBLAS) next to the packed
// oneDNN paths of kernels/packed_linear (int8: including the activations' quantization and the
// dequantization; bf16: including the activations' rounding), and one-query attention.
//   build/bench/bench_kernels [--threads 2] [--repeat 50]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "kernels/attention.h"
#include "kernels/packed_linear.h"
#include "nmt/util/system.h"

using namespace strata;

namespace {
template <class F>
double ms_per_call(int repeat, F&& f) {
  f();  // warm-up: oneDNN makes its kernels and packs the weight on first use
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < repeat; ++i) f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / repeat;
}
}  // namespace

int main(int argc, char** argv) {
  configure_runtime(argv);
  int threads = 2, repeat = 50;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--threads") threads = std::atoi(argv[i + 1]);
    else if (k == "--repeat") repeat = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: bench_kernels [--threads N] [--repeat N]\n");
      return 2;
    }
  }
  set_threads(threads);
  torch::NoGradGuard ng;
  std::printf("linear y = x·Wᵀ + b, ms per call, %d threads, %d repeats; int8 speed-up over fp32 in ()\n\n",
              threads, repeat);
  std::printf("| M×K×N | what | fp32 (OpenBLAS) | bf16 (oneDNN) | int8 (oneDNN) |\n|---|---|---:|---:|---:|\n");
  struct Case { int64_t m, k, n; const char* what; };
  const Case cases[] = {{128, 512, 1536, "beam 4 × 32: self-attn QKV"}, {128, 512, 2048, "beam 4 × 32: FFN in"},
                        {128, 2048, 512, "beam 4 × 32: FFN out"}, {128, 512, 8000, "beam 4 × 32: output layer"},
                        {32, 512, 2048, "greedy × 32: FFN in"}, {32, 512, 8000, "greedy × 32: output layer"},
                        {768, 512, 2048, "encoder 32 × 24: FFN in"}};
  for (const auto& c : cases) {
    torch::manual_seed(1);
    auto x = torch::randn({c.m, c.k}), w = torch::randn({c.n, c.k}) * 0.05, b = torch::randn({c.n});
    auto i8 = kernels::PackedWeight::int8(w), bf = kernels::PackedWeight::bf16(w);
    double f = ms_per_call(repeat, [&] { torch::nn::functional::linear(x, w, b); });
    double h = ms_per_call(repeat, [&] { bf.linear(x, b); });
    double q = ms_per_call(repeat, [&] { i8.linear(x, b); });
    std::printf("| %ld×%ld×%ld | %s | %.3f | %.3f | %.3f (%.1f×) |\n", c.m, c.k, c.n, c.what, f, h, q, f / q);
  }
  std::printf("\nper-row int8 quantization of activations (kernels::quantize_rows), ms per call\n\n");
  std::printf("| M×K | quantize_rows |\n|---|---:|\n");
  for (auto [m, k] : {std::pair<int64_t, int64_t>{128, 512}, {128, 2048}, {768, 512}}) {
    auto x = torch::randn({m, k});
    std::printf("| %ld×%ld | %.3f |\n", m, k, ms_per_call(repeat, [&] { kernels::quantize_rows(x); }));
  }
  std::printf("\none-query attention, ms per call (B rows × H heads × S keys × dh)\n\n");
  std::printf("| B×H×S×dh | LibTorch broadcast | kernels::attention_one_query |\n|---|---:|---:|\n");
  for (int64_t S : {8, 24, 64}) {
    const int64_t B = 128, H = 8, D = 64;
    auto q = torch::randn({B, H, D}), k = torch::randn({B, H, S, D}), v = torch::randn({B, H, S, D});
    double ref = ms_per_call(repeat, [&] {
      auto p = torch::softmax((k * (q.unsqueeze(2) * 0.125)).sum(-1), -1);
      (p.unsqueeze(-1) * v).sum(2);
    });
    double ours = ms_per_call(repeat, [&] { kernels::attention_one_query(q, k, v, {}, 0.125); });
    std::printf("| %ld×%ld×%ld×%ld | %.3f | %.3f |\n", B, H, S, D, ref, ours);
  }
  return 0;
}
