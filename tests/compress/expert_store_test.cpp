// moe/expert_store and restoring compressed experts on dispatch: the cache's LRU order and byte
// accounting against a hand-worked sequence, an Experts module fed by a source computes exactly
// what the resident module computes (float32, int8, bfloat16), the budget is never exceeded beyond
// the expert in use, and a compressed checkpoint loaded with LoadOptions::expert_memory translates
// token for token and score for score like the same checkpoint restored at load time.
#include <gtest/gtest.h>

#include <functional>

#include "kernels/linear.h"
#include "moe/dispatch.h"
#include "moe/expert_store.h"
#include "nmt/cli/options.h"
#include "nmt/compress/resmoe.h"
#include "nmt/decode/translator.h"
#include "nmt/model/checkpoint.h"
#include "nmt/util/error.h"
#include "tests/tiny_checkpoint.h"

namespace strata {
namespace {

// An expert of `floats` numbers (w1 only; b1, w2 empty) with value v, for the cache's accounting.
moe::CachedExpert expert_of(int64_t floats, float v) {
  moe::CachedExpert c;
  c.w.w1 = torch::full({floats}, v);
  return c;
}

// A cache of two 1 KiB experts (256 floats each) and two layers, a and b; `make` counts the
// experts it makes.
class ExpertCachePrefetchTest : public ::testing::Test {
 protected:
  static constexpr int64_t kb = 1024;
  moe::ExpertCache cache{2 * kb};
  int a = 0, b = 0;
  int made = 0;
  std::function<moe::CachedExpert()> make = [this] {
    ++made;
    return expert_of(256, 1.0f);
  };
};

// Within one batch (no begin_batch) a prefetch never evicts.
TEST_F(ExpertCachePrefetchTest, WithinABatchNeverEvictsAndSkipsWhatCannotFit) {
  EXPECT_TRUE(cache.prefetch(&a, 0, make));   // {a0}
  EXPECT_TRUE(cache.prefetch(&a, 1, make));   // {a1, a0}: full
  EXPECT_TRUE(cache.prefetch(&a, 0, make));   // resident: not made again, now the most recent
  EXPECT_FALSE(cache.prefetch(&b, 0, make));  // made (b's size unknown), does not fit: dropped
  EXPECT_FALSE(cache.prefetch(&b, 1, make));  // b's last expert would not fit: not even made
  EXPECT_EQ(made, 3);
  auto s = cache.stats();
  EXPECT_EQ(s.prefetched, 2);
  EXPECT_EQ(s.prefetch_skipped, 2);
  EXPECT_EQ(s.evictions, 0);
  EXPECT_EQ(s.misses, 0);
  EXPECT_EQ(s.resident_bytes, 2 * kb);
  // Use: the prefetched experts are hits; a miss then evicts the least recent, a1 (a0 was touched).
  cache.get(&a, 0, make);
  cache.settle(&a, 0);
  cache.get(&b, 0, make);
  cache.settle(&b, 0);
  s = cache.stats();
  EXPECT_EQ(s.hits, 1);
  EXPECT_EQ(s.misses, 1);
  EXPECT_EQ(s.evictions, 1);
  EXPECT_TRUE(cache.prefetch(&a, 0, make));  // still resident
  EXPECT_EQ(made, 4);
}

// Across batches a prefetch may evict, but only stale experts: those the batch decoding now has
// not used and that were not prefetched for the next one; least recently used first.
TEST_F(ExpertCachePrefetchTest, EvictsOnlyWhatTheCurrentAndNextBatchDoNotHold) {
  auto use = [&](const void* layer, int64_t e) {
    cache.get(layer, e, make);
    cache.settle(layer, e);
  };
  EXPECT_TRUE(cache.prefetch(&a, 0, make));  // for batch 1: {a0}
  EXPECT_TRUE(cache.prefetch(&a, 1, make));  // {a1, a0}: full
  cache.begin_batch();                       // batch 1 decodes; a0, a1 were brought in for it
  EXPECT_FALSE(cache.prefetch(&b, 0, make)); // for batch 2: nothing stale, b0 dropped
  use(&a, 1);
  use(&a, 0);                                // a0 the most recent
  EXPECT_EQ(cache.stats().evictions, 0);
  cache.begin_batch();                       // batch 2: a0, a1 are stale now
  EXPECT_TRUE(cache.prefetch(&b, 0, make));  // evicts a1, the least recent stale one: {b0, a0}
  auto s = cache.stats();
  EXPECT_EQ(s.evictions, 1);
  EXPECT_EQ(s.resident_bytes, 2 * kb);
  use(&a, 0);                                // hit; batch 2 uses a0
  EXPECT_FALSE(cache.prefetch(&b, 1, make)); // a0 in use, b0 for the next batch: not even made
  s = cache.stats();
  EXPECT_EQ(s.hits, 3);
  EXPECT_EQ(s.misses, 0);
  EXPECT_EQ(s.prefetched, 3);
  EXPECT_EQ(s.prefetch_skipped, 2);
  EXPECT_EQ(made, 4);
  use(&b, 0);                                // the prefetched b0: a hit
  EXPECT_EQ(cache.stats().hits, 4);
}

TEST(ExpertCacheTest, EvictsLeastRecentlyUsedAndCountsBytesByHand) {
  const int64_t kb = 1024;  // 256 floats
  moe::ExpertCache cache(2 * kb);
  int a = 0, b = 0;  // two layers
  int made = 0;
  auto get = [&](const void* layer, int64_t e) {
    auto x = cache.get(layer, e, [&] {
      ++made;
      return expert_of(256, static_cast<float>(e));
    });
    EXPECT_EQ(x->w.w1[0].item<float>(), static_cast<float>(e));
    cache.settle(layer, e);
  };
  get(&a, 0);  // miss: {a0}
  get(&b, 0);  // miss: {b0, a0}, full
  get(&a, 0);  // hit: a0 most recent
  get(&a, 1);  // miss: evicts b0 (least recent) -> {a1, a0}
  get(&b, 0);  // miss again: evicts a0 -> {b0, a1}
  get(&a, 1);  // hit
  get(&a, 0);  // miss: evicts b0
  const auto s = cache.stats();
  EXPECT_EQ(made, 5);
  EXPECT_EQ(s.misses, 5);
  EXPECT_EQ(s.hits, 2);
  EXPECT_EQ(s.evictions, 3);
  EXPECT_EQ(s.resident_bytes, 2 * kb);
  EXPECT_EQ(s.peak_bytes, 3 * kb);  // the new expert before settle() evicts
  cache.drop(&a);
  EXPECT_EQ(cache.stats().resident_bytes, 0);

  // A budget below one expert keeps nothing after each use.
  moe::ExpertCache none(kb / 2);
  for (int i = 0; i < 3; ++i) {
    none.get(&a, 0, [] { return expert_of(256, 0); });
    none.settle(&a, 0);
    EXPECT_EQ(none.stats().resident_bytes, 0);
  }
  EXPECT_EQ(none.stats().misses, 3);
}

// A source that hands out copies of a resident module's experts (counting loads).
class CopySource : public moe::ExpertSource {
 public:
  explicit CopySource(const moe::ExpertsImpl& x)
      : w1_(x.w1.detach().clone()), b1_(x.b1.detach().clone()), w2_(x.w2.detach().clone()) {}
  moe::ExpertWeights load(int64_t e) const override {
    ++loads;
    return {w1_[e].clone(), b1_[e].clone(), w2_[e].clone()};
  }
  int64_t num_experts() const override { return w1_.size(0); }
  mutable int loads = 0;

