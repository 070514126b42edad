// bench/decode: target tokens/s and peak RSS of strata's beam search (greedy and beam 4, batch 32,
// 2 threads) on the Transformer-base shape and the quickstart shape, next to a PyTorch eager
// implementation of the same shapes (bench/ref_transformer.py, Debian's python3-torch), with the
// ratio. Random weights; </s> is banned so every sentence decodes exactly --steps tokens.
//   build/bench/bench_decode [--threads 2] [--steps 24] [--repeat 3]
//   build/bench/bench_decode --profile quickstart 4   (op-level profile of beam-4 decoding)
//   build/bench/bench_decode --one base 4 --compute-type int8 --repeat 10   (one JSON line)
//   build/bench/bench_decode --one base 4 --compute-type int8 --experts 8   (a Switch model)
//   bench/decode_vs_ct2.py   (Strata in each compute type next to CTranslate2, interleaved)
//   build/bench/bench_decode --no-repeat-ngram-size 3 --repetition-penalty 1.2   (with the guards)
//   build/bench/bench_decode --one base 4 --compute-type int8 --shortlist 2400   (output layer
//   over a vocabulary shortlist of 2,400 pieces, evenly spaced ids; the Core-8 lists: 1.7k-5.5k)
// In the int8 types the model holds only its int8 weights, as `strata translate` of an int8
// checkpoint does (bench::make_int8_only_model); --keep-float32 keeps the float32 ones beside them.
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <iostream>

#include "bench/bench_common.h"
#include "kernels/linear.h"
#include "nmt/decode/search.h"
#include "nmt/util/system.h"

using namespace strata;

namespace {

struct Args {
  int threads = 2, batch = 32, src_len = 24, steps = 24, repeat = 3, vocab = 8000;
  int no_repeat_ngram_size = 0;     // repetition guards (SearchOptions), off by default
  double repetition_penalty = 1.0;
  kernels::ComputeType compute = kernels::ComputeType::kFloat32;  // --compute-type
  int experts = 0;  // --experts E: a Switch model, E experts every other layer
  int shortlist = 0;  // --shortlist N: the output layer over N pieces (0: the whole vocabulary)
  bool keep_float32 = false;  // --keep-float32: int8 types keep the float32 weights too
};

// The model in the benchmark's compute type: weights packed (kernels/linear.h pack_weights).
// In the int8 types, the model as an int8 checkpoint loaded int8-only leaves it (no float32 weights;
// --keep-float32: packed next to its float32 weights, as from a float32 checkpoint).
nmt::Transformer prepared_model(const bench::Shape& s, const Args& a) {
  const bool int8_only = kernels::weight_format(a.compute) == kernels::WeightFormat::kInt8 && !a.keep_float32;
  auto m = int8_only ? bench::make_int8_only_model(s, a.vocab, a.experts) : bench::make_model(s, a.vocab, a.experts);
  m->eval();
  kernels::pack_weights(*m, a.compute);
  return m;
}

nmt::SearchOptions search_options(int beam, const Args& a) {
  nmt::SearchOptions o;
  o.beam = beam;
  o.max_len_a = 0;
  o.max_len_b = a.steps;
  o.banned = {0, 2, 3};
  o.no_repeat_ngram_size = a.no_repeat_ngram_size;
  o.repetition_penalty = a.repetition_penalty;
  return o;
}

// --shortlist N: N evenly spaced ids (</s> among them), in the model's compute type.
void add_shortlist(nmt::Transformer& m, const Args& a, nmt::SearchOptions& o) {
  if (a.shortlist <= 0) return;
  std::vector<int64_t> ids = {3};
  for (int i = 1; i < a.shortlist; ++i) ids.push_back(3 + static_cast<int64_t>(i) * (a.vocab - 4) / a.shortlist + 1);
  kernels::ComputeTypeGuard compute(a.compute);
  o.output = std::make_shared<const nmt::OutputRows>(m->output_rows(torch::tensor(ids, torch::kLong)));
}

int profile(const bench::Shape& s, int beam, const Args& a) {
  set_threads(a.threads);
  auto m = prepared_model(s, a);
  kernels::ComputeTypeGuard compute(a.compute);
  auto src = torch::randint(4, a.vocab, {a.batch, a.src_len}, torch::kLong);
  auto o = search_options(beam, a);
  add_shortlist(m, a, o);
  std::vector<int64_t> first(a.batch, 2);
  torch::NoGradGuard ng;
  nmt::beam_search(m, src, first, 3, o);  // warm-up
  char title[256];
  std::snprintf(title, sizeof title, "decoding a batch (beam %d, %d x %d source tokens, %d output tokens each), shape %s, %d threads",
                beam, a.batch, a.src_len, a.steps, s.name.c_str(), a.threads);
  bench::print_profile(title, a.repeat, [&] { nmt::beam_search(m, src, first, 3, o); });
  return 0;
}

nlohmann::json run_one(const bench::Shape& s, int beam, const Args& a) {
  set_threads(a.threads);
  auto m = prepared_model(s, a);
  kernels::ComputeTypeGuard compute(a.compute);
  auto src = torch::randint(4, a.vocab, {a.batch, a.src_len}, torch::kLong);
  auto o = search_options(beam, a);
  add_shortlist(m, a, o);
  std::vector<int64_t> first(a.batch, 2);
  nmt::beam_search(m, src, first, 3, o);  // warm-up (oneDNN makes its kernels on first use)
  auto t0 = std::chrono::steady_clock::now();
  int64_t tokens = 0;
  for (int r = 0; r < a.repeat; ++r) {
    auto h = nmt::beam_search(m, src, first, 3, o);
    for (const auto& x : h) tokens += x.empty() ? 0 : static_cast<int64_t>(x[0].tokens.size());
  }
  double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string policy = omp_wait_policy();
  return {{"tokens_per_s", tokens / dt}, {"seconds", dt}, {"peak_rss_mb", bench::peak_rss_mb()},
          {"omp_wait_policy", policy.empty() ? "libgomp default" : policy}};
}

}  // namespace

