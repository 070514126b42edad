// bench/train: training tokens/s (forward + backward + Adam step, source + target tokens) on the
// Transformer-base and quickstart shapes, 2 threads: the wave-1 step (fp32, the loss over the
// whole [N, V] log-softmax), the fused output layer + loss (kernels/output_loss.h) in fp32 and in
// bf16 (kernels/precision.h), next to PyTorch eager fp32 on the same shapes.
//   build/bench/bench_train [--threads 2] [--batch 32] [--repeat 3] [--shapes base,256:4:1024:4:2]
//   build/bench/bench_train --profile quickstart [--precision bf16] [--loss plain|fused]
//                                                   (op-level profile: self time per LibTorch op)
#include <algorithm>
#include <chrono>
#include <iostream>
#include <sstream>

#include "bench/bench_common.h"
#include "kernels/output_loss.h"
#include "kernels/precision.h"
#include "nmt/train/loss.h"
#include "nmt/util/system.h"

using namespace strata;

namespace {
struct Args {
  int threads = 2, batch = 32, src_len = 24, steps = 24, repeat = 3, vocab = 8000;
  kernels::Precision precision = kernels::Precision::kFp32;
  bool fused = true;  // the fused output layer + loss (false: log_softmax over [N, V] + the loss)
};

// One training step (forward, loss, backward, Adam) on random tokens of the given shape.
struct Step {
  nmt::Transformer m;
  torch::Tensor src, tgt;
  torch::optim::Adam opt;
  int64_t vocab;
  Args args;
  Step(const bench::Shape& s, const Args& a)
      : m(bench::make_model(s, a.vocab)),
        src(torch::randint(4, a.vocab, {a.batch, a.src_len}, torch::kLong)),
        tgt(torch::randint(4, a.vocab, {a.batch, a.steps}, torch::kLong)),
        opt(m->parameters(), torch::optim::AdamOptions(1e-4)),
        vocab(a.vocab),
        args(a) {
    m->train();
  }
  void operator()() {
    opt.zero_grad();
    {
      kernels::PrecisionGuard guard(args.precision);
      torch::Tensor loss;
      if (args.fused) {
        auto states = m->decode_states(tgt, m->encode(src));
        loss = kernels::output_layer_loss(states.view({-1, states.size(-1)}), m->embed->weight,
                                          tgt.view(-1), 0.0, 0).loss;
      } else {
        auto lp = torch::log_softmax(m->forward(src, tgt), -1);
        loss = nmt::label_smoothed_nll(lp.view({-1, vocab}), tgt.view(-1), 0.0, 0).loss;
      }
      (loss / static_cast<double>(tgt.numel())).backward();
    }
    opt.step();
  }
};

int profile(const bench::Shape& s, const Args& a) {
  set_threads(a.threads);
  Step step(s, a);
  step();  // warm-up
  char title[256];
  std::snprintf(title, sizeof title, "training step (forward, %s loss, backward, Adam), shape %s, %s, batch %d x (%d + %d) tokens, %d threads",
                a.fused ? "fused" : "plain", s.name.c_str(),
                enum_name(names_of(a.precision), a.precision).c_str(), a.batch, a.src_len, a.steps, a.threads);
  bench::print_profile(title, a.repeat, [&] { step(); });
  return 0;
}

nlohmann::json run_one(const bench::Shape& s, const Args& a) {
  set_threads(a.threads);
  Step one(s, a);
  one();  // warm-up
  auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < a.repeat; ++r) one();
  double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return {{"tokens_per_s", a.batch * (a.src_len + a.steps) * a.repeat / dt},
          {"seconds", dt},
          {"peak_rss_mb", bench::peak_rss_mb()}};
}
}  // namespace

