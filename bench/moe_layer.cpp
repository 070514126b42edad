// bench/moe_layer: dense FFN vs Switch (top-1) vs GShard (top-2) vs SMoE at equal active FLOPs per
// token and pass: d_model 512; dense ffn 2048; Switch experts of width 2048; GShard experts of width
// 1024 (two per token); SMoE strata [E/2, E/2] of width-1024 experts, two per token per pass (a
// token whose first choice is in the lower stratum takes a second pass; the table gives the mean
// passes, and SMoE's time includes its residual add and per-stratum layer norms). Forward and forward+backward tokens/s, 2 threads, several token counts, and each MoE
// layer's time over the dense layer's. Training mode (capacity factor 1.25, tokens dropped).
//   build/bench/bench_moe_layer [--threads 2] [--experts 8] [--repeat 5]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "moe/moe_layer.h"
#include "moe/smoe_layer.h"
#include "nmt/model/transformer.h"
#include "nmt/util/system.h"

using namespace strata;

namespace {
template <class F>
double seconds_per_call(F&& f, int repeat) {
  f();  // warm-up
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < repeat; ++i) f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / repeat;
}
}  // namespace

int main(int argc, char** argv) {
  configure_runtime(argv);
  int threads = 2, experts = 8, repeat = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (k == "--threads") threads = v;
    else if (k == "--experts") experts = v;
    else if (k == "--repeat") repeat = v;
  }
  set_threads(threads);
  const int64_t d = 512, ffn = 2048;
  torch::manual_seed(0);
  nmt::FeedForward dense(d, ffn, 0.0);
  moe::MoeLayer sw(moe::MoeLayerOptions(d, ffn, experts).top_k(1).capacity_factor(1.25));
  moe::MoeLayer gs(moe::MoeLayerOptions(d, ffn / 2, experts).top_k(2).capacity_factor(1.25));
  moe::SmoeLayer sm(moe::SmoeLayerOptions(d, ffn / 2, {experts / 2, experts - experts / 2}).capacity_factor(1.25));
  std::printf("MoE layer: d %lld, equal active FLOPs (dense ffn %lld; switch %d experts x %lld; "
              "gshard %d experts x %lld, top-2; smoe strata [%d, %d] x %lld, top-2 per pass), %d threads, "
              "training mode, capacity factor 1.25\n\n",
              static_cast<long long>(d), static_cast<long long>(ffn), experts,
              static_cast<long long>(ffn), experts, static_cast<long long>(ffn / 2), experts / 2,
              experts - experts / 2, static_cast<long long>(ffn / 2), threads);
  std::printf("| tokens | layer | fwd tok/s | fwd+bwd tok/s | fwd time / dense | fwd+bwd time / dense | dropped |\n");
  std::printf("|---:|---|---:|---:|---:|---:|---:|\n");
  for (int64_t n : {512, 2048, 8192}) {
    auto x = torch::randn({n, d});
    double dense_f = seconds_per_call([&] {
      torch::NoGradGuard ng;
      dense(x);
    }, repeat);
    double dense_b = seconds_per_call([&] {
      auto xi = x.detach().requires_grad_(true);
      dense(xi).sum().backward();
    }, repeat);
    std::printf("| %lld | dense | %.0f | %.0f | 1.00 | 1.00 | - |\n", static_cast<long long>(n),
                n / dense_f, n / dense_b);
    for (auto [name, layer] : {std::pair{"switch", &sw}, std::pair{"gshard", &gs}}) {
      double drop = 0;
      double f = seconds_per_call([&] {
        torch::NoGradGuard ng;
        drop = (*layer)(x).drop_rate;
      }, repeat);
      double b = seconds_per_call([&] {
        auto xi = x.detach().requires_grad_(true);
        auto o = (*layer)(xi);
        (o.output.sum() + o.aux_loss).backward();
      }, repeat);
      std::printf("| %lld | %s | %.0f | %.0f | %.2f | %.2f | %.1f%% |\n", static_cast<long long>(n),
                  name, n / f, n / b, f / dense_f, b / dense_b, 100 * drop);
    }
    double drop = 0, passes = 0;
    double f = seconds_per_call([&] {
      torch::NoGradGuard ng;
      auto o = sm(x, x);
      drop = o.drop_rate;
      passes = o.passes.to(torch::kDouble).mean().item<double>();
    }, repeat);
    double b = seconds_per_call([&] {
      auto xi = x.detach().requires_grad_(true);
      auto o = sm(xi, xi);
      (o.output.sum() + o.aux_loss).backward();
    }, repeat);
    std::printf("| %lld | smoe (%.2f passes) | %.0f | %.0f | %.2f | %.2f | %.1f%% |\n", static_cast<long long>(n),
                passes, n / f, n / b, f / dense_f, b / dense_b, 100 * drop);
  }
  return 0;
}
