#pragma once
// Shared by the benchmark programs: model shapes, child-process runs, JSON parsing.
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <functional>
#include <map>
#include <vector>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "kernels/linear.h"
#include "nmt/model/packable.h"
#include "nmt/model/transformer.h"
#include "nmt/util/profile.h"

namespace strata::bench {

struct Shape {
  std::string name;
  int64_t d, heads, ffn, enc, dec;
};
// base: Transformer-base; quickstart: configs/quickstart.yaml; small: the issue 5/6/7 experiments'
// dense shape (configs/experiments/core8_dense.yaml). The tables run the first two by default.
inline const Shape kShapes[] = {{"base", 512, 8, 2048, 6, 6},
                                {"quickstart", 128, 4, 512, 3, 3},
                                {"small", 256, 4, 1024, 3, 3}};
inline const int kDefaultShapes = 2;

// A named shape, or a custom one written d:heads:ffn:encoder_layers:decoder_layers (e.g. 256:4:1024:4:2).
inline Shape shape(const std::string& name) {
  for (const auto& s : kShapes)
    if (name == s.name) return s;
  Shape c{name, 0, 0, 0, 0, 0};
  if (std::sscanf(name.c_str(), "%ld:%ld:%ld:%ld:%ld", &c.d, &c.heads, &c.ffn, &c.enc, &c.dec) == 5 &&
      c.d > 0 && c.heads > 0 && c.d % c.heads == 0 && c.ffn > 0 && c.enc > 0 && c.dec > 0)
    return c;
  std::fprintf(stderr, "unknown shape %s (base, quickstart, small or d:heads:ffn:enc:dec)\n", name.c_str());
  std::exit(2);
}

// experts > 0: a Switch model (top-1, dropless at inference) with that many experts in every
// other layer, the dense shape otherwise.
inline nmt::Transformer make_model(const Shape& s, int64_t vocab, int experts = 0) {
  torch::manual_seed(0);
  moe::MoeConfig mo;
  if (experts > 0) {
    mo.type = "switch";
    mo.num_experts = experts;
  }
  return nmt::Transformer(nmt::TransformerOptions(vocab).d_model(s.d).heads(s.heads).ffn(s.ffn)
                              .encoder_layers(s.enc).decoder_layers(s.dec).dropout(0.0)
                              .max_positions(1024).moe(mo));
}

// The model as an int8 checkpoint loaded int8-only leaves it (nmt/model/checkpoint.cpp,
// `strata translate -m model.int8.pt --compute-type int8`): built with its packable weights
// deferred (kernels::DeferredStorage), then each packable layer in turn gets random float32
// weights (uniform in ±1/√fan-in), quantized and released (set_int8_weight), so at most one
// layer's float32 weights exist at a time and none remain.
inline nmt::Transformer make_int8_only_model(const Shape& s, int64_t vocab, int experts = 0) {
  nmt::Transformer m{nullptr};
  {
    kernels::DeferredStorage deferred(kernels::Deferred::kPackable);
    m = make_model(s, vocab, experts);
  }
  torch::NoGradGuard no_grad;
  const auto packable = nmt::packable_modules(*m);
  const auto params = m->named_parameters();
  for (const auto& [prefix, mod] : packable) {
    for (const auto& p : params)  // the released weights this layer owns get random float32 ones
      if (kernels::is_released(p.value()) && nmt::packable_owner(packable, p.key()).first == mod) {
        const double a = 1.0 / std::sqrt(static_cast<double>(p.value().size(-1)));
        p.value().set_data(torch::empty(p.value().sizes()).uniform_(-a, a));
      }
    for (const auto& [name, w] : mod->int8_weights()) mod->set_int8_weight(name, w, /*release=*/true);
  }
  return m;
}

inline double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

// Runs a command that prints one JSON line; returns it (null JSON on failure).
inline nlohmann::json run_json(const std::string& cmd) {
  std::FILE* p = popen(cmd.c_str(), "r");
  if (!p) return nullptr;
  std::string out;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  int rc = pclose(p);
  if (rc != 0) return nullptr;
  try {
    return nlohmann::json::parse(out.substr(out.rfind('{')));
  } catch (...) {
    return nullptr;
  }
}

inline std::string self_exe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, n) : "";
}

// Op-level profile (nmt/util/profile.h): runs `step` `repeat` times and prints the table.
inline void print_profile(const std::string& title, int repeat, const std::function<void()>& step) {
  OpProfile p;
  for (int r = 0; r < repeat; ++r) step();
  p.print(stdout, title, repeat);
}

}  // namespace strata::bench
