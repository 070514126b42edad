#include "moe/expert_store.h"

#include <algorithm>

namespace strata::moe {

int64_t CachedExpert::bytes() const {
  int64_t n = 0;
  for (const auto* t : {&w.w1, &w.b1, &w.w2})
    if (t->defined()) n += static_cast<int64_t>(t->nbytes());
  for (const auto* p : {&packed1, &packed2})
    if (p->defined()) n += p->bytes();
  return n;
}

ExpertCache::ExpertCache(int64_t budget_bytes) : budget_(budget_bytes) {
  TORCH_CHECK(budget_bytes >= 0, "expert cache: budget must be >= 0 bytes, got ", budget_bytes);
}

std::shared_ptr<const CachedExpert> ExpertCache::lookup(const Key& k) {
  auto it = slots_.find(k);
  if (it == slots_.end()) return nullptr;
  ++stats_.hits;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  it->second.batch = std::max(it->second.batch, batch_);
  return it->second.expert;
}

void ExpertCache::insert(const Key& k, std::shared_ptr<const CachedExpert> x, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.misses;
  stats_.load_seconds += seconds;
  if (slots_.count(k)) return;  // another thread made it meanwhile; keep the first
  lru_.push_front(k);
  Slot& s = slots_[k];
  s.expert = std::move(x);
  s.bytes = s.expert->bytes();
  last_bytes_[k.first] = s.bytes;
  s.lru = lru_.begin();
  s.batch = batch_;
  stats_.resident_bytes += s.bytes;
  stats_.peak_bytes = std::max(stats_.peak_bytes, stats_.resident_bytes);
}

bool ExpertCache::prefetch_fits(const Key& k) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = slots_.find(k);
  if (it != slots_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    it->second.batch = std::max(it->second.batch, batch_ + 1);
    return true;
  }
  const auto last = last_bytes_.find(k.first);
  if (last != last_bytes_.end() && !make_room_for(last->second, false)) {
    ++stats_.prefetch_skipped;
    return false;
  }
  return true;
}

bool ExpertCache::insert_prefetched(const Key& k, std::shared_ptr<const CachedExpert> x, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.prefetch_seconds += seconds;
  const int64_t bytes = x->bytes();
  last_bytes_[k.first] = bytes;
  if (slots_.count(k)) return true;  // made meanwhile on the decoding thread
  if (!make_room_for(bytes, true)) {
    ++stats_.prefetch_skipped;
    return false;
  }
  ++stats_.prefetched;
  lru_.push_front(k);
  Slot& s = slots_[k];
  s.expert = std::move(x);
  s.bytes = bytes;
  s.lru = lru_.begin();
  s.batch = batch_ + 1;
  stats_.resident_bytes += bytes;
  stats_.peak_bytes = std::max(stats_.peak_bytes, stats_.resident_bytes);
  return true;
}

void ExpertCache::settle(const void* layer, int64_t e) {
  std::lock_guard<std::mutex> lock(mu_);
  const Key k{layer, e};
  auto it = slots_.find(k);
  if (it != slots_.end()) {  // packed weights grow on first use (oneDNN's reordered copies)
    const int64_t now = it->second.expert->bytes();
    stats_.resident_bytes += now - it->second.bytes;
    it->second.bytes = now;
    stats_.peak_bytes = std::max(stats_.peak_bytes, stats_.resident_bytes);
  }
  evict_to(budget_);
}

void ExpertCache::evict_to(int64_t budget) {
  auto it = lru_.end();
  while (stats_.resident_bytes > budget && it != lru_.begin()) {
    --it;
    auto slot = slots_.find(*it);
    stats_.resident_bytes -= slot->second.bytes;
    ++stats_.evictions;
    slots_.erase(slot);
    it = lru_.erase(it);
  }
}

bool ExpertCache::make_room_for(int64_t bytes, bool evict) {
  if (stats_.resident_bytes + bytes <= budget_) return true;
  int64_t stale = 0;
  for (const auto& [k, slot] : slots_)
    if (slot.batch < batch_) stale += slot.bytes;
  if (stats_.resident_bytes - stale + bytes > budget_) return false;
  for (auto it = lru_.end(); evict && stats_.resident_bytes + bytes > budget_ && it != lru_.begin();) {
    --it;
    auto slot = slots_.find(*it);
    if (slot->second.batch >= batch_) continue;
    stats_.resident_bytes -= slot->second.bytes;
    ++stats_.evictions;
    slots_.erase(slot);
    it = lru_.erase(it);
  }
  return true;
}

void ExpertCache::begin_batch() {
  std::lock_guard<std::mutex> lock(mu_);
  ++batch_;
}

void ExpertCache::drop(const void* layer) {
  std::lock_guard<std::mutex> lock(mu_);
  last_bytes_.erase(layer);
  for (auto it = lru_.begin(); it != lru_.end();) {
    if (it->first != layer) {
      ++it;
      continue;
    }
    auto slot = slots_.find(*it);
    stats_.resident_bytes -= slot->second.bytes;
    slots_.erase(slot);
    it = lru_.erase(it);
  }
}

ExpertCacheStats ExpertCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace strata::moe
