#pragma once
// Experts whose weights are not resident: an Experts module can take its experts' weights from an
// ExpertSource (e.g. a compressed layer that restores W_c + R̂_e, nmt/model/compressed_experts.h)
// on dispatch, through an ExpertCache shared by every layer of a model and bounded in bytes.
//
//   auto cache = std::make_shared<moe::ExpertCache>(64 << 20);       // 64 MiB over all layers
//   experts->set_source(source, cache);   // w1/b1/w2 become NaN placeholders (no storage)
//   auto y = experts(x_sorted, counts);  // each expert with rows: cache hit, or source->load(e)
//   experts->prefetch(e);                 // ahead of use, from another thread (evicts only stale experts)
//
// Eviction: least recently used. An expert is charged what it holds (its f32 weights, or its
// packed int8/bf16 weights with oneDNN's reordered copies, measured after each product), and the
// cache evicts after each expert's product until it is within budget, so at most the expert in
// use is resident beyond the budget. A budget below one expert evicts every expert after its use.
#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "kernels/packed_linear.h"

namespace strata::moe {

// One expert's weights in ExpertsImpl's layout: w1 [d, ffn], b1 [ffn], w2 [ffn, d] (f32,
// contiguous, so products see the same strides as slices of the resident [E, …] tensors).
struct ExpertWeights {
  torch::Tensor w1, b1, w2;
};

class ExpertSource {
 public:
  virtual ~ExpertSource() = default;
  virtual ExpertWeights load(int64_t e) const = 0;
  virtual int64_t num_experts() const = 0;
};

// A resident expert: its f32 weights and, for int8/bf16 compute, the packed forms of w1ᵀ, w2ᵀ.
struct CachedExpert {
  ExpertWeights w;
  kernels::PackedWeight packed1, packed2;
  int64_t bytes() const;
};

struct ExpertCacheStats {
  int64_t hits = 0, misses = 0, evictions = 0;
  int64_t resident_bytes = 0;  // now
  int64_t peak_bytes = 0;      // most ever resident, the expert in use included
  double load_seconds = 0;     // in ExpertSource::load and packing
  // Prefetches (prefetch()): experts brought in ahead of use, and those skipped because they did
  // not fit beside what the current and next batch hold, with the time spent making them.
  int64_t prefetched = 0, prefetch_skipped = 0;
  double prefetch_seconds = 0;
};

class ExpertCache {
 public:
  explicit ExpertCache(int64_t budget_bytes);
  // Expert e of `layer` (an identity: the Experts module), from the cache or made by `make`
  // (which loads and packs it; timed). The entry stays valid while the caller holds it.
  template <typename Make>
  std::shared_ptr<const CachedExpert> get(const void* layer, int64_t e, Make&& make);
  // After a product with `layer`'s expert e: re-measures what it holds and evicts the least
  // recently used experts until the cache is within budget.
  void settle(const void* layer, int64_t e);
  // Brings expert e of `layer` in ahead of its use (a prefetch thread, for the NEXT batch, while
  // the current one decodes): made by `make` unless resident, and kept only if it fits the budget
  // once the experts the current batch may still need are set aside. A prefetch evicts only
  // "stale" experts, least recently used first: those neither used since begin_batch() nor
  // prefetched since the batch before it, so it never takes an expert from the batch decoding
  // now nor one brought in for the next. A resident expert becomes the most recent. Skipped
  // without calling `make` when the last expert made for `layer` would not fit. True when the
  // expert is resident afterwards.
  template <typename Make>
  bool prefetch(const void* layer, int64_t e, Make&& make);
  // A new batch starts decoding (the Translator calls it): what the batches before it used
  // becomes stale, i.e. evictable by prefetch().
  void begin_batch();
  // Drops every expert of `layer` (its compute type changed).
  void drop(const void* layer);
  int64_t budget() const { return budget_; }
  ExpertCacheStats stats() const;

 private:
  using Key = std::pair<const void*, int64_t>;
  struct Slot {
    std::shared_ptr<const CachedExpert> expert;
    int64_t bytes = 0;
    std::list<Key>::iterator lru;  // position in lru_ (front = most recent)
    uint64_t batch = 0;  // last batch that used it (prefetched: the next); stale when < batch_
  };
  std::shared_ptr<const CachedExpert> lookup(const Key& k);  // mu_ held
  void insert(const Key& k, std::shared_ptr<const CachedExpert> x, double seconds);
  bool prefetch_fits(const Key& k);  // resident (made most recent) or likely to fit; counts a skip
  bool insert_prefetched(const Key& k, std::shared_ptr<const CachedExpert> x, double seconds);
  void evict_to(int64_t budget);  // mu_ held
  // mu_ held: whether `bytes` more fit once stale experts are evicted; with `evict`, evicts them
  // (least recent first) until they do.
  bool make_room_for(int64_t bytes, bool evict);

  int64_t budget_;
  mutable std::mutex mu_;
  std::map<Key, Slot> slots_;
  std::list<Key> lru_;
  std::map<const void*, int64_t> last_bytes_;  // per layer: bytes of the expert made last
  uint64_t batch_ = 0;                          // begin_batch() calls
  ExpertCacheStats stats_;
};

// ---------------------------------------------------------------------------------------------

template <typename Make>
std::shared_ptr<const CachedExpert> ExpertCache::get(const void* layer, int64_t e, Make&& make) {
  const Key k{layer, e};
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto hit = lookup(k)) return hit;
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto x = std::make_shared<const CachedExpert>(make());
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  insert(k, x, s);
  return x;
}

template <typename Make>
bool ExpertCache::prefetch(const void* layer, int64_t e, Make&& make) {
  const Key k{layer, e};
  if (!prefetch_fits(k)) return false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (slots_.count(k)) return true;
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto x = std::make_shared<const CachedExpert>(make());
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return insert_prefetched(k, std::move(x), s);
}

}  // namespace strata::moe
