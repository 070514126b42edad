// bench/moe_layer: dense FFN vs Switch (top-1) vs GShard (top-2) vs SMoE at equal active FLOPs per
// token and pass: d_model 512; dense ffn 2048; Switch experts of width 2048; GShard experts of width
// 1024 (two per token); SMoE strata [E/2, E/2] of width-1024 experts, two per token per pass (a
// token whose first choice is in the lower stratum takes a second pass; the table gives the mean
// passes, and SMoE's time includes its residual add and per-stratum layer norms). Forward and forward+backward tokens/s, 2 threads, several token counts, and each MoE
// layer's time over the dense layer's. Training mode (capacity factor 1.25, tokens dropped).
// Also the LMS FFN (pair mode, 8 languages, rank --lms-rank, a random direction per 32-token
// sentence), and the same LMS FFN computed as before commit 3ee5fd6 (every sentence's banks gathered,
// then two bmm) as the reference it replaced.
//   build/bench/bench_moe_layer [--threads 2] [--experts 8] [--lms-rank 64] [--repeat 5]
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
  int threads = 2, experts = 8, repeat = 5, lms_rank = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (k == "--threads") threads = v;
    else if (k == "--experts") experts = v;
    else if (k == "--repeat") repeat = v;
    else if (k == "--lms-rank") lms_rank = v;
  }
  set_threads(threads);
  const int64_t d = 512, ffn = 2048;
  torch::manual_seed(0);
  nmt::FeedForward dense(nmt::FeedForwardOptions(d, ffn));
  moe::MoeLayer sw(moe::MoeLayerOptions(d, ffn, experts).top_k(1).capacity_factor(1.25));
  moe::MoeLayer gs(moe::MoeLayerOptions(d, ffn / 2, experts).top_k(2).capacity_factor(1.25));
  const int64_t lms_langs = 8, sentence = 32;
  nmt::FeedForward lms(nmt::FeedForwardOptions(d, ffn).lms_langs(lms_langs).lms_rank(lms_rank));
  {
    torch::NoGradGuard ng;  // F starts at zero; random banks make the delta real work
    for (auto* l : {&lms->fc1, &lms->fc2}) (*l)->lms_f.normal_(0, 0.01);
  }
  moe::SmoeLayer sm(moe::SmoeLayerOptions(d, ffn / 2, {experts / 2, experts - experts / 2}).capacity_factor(1.25));
  std::printf("MoE layer: d %lld, equal active FLOPs (dense ffn %lld; switch %d experts x %lld; "
              "gshard %d experts x %lld, top-2; smoe strata [%d, %d] x %lld, top-2 per pass), %d threads, "
              "training mode, capacity factor 1.25; lms: dense ffn + pair LMS banks of rank %d, "
              "8 languages, a random direction per 32-token sentence\n\n",
              static_cast<long long>(d), static_cast<long long>(ffn), experts,
              static_cast<long long>(ffn), experts, static_cast<long long>(ffn / 2), experts / 2,
              experts - experts / 2, static_cast<long long>(ffn / 2), threads, lms_rank);
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
    // LMS FFN on [n / 32, 32, d] with a random direction per sentence.
    const int64_t sents = n / sentence;
    auto x3 = x.view({sents, sentence, d});
    auto keys = nmt::lms_keys(nmt::LmsMode::kPair, lms_langs, torch::randint(lms_langs, {sents}),
                              torch::randint(lms_langs, {sents}), false);
    auto gathered = [&](const nmt::LmsLinear& l, const torch::Tensor& in) {  // before 3ee5fd6
      auto y = torch::nn::functional::linear(in, l->weight, l->bias);
      auto fb = l->lms_f.index_select(0, keys.f), vb = l->lms_v.index_select(0, keys.v);
      return y + torch::bmm(torch::bmm(in, fb.transpose(1, 2)), vb.transpose(1, 2));
    };
    auto lms_old = [&](const torch::Tensor& in) {
      return gathered(lms->fc2, torch::relu(gathered(lms->fc1, in)));
    };
    for (int variant = 0; variant < 2; ++variant) {
      auto run = [&](const torch::Tensor& in) { return variant ? lms_old(in) : lms(in, keys); };
      double lf = seconds_per_call([&] {
        torch::NoGradGuard ng;
        run(x3);
      }, repeat);
      double lb = seconds_per_call([&] {
        auto xi = x3.detach().requires_grad_(true);
        run(xi).sum().backward();
      }, repeat);
      std::printf("| %lld | %s r %d | %.0f | %.0f | %.2f | %.2f | - |\n", static_cast<long long>(n),
                  variant ? "lms, gathered banks" : "lms", lms_rank, n / lf, n / lb, lf / dense_f,
                  lb / dense_b);
    }
  }
  return 0;
}