int main(int argc, char** argv) {
  configure_runtime(argv);
  Args a;
  std::string one_shape, profile_shape, shapes;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&]() { return std::atoi(argv[++i]); };
    if (k == "--threads") a.threads = val();
    else if (k == "--repeat") a.repeat = val();
    else if (k == "--batch") a.batch = val();
    else if (k == "--one" && i + 1 < argc) one_shape = argv[++i];
    else if (k == "--profile" && i + 1 < argc) profile_shape = argv[++i];
    else if (k == "--shapes" && i + 1 < argc) shapes = argv[++i];
    else if (k == "--precision" && i + 1 < argc) {
      auto p = enum_value(names_of(kernels::Precision{}), argv[++i]);
      if (!p) {
        std::fprintf(stderr, "--precision: expected auto, fp32 or bf16\n");
        return 2;
      }
      a.precision = *p;
    } else if (k == "--loss" && i + 1 < argc) {
      a.fused = std::string(argv[++i]) != "plain";
    } else {
      std::fprintf(stderr, "usage: bench_train [--threads N] [--repeat N] [--batch N] [--shapes S,S] [--profile S] [--precision P] [--loss plain|fused]\n"
                           "  S: base, quickstart, small or d:heads:ffn:encoder_layers:decoder_layers\n");
      return 2;
    }
  }
  // bf16 runs as the trainer runs it: OpenMP threads spinning (nmt/util/system.h).
  if (a.precision == kernels::Precision::kBf16 && (!one_shape.empty() || !profile_shape.empty()))
    use_spinning_threads();
  if (!profile_shape.empty()) return profile(bench::shape(profile_shape), a);
  std::vector<bench::Shape> list(bench::kShapes, bench::kShapes + bench::kDefaultShapes);
  if (!shapes.empty()) {
    list.clear();
    std::stringstream ss(shapes);
    for (std::string n; std::getline(ss, n, ',');) list.push_back(bench::shape(n));
  }
  if (!one_shape.empty()) {
    std::cout << run_one(bench::shape(one_shape), a).dump() << std::endl;
    return 0;
  }
  std::printf("train: batch %d x (%d source + %d target) tokens, %d threads, vocab %d, %d steps "
              "after 1 warm-up\n\n", a.batch, a.src_len, a.steps, a.threads, a.vocab, a.repeat);
  std::printf("tok/s (peak RSS MB); bf16 on this CPU: %s\n\n",
              kernels::bf16_is_fast() ? "native (AVX512_BF16)" : "not fast here");
  std::printf("| shape | fp32, plain loss | fp32, fused loss | bf16, fused loss | bf16 / fp32 plain | PyTorch eager fp32 | bf16 / PyTorch |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|\n");
  auto cell = [](const nlohmann::json& j) {
    if (j.is_null()) return std::string("n/a");
    char b[64];
    std::snprintf(b, sizeof b, "%.0f (%.0f)", j["tokens_per_s"].get<double>(), j["peak_rss_mb"].get<double>());
    return std::string(b);
  };
  auto tps = [](const nlohmann::json& j) { return j.is_null() ? 0.0 : j["tokens_per_s"].get<double>(); };
  auto ratio = [](double x, double y) {
    char b[32];
    if (y <= 0 || x <= 0) return std::string("n/a");
    std::snprintf(b, sizeof b, "%.2fx", x / y);
    return std::string(b);
  };
  for (const auto& s : list) {
    std::string common = " --threads " + std::to_string(a.threads) + " --repeat " +
                         std::to_string(a.repeat) + " --batch " + std::to_string(a.batch);
    auto plain = bench::run_json(bench::self_exe() + " --one " + s.name + common + " --precision fp32 --loss plain");
    auto fused = bench::run_json(bench::self_exe() + " --one " + s.name + common + " --precision fp32 --loss fused");
    auto bf16 = bench::run_json(bench::self_exe() + " --one " + s.name + common + " --precision bf16 --loss fused");
    auto ref = bench::run_json("/usr/bin/python3 bench/ref_transformer.py train --shape " +
                               s.name + common);
    std::printf("| %s | %s | %s | %s | %s | %s | %s |\n", s.name.c_str(), cell(plain).c_str(),
                cell(fused).c_str(), cell(bf16).c_str(), ratio(tps(bf16), tps(plain)).c_str(),
                cell(ref).c_str(), ratio(tps(bf16), tps(ref)).c_str());
  }
  return 0;
}
