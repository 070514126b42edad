#pragma once
// Dynamic batching for `strata serve` (issue 23): requests from every connection wait in one queue;
// one worker thread takes the oldest, gathers the other waiting requests of the same direction
// (target language, and source language when the model needs it: LMS) and n-best size until the
// batch holds `max_tokens` source tokens or `max_wait_ms` have passed since the oldest arrived,
// translates them in one call and hands each request its own lines back.
//
//   TranslationQueue q(batch_fn, cost_fn, QueueOptions{}, /*by_source=*/false);
//   auto f = q.submit({{"Hello"}, "en", "de", 1});   // nullopt: the queue is full (HTTP 429)
//   JobResult r = f->get();                          // r[line][k]: k-th best translation
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace strata::nmt::serve {

struct QueueOptions {
  int max_tokens = 4000;  // source tokens per batch (a request larger than that goes alone)
  int max_wait_ms = 5;    // how long the oldest request waits for others to join its batch
  int max_queued = 256;   // requests waiting; beyond that submit() refuses
};

// The batch a job was translated in (for the request's log line).
struct BatchInfo {
  int requests = 0;   // jobs in the batch
  int64_t lines = 0;  // lines in the batch
};

struct Job {
  std::vector<std::string> lines;
  std::string src, tgt;  // src may be empty when the model does not need it
  int nbest = 1;
  std::shared_ptr<BatchInfo> batch;  // optional: filled before the job's result is ready
};

using JobResult = std::vector<std::vector<std::string>>;  // [line][k]

// Translates the lines of one batch (one direction, one n-best size): [line][k].
using BatchFn = std::function<JobResult(const std::vector<std::string>& lines, const std::string& src,
                                        const std::string& tgt, int nbest)>;
// Source tokens of one line (the batch bound).
using CostFn = std::function<int64_t(const std::string& line)>;

struct QueueStats {
  int64_t batches = 0, jobs = 0, lines = 0;
  int64_t queued = 0;  // now
};

class TranslationQueue {
 public:
  TranslationQueue(BatchFn translate, CostFn cost, QueueOptions options, bool by_source);
  ~TranslationQueue();  // stop(), then joins the worker
  TranslationQueue(const TranslationQueue&) = delete;
  TranslationQueue& operator=(const TranslationQueue&) = delete;

  // Queues a job; the future gets its translations or the exception its batch threw. nullopt
  // when the queue holds max_queued jobs or is stopped.
  std::optional<std::future<JobResult>> submit(Job job);
  // Refuses new jobs; the worker finishes the queued ones and exits.
  void stop();
  QueueStats stats() const;
  // How many batches of each size (jobs per batch) ran so far, for /metrics and tests.
  std::map<int, int64_t> batch_sizes() const;

 private:
  struct Pending {
    Job job;
    std::promise<JobResult> promise;
    std::chrono::steady_clock::time_point arrived;
    int64_t cost = 0;
  };
  void work();
  bool same_batch(const Job& a, const Job& b) const;

  BatchFn translate_;
  CostFn cost_;
  QueueOptions options_;
  bool by_source_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  QueueStats stats_;
  std::map<int, int64_t> sizes_;
  std::thread worker_;
};

}  // namespace strata::nmt::serve
