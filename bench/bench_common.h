#pragma once
// Shared by the benchmark programs: model shapes, child-process runs, JSON parsing.
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "nmt/model/transformer.h"

namespace strata::bench {

struct Shape {
  const char* name;
  int64_t d, heads, ffn, layers;
};
inline const Shape kShapes[] = {{"base", 512, 8, 2048, 6}, {"quickstart", 256, 4, 1024, 3}};

inline const Shape& shape(const std::string& name) {
  for (const auto& s : kShapes)
    if (name == s.name) return s;
  std::fprintf(stderr, "unknown shape %s\n", name.c_str());
  std::exit(2);
}

inline nmt::Transformer make_model(const Shape& s, int64_t vocab) {
  torch::manual_seed(0);
  return nmt::Transformer(nmt::TransformerOptions(vocab).d_model(s.d).heads(s.heads).ffn(s.ffn)
                              .encoder_layers(s.layers).decoder_layers(s.layers).dropout(0.0)
                              .max_positions(1024));
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

}  // namespace strata::bench