 private:
  torch::Tensor w1_, b1_, w2_;
};

TEST(ExpertSourceTest, ExpertsFromASourceComputeExactlyWhatResidentExpertsComputeWithinBudget) {
  torch::manual_seed(3);
  const int64_t E = 4, d = 16, n = 48;
  moe::Experts resident(E, d, n), fed(E, d, n);
  {
    torch::NoGradGuard g;
    resident->b1.normal_(0, 0.1);
    resident->b2.normal_(0, 0.1);
    for (auto& p : fed->named_parameters()) p.value().copy_(*resident->named_parameters().find(p.key()));
  }
  resident->eval();
  fed->eval();
  auto source = std::make_shared<CopySource>(*fed);
  const int64_t one = (d * n + n + n * d) * 4;  // bytes of one f32 expert
  auto cache = std::make_shared<moe::ExpertCache>(one);  // room for one expert
  fed->set_source(source, cache);
  EXPECT_TRUE(fed->has_source());
  EXPECT_TRUE(torch::isnan(fed->w1).all().item<bool>());  // placeholders, not silent zeros
  EXPECT_EQ(fed->w1.sizes(), resident->w1.sizes());
  const std::vector<int64_t> counts = {3, 0, 5, 2};
  auto x = torch::randn({10, d});
  torch::NoGradGuard g;
  for (const auto type : {kernels::ComputeType::kFloat32, kernels::ComputeType::kInt8,
                          kernels::ComputeType::kBfloat16}) {
    if (type == kernels::ComputeType::kInt8 && !kernels::int8_is_fast()) continue;
    if (type == kernels::ComputeType::kBfloat16 && !kernels::bf16_is_fast()) continue;
    kernels::ComputeTypeGuard guard(type);
    kernels::pack_weights(*resident, type);
    kernels::pack_weights(*fed, type);
    auto want = resident->forward(x, counts);
    for (int round = 0; round < 2; ++round) {
      EXPECT_TRUE(torch::equal(fed->forward(x, counts), want)) << static_cast<int>(type);
      const auto s = cache->stats();
      EXPECT_LE(s.resident_bytes, cache->budget());
      // Packed experts hold oneDNN's reordered copies on top of their data: the peak is at most
      // the budget plus the expert in use.
      EXPECT_LE(s.peak_bytes, cache->budget() + 2 * one);
    }
    for (int64_t e : {0, 2}) EXPECT_TRUE(torch::allclose(fed->expert(e, x), resident->expert(e, x), 1e-5, 1e-6));
  }
  EXPECT_GT(source->loads, 3);  // one expert fits: the others are loaded again on every pass
  fed->train();
  EXPECT_THROW(fed->forward(x, counts), c10::Error);
}

TEST(ExpertSourceTest, MemorySizesParseWithUnitsAndShares) {
  EXPECT_EQ(cli::parse_memory_size("64MB", "m").bytes, 64000000);
  EXPECT_EQ(cli::parse_memory_size("1.5GiB", "m").bytes, 1610612736);
  EXPECT_EQ(cli::parse_memory_size("0B", "m").bytes, 0);
  EXPECT_DOUBLE_EQ(cli::parse_memory_size("25%", "m").share, 0.25);
  EXPECT_DOUBLE_EQ(cli::parse_memory_size("0.5", "m").share, 0.5);
  for (const char* bad : {"", "MB", "-1MB", "3", "120%", "12 parsecs", "nanMB", "1e30GB"})
    EXPECT_THROW(cli::parse_memory_size(bad, "m"), Error) << bad;
}

TEST(ExpertSourceTest, CompressedCheckpointRestoredOnDispatchTranslatesLikeRestoredAtLoad) {
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  auto tiny = test::save_tiny_checkpoint(d, data_yaml, "moe", test::kSwitchEveryLayer);
  nmt::Checkpoint ck = nmt::load_checkpoint(tiny.path);
  nmt::compress::CompressOptions o;
  o.compression = 0.5;
  auto compressed = nmt::compress::compress_model(*ck.model, o, {}, {}, nullptr);
  const std::string small = d / "small.pt";
  nmt::save_checkpoint(small, ck.config, ck.langs, ck.spm_model, ck.model, nullptr, nullptr,
                       nullptr, &compressed);
  const std::vector<std::string> lines = {"open the file", "save", "print the copy of the file"};
  auto run = [&](const nmt::LoadOptions& lo, kernels::ComputeType type,
                 std::shared_ptr<moe::ExpertCache>* cache) {
    nmt::Translator tr(nmt::load_checkpoint(small, lo));
    tr.set_compute_type(type);
    auto opt = tr.default_options();
    opt.beam = 2;
    opt.nbest = 2;
    auto out = tr.translate(lines, "de", opt, 2);
    if (cache) *cache = tr.checkpoint().expert_cache;
    return out;
  };
  const int64_t one = [&] {
    auto* x = nmt::compress::experts_modules(*ck.model)[0].second;
    return (2 * x->w1.size(1) + 1) * x->w1.size(2) * 4;
  }();
  for (const auto type : {kernels::ComputeType::kFloat32, kernels::ComputeType::kInt8}) {
    if (type == kernels::ComputeType::kInt8 && !kernels::int8_is_fast()) continue;
    const auto want = run({}, type, nullptr);
    for (int64_t budget : {int64_t{0}, one, int64_t{1} << 30}) {
      nmt::LoadOptions lo;
      lo.expert_memory = budget;
      std::shared_ptr<moe::ExpertCache> cache;
      const auto got = run(lo, type, &cache);
      ASSERT_TRUE(cache) << budget;
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_EQ(got[i].size(), want[i].size());
        for (size_t k = 0; k < got[i].size(); ++k) {
          EXPECT_EQ(got[i][k].text, want[i][k].text) << budget << " " << lines[i];
          EXPECT_EQ(got[i][k].score, want[i][k].score) << budget << " " << lines[i];
        }
      }
      const auto s = cache->stats();
      EXPECT_GT(s.misses, 0);
      EXPECT_LE(s.resident_bytes, budget);
      if (budget == 0) EXPECT_EQ(s.hits, 0);
      if (budget == (int64_t{1} << 30)) EXPECT_EQ(s.evictions, 0);
      if (type == kernels::ComputeType::kFloat32) EXPECT_LE(s.peak_bytes, budget + one);
    }
  }
  // A share of the dense size: 4 layers × 4 experts here, so 25% holds 4 experts.
  nmt::LoadOptions share;
  share.expert_memory_share = 0.25;
  auto ck2 = nmt::load_checkpoint(small, share);
  int64_t dense = 0;
  for (const auto& [name, layer] : ck2.compressed)
    dense += layer.num_experts() * layer.ffn * (2 * layer.d_model() + 1) * 4;
  EXPECT_EQ(ck2.expert_cache->budget(), dense / 4);
}

}  // namespace
}  // namespace strata
