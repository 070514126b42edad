// bench/train: training tokens/s (forward + backward + Adam step, source + target tokens) on the
// Transformer-base and quickstart shapes, 2 threads, next to PyTorch eager on the same shapes.
//   build/bench/bench_train [--threads 2] [--batch 32] [--repeat 3] [--shapes base,256:4:1024:4:2]
//   build/bench/bench_train --profile quickstart   (op-level profile: self time per LibTorch op)
#include <algorithm>
#include <chrono>
#include <iostream>
#include <sstream>

#include "bench/bench_common.h"
#include "nmt/train/loss.h"
#include "nmt/util/system.h"

using namespace strata;

namespace {
struct Args {
  int threads = 2, batch = 32, src_len = 24, steps = 24, repeat = 3, vocab = 8000;
};

// One training step (forward, loss, backward, Adam) on random tokens of the given shape.
struct Step {
  nmt::Transformer m;
  torch::Tensor src, tgt;
  torch::optim::Adam opt;
  int64_t vocab;
  Step(const bench::Shape& s, const Args& a)
      : m(bench::make_model(s, a.vocab)),
        src(torch::randint(4, a.vocab, {a.batch, a.src_len}, torch::kLong)),
        tgt(torch::randint(4, a.vocab, {a.batch, a.steps}, torch::kLong)),
        opt(m->parameters(), torch::optim::AdamOptions(1e-4)),
        vocab(a.vocab) {
    m->train();
  }
  void operator()() {
    opt.zero_grad();
    auto lp = torch::log_softmax(m->forward(src, tgt), -1);
    auto l = nmt::label_smoothed_nll(lp.view({-1, vocab}), tgt.view(-1), 0.0, 0);
    (l.loss / static_cast<double>(tgt.numel())).backward();
    opt.step();
  }
};

int profile(const bench::Shape& s, const Args& a) {
  set_threads(a.threads);
  Step step(s, a);
  step();  // warm-up
  char title[256];
  std::snprintf(title, sizeof title, "training step (forward, loss, backward, Adam), shape %s, batch %d x (%d + %d) tokens, %d threads",
                s.name.c_str(), a.batch, a.src_len, a.steps, a.threads);
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
    else {
      std::fprintf(stderr, "usage: bench_train [--threads N] [--repeat N] [--batch N] [--shapes S,S] [--profile S]\n"
                           "  S: base, quickstart, small or d:heads:ffn:encoder_layers:decoder_layers\n");
      return 2;
    }
  }
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
  std::printf("| shape | strata tok/s | strata peak RSS MB | PyTorch eager tok/s | PyTorch peak RSS MB | strata / PyTorch |\n");
  std::printf("|---|---:|---:|---:|---:|---:|\n");
  for (const auto& s : list) {
    std::string common = " --threads " + std::to_string(a.threads) + " --repeat " +
                         std::to_string(a.repeat) + " --batch " + std::to_string(a.batch);
    auto ours = bench::run_json(bench::self_exe() + " --one " + s.name + common);
    auto ref = bench::run_json("/usr/bin/python3 bench/ref_transformer.py train --shape " +
                               s.name + common);
    double o = ours.is_null() ? 0 : ours["tokens_per_s"].get<double>();
    double r = ref.is_null() ? 0 : ref["tokens_per_s"].get<double>();
    std::printf("| %s | %.0f | %.0f | %s | %s | %s |\n", s.name.c_str(), o,
                ours.is_null() ? 0.0 : ours["peak_rss_mb"].get<double>(),
                ref.is_null() ? "n/a" : std::to_string(static_cast<int>(r)).c_str(),
                ref.is_null() ? "n/a" : std::to_string(static_cast<int>(ref["peak_rss_mb"].get<double>())).c_str(),
                ref.is_null() || r == 0 ? "n/a" : (std::to_string(o / r).substr(0, 4) + "x").c_str());
  }
  return 0;
}
