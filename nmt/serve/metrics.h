#pragma once
// `GET /metrics` of `strata serve` in Prometheus's text exposition format (version 0.0.4):
// requests by path and status, a histogram of request latency (the handler's time, not the
// network's), a histogram of requests per translation batch, the queue's length now, and lines
// translated.
//
//   Metrics m;
//   m.record("/translate", 200, 0.042);
//   std::string text = m.render(queue.stats(), queue.batch_sizes());
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "nmt/serve/translation_queue.h"

namespace strata::nmt::serve {

class Metrics {
 public:
  // Latency bucket bounds (seconds) and batch-size bounds (requests), ascending; +Inf is implied.
  Metrics(std::vector<double> latency_bounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
          std::vector<double> batch_bounds = {1, 2, 4, 8, 16, 32, 64});
  void record(const std::string& path, int status, double seconds);
  std::string render(const QueueStats& queue, const std::map<int, int64_t>& batch_sizes) const;

 private:
  std::vector<double> latency_bounds_, batch_bounds_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, int64_t> requests_;
  std::vector<int64_t> latency_counts_;  // per bound, not cumulative; last = above every bound
  double latency_sum_ = 0;
  int64_t latency_count_ = 0;
};

}  // namespace strata::nmt::serve
