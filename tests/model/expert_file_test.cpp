// nmt/model/expert_file: experts written to a memory-mapped file and read on dispatch. Every
// expert reads back bit for bit; a model reading its experts from the file within a budget
// translates token for token and score for score like the model holding them (Switch top-1,
// GShard top-2, σ-MoE top-3 and SMoE; greedy and beam), and the budget holds beyond the expert in
// use; truncated, corrupt and foreign files give one-line errors; concurrent readers of one file
// agree; a slim checkpoint never allocates its experts.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <fstream>
#include <thread>

#include "moe/dispatch.h"
#include "moe/expert_store.h"
#include "nmt/decode/translator.h"
#include "nmt/model/checkpoint.h"
#include "nmt/model/expert_file.h"
#include "nmt/util/error.h"
#include "tests/tiny_checkpoint.h"

namespace strata {
namespace {

std::vector<std::pair<std::string, moe::ExpertsImpl*>> experts_of(nmt::TransformerImpl& m) {
  std::vector<std::pair<std::string, moe::ExpertsImpl*>> out;
  for (const auto& x : m.named_modules())
    if (auto* e = x.value()->as<moe::ExpertsImpl>()) out.emplace_back(x.key(), e);
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ExpertFileTest, EveryExpertReadsBackBitForBitAndBadFilesAreRefused) {
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  auto tiny = test::save_tiny_checkpoint(d, data_yaml, "moe", test::kSwitchEveryLayer);
  nmt::Checkpoint ck = nmt::load_checkpoint(tiny.path);
  ASSERT_FALSE(ck.digest.empty());
  const std::string path = d / "m.experts";
  nmt::write_expert_file(path, *ck.model, ck.digest);
  const auto layers = experts_of(*ck.model);
  {
    nmt::ExpertFile f(path);
    EXPECT_EQ(f.checkpoint_digest(), ck.digest);
    ASSERT_EQ(f.layers().size(), layers.size());
    for (size_t l = 0; l < layers.size(); ++l) {
      const auto* x = layers[l].second;
      EXPECT_EQ(f.layers()[l].module, layers[l].first);
      EXPECT_EQ(f.expert_bytes(l), 4 * (2 * x->w1.size(1) * x->w1.size(2) + x->w1.size(2)));
      for (int64_t e = 0; e < x->w1.size(0); ++e) {
        const auto w = f.read(l, e);
        EXPECT_TRUE(torch::equal(w.w1, x->w1[e])) << l << " " << e;
        EXPECT_TRUE(torch::equal(w.b1, x->b1[e])) << l << " " << e;
        EXPECT_TRUE(torch::equal(w.w2, x->w2[e])) << l << " " << e;
        EXPECT_TRUE(w.w1.is_contiguous() && w.w2.is_contiguous());
      }
    }
    // Concurrent readers of one mapping agree with the single-threaded reads.
    std::vector<std::thread> threads;
    std::atomic<int> wrong{0};
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        for (int rep = 0; rep < 5; ++rep)
          for (size_t l = 0; l < layers.size(); ++l)
            for (int64_t e = (t + rep) % 2; e < layers[l].second->w1.size(0); e += 2)
              if (!torch::equal(f.read(l, e).w2, layers[l].second->w2[e])) ++wrong;
      });
    for (auto& t : threads) t.join();
    EXPECT_EQ(wrong.load(), 0);
  }
  const auto bytes = std::filesystem::file_size(path);
  // One flipped byte in an expert: that expert is refused when read, naming the file.
  const std::string bad = d / "bad.experts";
  std::filesystem::copy_file(path, bad);
  {
    nmt::ExpertFile f(path);
    std::fstream io(bad, std::ios::in | std::ios::out | std::ios::binary);
    const auto& l = f.layers()[1];
    // (offsets are absolute after opening)
    io.seekp(static_cast<std::streamoff>(l.offsets[2] + 100));
    char c = 0x5a;
    io.write(&c, 1);
  }
  {
    nmt::ExpertFile f(bad);
    EXPECT_NO_THROW(f.read(1, 1));
    const std::string err = error_of([&] { f.read(1, 2); });
    EXPECT_NE(err.find(bad + ": corrupt expert file (expert 2 of "), std::string::npos) << err;
  }
  // Truncated, not an expert file, missing.
  const std::string cut = d / "cut.experts";
  std::filesystem::copy_file(path, cut);
  std::filesystem::resize_file(cut, bytes - 4096);
  EXPECT_NE(error_of([&] { nmt::ExpertFile f(cut); }).find(cut + ": truncated"), std::string::npos);
  test::write_file(d / "text.experts", "hello, world");
  EXPECT_NE(error_of([&] { nmt::ExpertFile f(d / "text.experts"); }).find("not a Strata expert file"),
            std::string::npos);
  EXPECT_NE(error_of([&] { nmt::ExpertFile f(d / "none.experts"); }).find("cannot open"), std::string::npos);
  // The file of another checkpoint (same shapes, other weights) is refused at load time.
  {
    torch::NoGradGuard ng;
    layers[0].second->w1.add_(1.0);
  }
  nmt::save_checkpoint(d / "other.pt", ck.config, ck.langs, ck.spm_model, ck.model, nullptr, nullptr);
  nmt::LoadOptions lo;
  lo.expert_file = path;
  lo.expert_memory = 1 << 20;
  EXPECT_NE(error_of([&] { nmt::load_checkpoint(d / "other.pt", lo); }).find("written for another checkpoint"),
            std::string::npos);
  // Without a budget the file is refused too (the CLI asks for --expert-memory).
  lo.expert_memory = -1;
  EXPECT_NE(error_of([&] { nmt::load_checkpoint(tiny.path, lo); }).find("needs an expert memory budget"),
            std::string::npos);
  // A dense model has nothing to write.
  auto dense = test::save_tiny_checkpoint(d, data_yaml, "dense", "");
  nmt::Checkpoint dk = nmt::load_checkpoint(dense.path);
  EXPECT_THROW(nmt::write_expert_file(d / "dense.experts", *dk.model, dk.digest), Error);
}

