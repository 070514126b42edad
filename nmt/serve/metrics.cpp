#include "nmt/serve/metrics.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace strata::nmt::serve {

namespace {

// The shortest of %.15g..%.17g that reads back as v.
std::string number(double v) {
  char buf[64];
  for (int p = 15; p <= 17; ++p) {
    std::snprintf(buf, sizeof buf, "%.*g", p, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

// One histogram's lines from per-bucket (non-cumulative) counts.
std::string histogram(const std::string& name, const std::vector<double>& bounds, const std::vector<int64_t>& counts,
                      double sum, int64_t count) {
  std::string s;
  int64_t cumulative = 0;
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += counts[i];
    s += name + "_bucket{le=\"" + number(bounds[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  s += name + "_bucket{le=\"+Inf\"} " + std::to_string(count) + "\n";
  s += name + "_sum " + number(sum) + "\n";
  s += name + "_count " + std::to_string(count) + "\n";
  return s;
}

size_t bucket(const std::vector<double>& bounds, double v) {
  return static_cast<size_t>(std::lower_bound(bounds.begin(), bounds.end(), v) - bounds.begin());
}

}  // namespace

Metrics::Metrics(std::vector<double> latency_bounds, std::vector<double> batch_bounds)
    : latency_bounds_(std::move(latency_bounds)),
      batch_bounds_(std::move(batch_bounds)),
      latency_counts_(latency_bounds_.size() + 1, 0) {}

void Metrics::record(const std::string& path, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{path, status}];
  ++latency_counts_[bucket(latency_bounds_, seconds)];
  latency_sum_ += seconds;
  ++latency_count_;
}

std::string Metrics::render(const QueueStats& queue, const std::map<int, int64_t>& batch_sizes) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string s =
      "# HELP strata_requests_total HTTP requests answered, by path and status.\n"
      "# TYPE strata_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    s += "strata_requests_total{path=\"" + key.first + "\",status=\"" + std::to_string(key.second) + "\"} " +
         std::to_string(n) + "\n";
  s += "# HELP strata_request_duration_seconds Time to answer a request (the handler's, without the network).\n"
       "# TYPE strata_request_duration_seconds histogram\n";
  s += histogram("strata_request_duration_seconds", latency_bounds_, latency_counts_, latency_sum_, latency_count_);
  std::vector<int64_t> batch_counts(batch_bounds_.size() + 1, 0);
  double batch_sum = 0;
  int64_t batches = 0;
  for (const auto& [size, n] : batch_sizes) {
    batch_counts[bucket(batch_bounds_, size)] += n;
    batch_sum += static_cast<double>(size) * static_cast<double>(n);
    batches += n;
  }
  s += "# HELP strata_batch_requests Requests translated together in one batch.\n"
       "# TYPE strata_batch_requests histogram\n";
  s += histogram("strata_batch_requests", batch_bounds_, batch_counts, batch_sum, batches);
  s += "# HELP strata_queue_length Requests waiting for translation.\n"
       "# TYPE strata_queue_length gauge\n"
       "strata_queue_length " + std::to_string(queue.queued) + "\n"
       "# HELP strata_translated_lines_total Lines translated.\n"
       "# TYPE strata_translated_lines_total counter\n"
       "strata_translated_lines_total " + std::to_string(queue.lines) + "\n";
  return s;
}

}  // namespace strata::nmt::serve