int main(int argc, char** argv) {
  configure_runtime(argv);
  Args a;
  std::string one_shape, profile_shape;
  int one_beam = 0;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&]() { return std::atoi(argv[++i]); };
    if (k == "--threads") a.threads = val();
    else if (k == "--steps") a.steps = val();
    else if (k == "--repeat") a.repeat = val();
    else if (k == "--batch") a.batch = val();
    else if (k == "--no-repeat-ngram-size") a.no_repeat_ngram_size = val();
    else if (k == "--experts") a.experts = val();
    else if (k == "--shortlist") a.shortlist = val();
    else if (k == "--keep-float32") a.keep_float32 = true;
    else if (k == "--repetition-penalty" && i + 1 < argc) a.repetition_penalty = std::atof(argv[++i]);
    else if (k == "--compute-type" && i + 1 < argc) {
      auto t = enum_value(kernels::names_of(kernels::ComputeType{}), argv[++i]);
      if (!t) {
        std::fprintf(stderr, "--compute-type: float32, bfloat16, int8, int8_bfloat16 or auto\n");
        return 2;
      }
      a.compute = kernels::resolve_compute_type(*t);
    }
    else if ((k == "--one" || k == "--profile") && i + 2 < argc) {
      (k == "--one" ? one_shape : profile_shape) = argv[++i];
      one_beam = val();
    } else {
      std::fprintf(stderr, "usage: bench_decode [--threads N] [--steps N] [--repeat N] [--batch N] "
                           "[--no-repeat-ngram-size N] [--repetition-penalty X] [--compute-type T] [--experts E] [--shortlist N] [--keep-float32] "
                           "[--one SHAPE BEAM] [--profile SHAPE BEAM]\n");
      return 2;
    }
  }
  // As strata translate decodes (nmt/cli/options.h, spin_threads_for): in the compute types that
  // run on oneDNN, LibTorch's OpenMP threads spin briefly between ops instead of sleeping.
  if (kernels::weight_format(a.compute) != kernels::WeightFormat::kNone) use_spinning_threads(Spin::kBriefly);
  if (!profile_shape.empty()) return profile(bench::shape(profile_shape), one_beam, a);
  if (!one_shape.empty()) {  // child: one configuration, its own peak RSS
    std::cout << run_one(bench::shape(one_shape), one_beam, a).dump() << std::endl;
    return 0;
  }
  std::printf("decode: batch %d, source %d tokens, %d target tokens per sentence, %d threads, "
              "vocab %d, %d repeats\n", a.batch, a.src_len, a.steps, a.threads, a.vocab, a.repeat);
  std::printf("strata's repetition guards: no_repeat_ngram_size %d, repetition_penalty %g\n\n",
              a.no_repeat_ngram_size, a.repetition_penalty);
  std::printf("| shape | search | strata tok/s | strata peak RSS MB | PyTorch eager tok/s | PyTorch peak RSS MB | strata / PyTorch |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|\n");
  for (int i = 0; i < bench::kDefaultShapes; ++i)
    for (int beam : {1, 4}) {
      const bench::Shape& s = bench::kShapes[i];
      std::string common = " --threads " + std::to_string(a.threads) + " --steps " +
                           std::to_string(a.steps) + " --repeat " + std::to_string(a.repeat) +
                           " --batch " + std::to_string(a.batch);
      // The guards are strata's only (the PyTorch reference decodes without them).
      std::string guards = " --no-repeat-ngram-size " + std::to_string(a.no_repeat_ngram_size) +
                           " --repetition-penalty " + std::to_string(a.repetition_penalty);
      auto ours = bench::run_json(bench::self_exe() + " --one " + s.name + " " +
                                  std::to_string(beam) + common + guards);
      auto ref = bench::run_json("/usr/bin/python3 bench/ref_transformer.py decode --shape " +
                                 s.name + " --beam " + std::to_string(beam) +
                                 " --src-len " + std::to_string(a.src_len) + common);
      double o = ours.is_null() ? 0 : ours["tokens_per_s"].get<double>();
      double r = ref.is_null() ? 0 : ref["tokens_per_s"].get<double>();
      std::printf("| %s | %s | %.0f | %.0f | %s | %s | %s |\n", s.name.c_str(),
                  beam == 1 ? "greedy" : "beam 4", o,
                  ours.is_null() ? 0.0 : ours["peak_rss_mb"].get<double>(),
                  ref.is_null() ? "n/a" : std::to_string(static_cast<int>(r)).c_str(),
                  ref.is_null() ? "n/a" : std::to_string(static_cast<int>(ref["peak_rss_mb"].get<double>())).c_str(),
                  ref.is_null() || r == 0 ? "n/a" : (std::to_string(o / r).substr(0, 4) + "x").c_str());
    }
  return 0;
}