TEST(ExpertFileTest, ExpertsReadOnDispatchTranslateExactlyLikeResidentExperts) {
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  const std::vector<std::string> lines = {"open the file", "save", "print the copy of the file", ""};
  // Exact mode works whatever the router (the real one decides): Switch, GShard, σ-MoE (sigmoid
  // gates, top-3) and SMoE (one Experts module per layer, its strata passes).
  for (const std::string moe : {test::kSwitchEveryLayer,
                                std::string("moe: {type: gshard, num_experts: 4, every_k_layers: 1}"),
                                std::string("moe: {type: switch, num_experts: 4, top_k: 3, every_k_layers: 1, router: sigma}"),
                                std::string("moe: {type: smoe, num_experts: 4, every_k_layers: 1, strata: [2, 2]}")}) {
    const std::string name = moe.find("gshard") != std::string::npos  ? "gshard"
                             : moe.find("sigma") != std::string::npos ? "sigma"
                             : moe.find("smoe") != std::string::npos  ? "smoe"
                                                                      : "switch";
    auto tiny = test::save_tiny_checkpoint(d, data_yaml, name, moe);
    nmt::Checkpoint ck = nmt::load_checkpoint(tiny.path);
    const std::string path = d / "m.experts";
    std::filesystem::remove(path);
    nmt::write_expert_file(path, *ck.model, ck.digest);
    const int64_t one = [&] {
      auto* x = experts_of(*ck.model)[0].second;
      return (2 * x->w1.size(1) + 1) * x->w1.size(2) * 4;
    }();
    for (int beam : {1, 3}) {
      auto run = [&](const nmt::LoadOptions& lo, std::shared_ptr<moe::ExpertCache>* cache) {
        nmt::Translator tr(nmt::load_checkpoint(tiny.path, lo));
        auto opt = tr.default_options();
        opt.beam = beam;
        opt.nbest = beam;
        auto out = tr.translate(lines, "de", opt, 2);
        if (cache) *cache = tr.checkpoint().expert_cache;
        return out;
      };
      const auto want = run({}, nullptr);
      for (int64_t budget : {int64_t{0}, one, 3 * one, int64_t{1} << 30}) {
        nmt::LoadOptions lo;
        lo.expert_file = path;
        lo.expert_memory = budget;
        std::shared_ptr<moe::ExpertCache> cache;
        const auto got = run(lo, &cache);
        ASSERT_TRUE(cache);
        ASSERT_EQ(got.size(), want.size());
        for (size_t i = 0; i < got.size(); ++i) {
          ASSERT_EQ(got[i].size(), want[i].size());
          for (size_t k = 0; k < got[i].size(); ++k) {
            EXPECT_EQ(got[i][k].text, want[i][k].text) << moe << " beam " << beam << " budget " << budget;
            EXPECT_EQ(got[i][k].score, want[i][k].score) << moe << " beam " << beam << " budget " << budget;
          }
        }
        const auto s = cache->stats();
        EXPECT_GT(s.misses, 0);
        EXPECT_LE(s.resident_bytes, budget);
        EXPECT_LE(s.peak_bytes, budget + one);  // never more than the budget and the expert in use
        if (budget == 0) EXPECT_EQ(s.hits, 0);
        if (budget == one) EXPECT_GT(s.evictions, 0);  // a stream needing more experts than fit
        if (budget == (int64_t{1} << 30)) EXPECT_EQ(s.evictions, 0);
      }
    }
  }
}

