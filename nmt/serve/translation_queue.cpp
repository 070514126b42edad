#include "nmt/serve/translation_queue.h"

#include <exception>
#include <stdexcept>

namespace strata::nmt::serve {

TranslationQueue::TranslationQueue(BatchFn translate, CostFn cost, QueueOptions options, bool by_source)
    : translate_(std::move(translate)), cost_(std::move(cost)), options_(options), by_source_(by_source) {
  worker_ = std::thread([this] { work(); });
}

TranslationQueue::~TranslationQueue() {
  stop();
  if (worker_.joinable()) worker_.join();
}

std::optional<std::future<JobResult>> TranslationQueue::submit(Job job) {
  Pending p;
  for (const auto& l : job.lines) p.cost += cost_(l);
  p.job = std::move(job);
  p.arrived = std::chrono::steady_clock::now();
  auto f = p.promise.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || static_cast<int>(queue_.size()) >= options_.max_queued) return std::nullopt;
    queue_.push_back(std::move(p));
    stats_.queued = static_cast<int64_t>(queue_.size());
  }
  cv_.notify_all();
  return f;
}

void TranslationQueue::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

QueueStats TranslationQueue::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

std::map<int, int64_t> TranslationQueue::batch_sizes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sizes_;
}

bool TranslationQueue::same_batch(const Job& a, const Job& b) const {
  return a.tgt == b.tgt && a.nbest == b.nbest && (!by_source_ || a.src == b.src);
}

void TranslationQueue::work() {
  for (;;) {
    std::vector<Pending> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      // The oldest request waits up to max_wait_ms (from its arrival) for others to join.
      const auto deadline = queue_.front().arrived + std::chrono::milliseconds(options_.max_wait_ms);
      auto fill = [&] {
        int64_t cost = 0;
        for (const auto& p : queue_)
          if (same_batch(p.job, queue_.front().job)) cost += p.cost;
        return cost;
      };
      while (!stopping_ && fill() < options_.max_tokens && std::chrono::steady_clock::now() < deadline)
        cv_.wait_until(lock, deadline);
      // Take the oldest and every later request of its direction that still fits.
      const Job first = queue_.front().job;
      int64_t cost = 0;
      for (auto it = queue_.begin(); it != queue_.end();) {
        if (same_batch(it->job, first) && (batch.empty() || cost + it->cost <= options_.max_tokens)) {
          cost += it->cost;
          batch.push_back(std::move(*it));
          it = queue_.erase(it);
        } else {
          ++it;
        }
      }
      stats_.queued = static_cast<int64_t>(queue_.size());
    }
    std::vector<std::string> lines;
    for (const auto& p : batch) lines.insert(lines.end(), p.job.lines.begin(), p.job.lines.end());
    // The batch is counted before any of its futures is ready: a caller that has its result
    // sees its batch in stats() and batch_sizes().
    auto count = [&] {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.batches;
      stats_.jobs += static_cast<int64_t>(batch.size());
      stats_.lines += static_cast<int64_t>(lines.size());
      ++sizes_[static_cast<int>(batch.size())];
    };
    JobResult all;
    try {
      all = translate_(lines, batch.front().job.src, batch.front().job.tgt, batch.front().job.nbest);
      if (all.size() != lines.size())
        throw std::runtime_error("translation queue: " + std::to_string(all.size()) + " results for " +
                                 std::to_string(lines.size()) + " lines");
    } catch (...) {
      count();
      for (auto& p : batch) p.promise.set_exception(std::current_exception());
      continue;
    }
    count();
    size_t at = 0;
    for (auto& p : batch) {
      JobResult mine(all.begin() + static_cast<std::ptrdiff_t>(at),
                     all.begin() + static_cast<std::ptrdiff_t>(at + p.job.lines.size()));
      at += p.job.lines.size();
      if (p.job.batch) *p.job.batch = BatchInfo{static_cast<int>(batch.size()), static_cast<int64_t>(lines.size())};
      p.promise.set_value(std::move(mine));
    }
  }
}

}  // namespace strata::nmt::serve
