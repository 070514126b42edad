#include "nmt/util/profile.h"

#include <torch/csrc/autograd/profiler_legacy.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <vector>

namespace strata {

namespace prof = torch::autograd::profiler;

OpProfile::OpProfile() : t0_(std::chrono::steady_clock::now()) {
  prof::enableProfilerLegacy(torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU));
}

OpProfile::~OpProfile() {
  if (running_) prof::disableProfilerLegacy();
}

void OpProfile::print(FILE* out, const std::string& title, int steps) {
  const double wall_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0_).count();
  auto lists = prof::disableProfilerLegacy();
  running_ = false;
  struct Agg {
    double self_us = 0;
    int64_t calls = 0;
  };
  const bool parents = std::getenv("STRATA_PROFILE_PARENTS") != nullptr;
  std::map<std::string, Agg> by_name;
  double top_us = 0;  // time inside top-level ops; the rest is C++ outside any LibTorch op
  for (const auto& list : lists) {
    struct Open {
      const prof::LegacyEvent* ev;
      double child_us;
    };
    std::vector<Open> stack;
    for (const auto& e : list) {
      if (e.kindStr() == "push") {
        stack.push_back({&e, 0.0});
      } else if (e.kindStr() == "pop" && !stack.empty()) {
        Open o = stack.back();
        stack.pop_back();
        double total = o.ev->cpuElapsedUs(e);
        auto& g = by_name[parents && !stack.empty() ? std::string(stack.back().ev->name()) + " > " + o.ev->name()
                                                    : std::string(o.ev->name())];
        g.self_us += total - o.child_us;
        g.calls += 1;
        if (stack.empty()) top_us += total;
        else stack.back().child_us += total;
      }
    }
  }
  std::vector<std::pair<std::string, Agg>> rows(by_name.begin(), by_name.end());
  std::sort(rows.begin(), rows.end(), [](const auto& x, const auto& y) { return x.second.self_us > y.second.self_us; });
  const int n = std::max(steps, 1);
  std::fprintf(out, "profile: %s; %d steps; wall %.1f ms/step, inside LibTorch ops %.1f ms/step\n\n", title.c_str(),
               steps, wall_us / 1000 / n, top_us / 1000 / n);
  std::fprintf(out, "| op | self ms/step | %% of wall | calls/step |\n|---|---:|---:|---:|\n");
  double shown = 0;
  for (size_t i = 0; i < rows.size() && i < 20; ++i) {
    shown += rows[i].second.self_us;
    std::fprintf(out, "| %s | %.2f | %.1f | %ld |\n", rows[i].first.c_str(), rows[i].second.self_us / 1000 / n,
                 100 * rows[i].second.self_us / wall_us, static_cast<long>(rows[i].second.calls / n));
  }
  std::fprintf(out, "| (all other ops) | %.2f | %.1f | |\n", (top_us - shown) / 1000 / n,
               100 * (top_us - shown) / wall_us);
  std::fprintf(out, "| (outside LibTorch ops) | %.2f | %.1f | |\n", (wall_us - top_us) / 1000 / n,
               100 * (wall_us - top_us) / wall_us);
}

}  // namespace strata