// A slim checkpoint (save_slim_checkpoint) holds everything but the experts' w1/b1/w2; loaded
// with its expert file, the model never allocates them (kernels::DeferredStorage) and translates
// token for token and score for score like the whole checkpoint; without it, or with another
// checkpoint's expert file, it is refused.
TEST(ExpertFileTest, SlimCheckpointNeverAllocatesItsExpertsAndTranslatesLikeTheWholeOne) {
  {
    kernels::DeferredStorage deferred(kernels::Deferred::kExperts);
    moe::Experts x(8, 16, 32);
    for (const auto* t : {&x->w1, &x->b1, &x->w2}) EXPECT_LE(t->storage().nbytes(), 4u);
    EXPECT_EQ(x->w1.sizes(), torch::IntArrayRef({8, 16, 32}));
    EXPECT_EQ(x->b2.storage().nbytes(), 8u * 16 * 4);  // b2 is not in the expert file
  }
  EXPECT_FALSE(kernels::DeferredStorage::defers(kernels::Deferred::kExperts));
  EXPECT_EQ(moe::Experts(8, 16, 32)->w1.storage().nbytes(), 8u * 16 * 32 * 4);

  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  auto tiny = test::save_tiny_checkpoint(d, data_yaml, "moe", test::kSwitchEveryLayer);
  nmt::Checkpoint ck = nmt::load_checkpoint(tiny.path);
  const std::string file = d / "m.experts", slim = d / "m.slim.pt";
  nmt::write_expert_file(file, *ck.model, ck.digest);
  nmt::save_slim_checkpoint(slim, ck);
  int64_t expert_bytes = 0;
  for (const auto& [name, x] : experts_of(*ck.model))
    for (const auto* t : {&x->w1, &x->b1, &x->w2}) expert_bytes += static_cast<int64_t>(t->nbytes());
  EXPECT_LT(std::filesystem::file_size(slim) + expert_bytes * 9 / 10, std::filesystem::file_size(tiny.path));

  EXPECT_NE(error_of([&] { nmt::load_checkpoint(slim); }).find(slim + ": a slim checkpoint"), std::string::npos);
  nmt::LoadOptions lo;
  lo.expert_file = file;
  lo.expert_memory = 0;
  {
    nmt::Checkpoint s = nmt::load_checkpoint(slim, lo);
    EXPECT_TRUE(s.slim);
    EXPECT_EQ(s.digest, ck.digest);  // expert files and predictors of the whole checkpoint fit
    for (const auto& [name, x] : experts_of(*s.model)) {
      EXPECT_TRUE(x->has_source()) << name;
      for (const auto* t : {&x->w1, &x->b1, &x->w2}) EXPECT_LE(t->storage().nbytes(), 4u) << name;
    }
  }
  const std::vector<std::string> lines = {"open the file", "save", "print the copy of the file"};
  for (int beam : {1, 3}) {
    auto run = [&](const std::string& path, const nmt::LoadOptions& o) {
      nmt::Translator tr(nmt::load_checkpoint(path, o));
      auto opt = tr.default_options();
      opt.beam = beam;
      opt.nbest = beam;
      return tr.translate(lines, "de", opt, 2);
    };
    const auto want = run(tiny.path, {});
    for (int64_t budget : {int64_t{0}, int64_t{1} << 30}) {
      lo.expert_memory = budget;
      const auto got = run(slim, lo);
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_EQ(got[i].size(), want[i].size());
        for (size_t k = 0; k < got[i].size(); ++k) {
          EXPECT_EQ(got[i][k].text, want[i][k].text) << "beam " << beam << " budget " << budget;
          EXPECT_EQ(got[i][k].score, want[i][k].score) << "beam " << beam << " budget " << budget;
        }
      }
    }
  }
  // Another checkpoint's expert file (same shapes, other weights) and a dense model are refused.
  {
    torch::NoGradGuard ng;
    experts_of(*ck.model)[0].second->w1.add_(1.0);
  }
  nmt::save_checkpoint(d / "other.pt", ck.config, ck.langs, ck.spm_model, ck.model, nullptr, nullptr);
  nmt::Checkpoint other = nmt::load_checkpoint(d / "other.pt");
  nmt::write_expert_file(d / "other.experts", *other.model, other.digest);
  lo.expert_file = d / "other.experts";
  EXPECT_NE(error_of([&] { nmt::load_checkpoint(slim, lo); }).find("written for another checkpoint"),
            std::string::npos);
  auto dense = test::save_tiny_checkpoint(d, data_yaml, "dense", "");
  EXPECT_NE(error_of([&] { nmt::save_slim_checkpoint(d / "dense.slim.pt", nmt::load_checkpoint(dense.path)); })
                .find("no MoE layers"),
            std::string::npos);
}

}  // namespace
}  // namespace strata
