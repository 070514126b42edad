// nmt/compress/resmoe and nmt/model/compressed_experts: the barycenter on cases with a known
// answer, permutation invariance of an expert, exact restoration at s = 0 / full rank / G = E,
// stored sizes against a hand count, equal stored parameters across methods, and the compressed
// checkpoint round trip (restored weights, smaller file, corrupt members rejected).
#include "nmt/compress/resmoe.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "nmt/model/checkpoint.h"
#include "nmt/util/error.h"
#include "tests/tiny_checkpoint.h"

namespace strata::nmt::compress {
namespace {

moe::Experts random_experts(int64_t E, int64_t d, int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  moe::Experts x(E, d, n);
  torch::NoGradGuard g;
  x->b1.normal_(0, 0.1);
  x->b2.normal_(0, 0.1);
  return x;
}

TEST(BarycenterTest, OfIdenticalCloudsIsThatCloudWithObjectiveZero) {
  torch::manual_seed(1);
  auto X = torch::randn({16, 5});
  auto b = wasserstein_barycenter({X, X.clone(), X.clone()});
  EXPECT_TRUE(torch::allclose(b.center.to(torch::kFloat), X, 0, 1e-6));
  EXPECT_NEAR(b.objective.back(), 0.0, 1e-12);
  EXPECT_TRUE(b.converged);
}

TEST(BarycenterTest, OfTwoPermutedCopiesIsEitherWithObjectiveZero) {
  torch::manual_seed(2);
  auto X = torch::randn({32, 7});
  auto perm = torch::randperm(32);
  auto Y = X.index_select(0, perm);
  auto b = wasserstein_barycenter({X, Y});
  EXPECT_TRUE(torch::allclose(b.center.to(torch::kFloat), X, 0, 1e-6));  // started at X
  EXPECT_NEAR(b.objective.back(), 0.0, 1e-10);
  // The alignment of Y puts its rows back in X's order.
  EXPECT_TRUE(torch::equal(permute_rows(Y, b.perms[1]), X));
}

TEST(BarycenterTest, ObjectiveNeverIncreasesAndTheCenterIsTheMeanOfTheAlignedClouds) {
  torch::manual_seed(3);
  std::vector<torch::Tensor> clouds;
  for (int e = 0; e < 5; ++e) clouds.push_back(torch::randn({24, 6}, torch::kDouble));
  auto b = wasserstein_barycenter(clouds);
  ASSERT_TRUE(b.converged);
  for (size_t t = 1; t < b.objective.size(); ++t) EXPECT_LE(b.objective[t], b.objective[t - 1] + 1e-12);
  EXPECT_LT(b.objective.back(), b.objective.front());
  auto mean = torch::zeros({24, 6}, torch::kDouble);
  for (int e = 0; e < 5; ++e) mean += permute_rows(clouds[e], b.perms[e]) / 5.0;
  EXPECT_TRUE(torch::allclose(b.center, mean, 0, 1e-12));
  // At the fixed point every alignment is optimal for the center: no swap of two rows is cheaper.
  for (int e = 0; e < 5; ++e) {
    auto A = permute_rows(clouds[e], b.perms[e]);
    auto cost = (b.center - A).pow(2).sum().item<double>();
    for (int64_t i = 0; i < 24; ++i)
      for (int64_t j = i + 1; j < 24; ++j) {
        auto p = b.perms[e];
        std::swap(p[i], p[j]);
        EXPECT_GE((b.center - permute_rows(clouds[e], p)).pow(2).sum().item<double>(), cost - 1e-9);
      }
  }
}

TEST(CompressedExpertsTest, PermutingAnExpertsNeuronsKeepsItsFunction) {
  auto ex = random_experts(3, 8, 12, 4);
  auto x = torch::randn({5, 8});
  auto before = ex->expert(1, x);
  // Store expert 1's neurons in a random order as the "center" of a merge with G = E.
  CompressedExperts c;
  c.method = "merge";
  c.ffn = 12;
  c.b2 = ex->b2.detach().clone();
  c.group = torch::arange(3);
  std::vector<torch::Tensor> centers;
  for (int64_t e = 0; e < 3; ++e) {
    auto p = torch::randperm(12);
    centers.push_back(expert_features(*ex, e).index_select(0, p));
  }
  c.centers = torch::stack(centers);
  c.validate(*ex, "test");
  auto copy = random_experts(3, 8, 12, 5);
  c.restore_into(*copy);
  EXPECT_FALSE(torch::allclose(copy->w1[1], ex->w1[1]));  // other order
  EXPECT_TRUE(torch::allclose(copy->expert(1, x), before, 1e-5, 1e-6));
}

TEST(CompressedExpertsTest, BitPackingRoundTrips) {
  torch::manual_seed(6);
  for (int64_t m : {1, 7, 8, 9, 100}) {
    auto mask = torch::rand({3, m}).lt(0.4);
    auto bits = pack_bits(mask);
    EXPECT_EQ(bits.size(1), (m + 7) / 8);
    EXPECT_TRUE(torch::equal(unpack_bits(bits, m), mask));
  }
  // LSB first: entry 0 is bit 0 of byte 0.
  auto one = torch::zeros({1, 9}, torch::kBool);
  one[0][0] = true;
  one[0][8] = true;
  auto b = pack_bits(one);
  EXPECT_EQ(b[0][0].item<int>(), 1);
  EXPECT_EQ(b[0][1].item<int>(), 1);
}

// |X̂ − P X| over the layer, via what restore_into writes: expert outputs on random inputs.
double max_output_change(moe::ExpertsImpl& original, const CompressedExperts& c) {
  auto copy = random_experts(original.w1.size(0), original.w1.size(1), original.w1.size(2), 99);
  c.restore_into(*copy);
  auto x = torch::randn({6, original.w1.size(1)});
  double worst = 0;
  for (int64_t e = 0; e < original.w1.size(0); ++e)
    worst = std::max(worst, (copy->expert(e, x) - original.expert(e, x)).abs().max().item<double>());
  return worst;
}

TEST(CompressTest, NothingRemovedRestoresEveryExpertExactly) {
  auto ex = random_experts(4, 6, 10, 7);
  const int64_t D = 13, n = 10;
  CompressOptions o;
  for (auto [method, residual] : {std::pair{Method::kResMoe, Residual::kPrune},
                                  {Method::kResMoe, Residual::kSvd},
                                  {Method::kPrune, Residual::kPrune},
                                  {Method::kSvd, Residual::kPrune},
                                  {Method::kMerge, Residual::kPrune}}) {
    o = CompressOptions();
    o.method = method;
    o.residual = residual;
    if (method == Method::kMerge) o.groups = 4;                  // G = E
    else if (method == Method::kSvd || residual == Residual::kSvd) o.rank = std::min(n, D);
    else o.sparsity = 0;
    LayerReport rep;
    auto c = compress_experts(*ex, o, &rep);
    EXPECT_LT(rep.relative_error, 1e-6) << c.method << " " << c.residual();
    EXPECT_LT(max_output_change(*ex, c), 1e-5) << c.method << " " << c.residual();
  }
}

TEST(CompressTest, ResidualShareMatchesAHandCountAndIsOneWithoutACenter) {
  // Two experts of one neuron each (no permutation to choose): the barycenter is their mean, each
  // residual ±(X1 − X2)/2, so the share is |X1 − X2|²/2 / (|X1|² + |X2|²).
  auto ex = random_experts(2, 3, 1, 11);
  const auto x1 = expert_features(*ex, 0), x2 = expert_features(*ex, 1);
  const double want = (x1 - x2).pow(2).sum().item<double>() / 2 /
                      (x1.pow(2).sum() + x2.pow(2).sum()).item<double>();
  CompressOptions o;
  o.sparsity = 0.5;
  LayerReport rep;
  compress_experts(*ex, o, &rep);
  EXPECT_NEAR(rep.residual_share, want, 1e-6);
  o.method = Method::kMerge;
  o.sparsity = -1;
  o.groups = 1;
  compress_experts(*ex, o, &rep);
  EXPECT_NEAR(rep.residual_share, want, 1e-6);
  o.groups = 2;  // every expert its own group: nothing left over
  compress_experts(*ex, o, &rep);
  EXPECT_NEAR(rep.residual_share, 0.0, 1e-12);
  o = CompressOptions();
  o.method = Method::kPrune;
  o.sparsity = 0.5;
  compress_experts(*ex, o, &rep);
  EXPECT_EQ(rep.residual_share, 1.0);
}

TEST(CompressTest, StoredSizesMatchAHandCount) {
  // E 4, d 3, ffn 5: D = 7, 35 entries per expert; sparsity 0.6 keeps round(0.4 · 35) = 14.
  auto ex = random_experts(4, 3, 5, 8);
  CompressOptions o;
  o.method = Method::kPrune;
  o.sparsity = 0.6;
  LayerReport rep;
  auto c = compress_experts(*ex, o, &rep);
  EXPECT_EQ(rep.parameters, 4 * (5 * 7 + 3));                // 152
  EXPECT_EQ(c.values.size(1), 14);
  EXPECT_EQ(rep.stored_parameters, 4 * 14 + 4 * 3);          // values + b2
  // shape (3 i64) + b2 (12 f32) + bitmap (4 × 5 bytes) + values (56 f32)
  EXPECT_EQ(rep.stored_bytes, 3 * 8 + 12 * 4 + 4 * 5 + 56 * 4);
  // The same in int8: values 1 byte each, one f32 scale per expert.
  o.int8 = true;
  c = compress_experts(*ex, o, &rep);
  EXPECT_EQ(rep.stored_bytes, 3 * 8 + 12 * 4 + 4 * 5 + 56 * 1 + 4 * 4);
  // resmoe, rank 2: center (35) + b2 (12) + factors 4 × (5·2 + 2·7).
  o = CompressOptions();
  o.residual = Residual::kSvd;
  o.rank = 2;
  c = compress_experts(*ex, o, &rep);
  EXPECT_EQ(rep.stored_parameters, 35 + 12 + 4 * (10 + 14));
  EXPECT_EQ(rep.stored_bytes, 3 * 8 + (35 + 12 + 4 * 24) * 4 + 4 * 8);  // + group (4 i64)
}

TEST(CompressTest, EveryMethodStoresAboutTheTargetShareAndResMoeBeatsPruningOnSharedExperts) {
  // Experts that share most of their weights up to a permutation of their neurons: what ResMoE
  // is for. At equal stored parameters its error must be far below per-expert pruning and SVD.
  torch::manual_seed(9);
  const int64_t E = 8, d = 16, n = 48;
  auto ex = random_experts(E, d, n, 10);
  {
    torch::NoGradGuard g;
    auto base = expert_features(*ex, 0);
    for (int64_t e = 0; e < E; ++e) {
      auto x = base.index_select(0, torch::randperm(n)) + 0.01 * torch::randn({n, 2 * d + 1});
      ex->w1[e].copy_(x.slice(1, 0, d).t());
      ex->b1[e].copy_(x.select(1, d));
      ex->w2[e].copy_(x.slice(1, d + 1));
    }
  }
  const int64_t P = expert_parameters(*ex);
  double norm = 0;
  for (int64_t e = 0; e < E; ++e) norm += expert_features(*ex, e).pow(2).sum().item<double>();
  const double noise_share = 1e-4 * (1 - 1.0 / E) * static_cast<double>(E * n * (2 * d + 1)) / norm;
  std::map<std::string, double> error;
  for (double c : {0.25, 0.5, 0.75}) {
    for (auto [method, residual] : {std::pair{Method::kResMoe, Residual::kPrune},
                                    {Method::kResMoe, Residual::kSvd},
                                    {Method::kPrune, Residual::kPrune},
                                    {Method::kSvd, Residual::kPrune},
                                    {Method::kMerge, Residual::kPrune}}) {
      CompressOptions o;
      o.method = method;
      o.residual = residual;
      o.compression = c;
      LayerReport rep;
      auto ce = compress_experts(*ex, o, &rep);
      const double kept = static_cast<double>(rep.stored_parameters) / static_cast<double>(P);
      // Within half a sizing unit of the target (the nearest setting): a rank costs E·(n + D), a
      // group n·D, a pruned entry 1 per expert (k is rounded down).
      const int64_t D = 2 * d + 1;
      const double unit = method == Method::kMerge ? n * D : ce.residual() == "lowrank" ? E * (n + D) : E;
      EXPECT_NEAR(kept, 1 - c, 0.5 * unit / static_cast<double>(P) + 1e-9)
          << ce.method << " " << ce.residual() << " " << c;
      error[ce.method + "/" + ce.residual() + "@" + std::to_string(c)] = rep.relative_error;
      // After alignment the experts differ by their N(0, 0.01²) noise only: the residuals carry
      // about (1 − 1/E)·0.01² per entry (the mean absorbs 1/E of it) and the barycenter the rest.
      if (method == Method::kResMoe) EXPECT_NEAR(rep.residual_share / noise_share, 1.0, 0.2) << c;
    }
    const std::string at = "@" + std::to_string(c);
    EXPECT_LT(error["resmoe/sparse" + at], 0.5 * error["prune/sparse" + at]) << c;
    EXPECT_LT(error["resmoe/lowrank" + at], 0.5 * error["svd/lowrank" + at]) << c;
  }
}

TEST(CompressTest, ImpossibleSettingsAreOneLineErrors) {
  auto ex = random_experts(2, 4, 6, 11);
  CompressOptions o;
  o.compression = 0.6;  // the center alone is half of two experts
  try {
    compress_experts(*ex, o, nullptr);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("barycenter"), std::string::npos) << e.what();
  }
  o = CompressOptions();
  o.method = Method::kPrune;
  EXPECT_THROW(compress_experts(*ex, o, nullptr), Error);  // no size given
  o.sparsity = 1;
  EXPECT_THROW(compress_experts(*ex, o, nullptr), Error);  // keeps nothing
}

TEST(CompressedCheckpointTest, RoundTripRestoresTheStoredFormAndRejectsCorruptMembers) {
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  auto tiny = test::save_tiny_checkpoint(d, data_yaml, "moe", test::kSwitchEveryLayer);
  Checkpoint ck = load_checkpoint(tiny.path);
  CompressOptions o;
  o.compression = 0.5;
  std::vector<LayerReport> reports;
  auto compressed = compress_model(*ck.model, o, {"0", "decoder_layers.1.moe.experts"}, {}, &reports);
  ASSERT_EQ(reports.size(), 2u);
  ASSERT_EQ(compressed.size(), 2u);
  EXPECT_THROW(compress_model(*ck.model, o, {"9"}, {}, nullptr), Error);
  const std::string out = d / "small.pt";
  save_checkpoint(out, ck.config, ck.langs, ck.spm_model, ck.model, nullptr, nullptr, nullptr,
                  &compressed);
  Checkpoint back = load_checkpoint(out);
  ASSERT_EQ(back.compressed.size(), 2u);
  auto modules = experts_modules(*back.model);
  auto original = experts_modules(*ck.model);
  for (size_t i = 0; i < modules.size(); ++i) {
    auto it = compressed.find(modules[i].first);
    for (int64_t e = 0; e < modules[i].second->w1.size(0); ++e) {
      // Compressed layers hold the stored form, the others the original weights.
      auto want = it != compressed.end() ? it->second.features(e) : expert_features(*original[i].second, e);
      EXPECT_TRUE(torch::equal(expert_features(*modules[i].second, e), want)) << modules[i].first;
    }
  }
  // Every other tensor is the original's.
  auto a = ck.model->named_parameters(), b = back.model->named_parameters();
  for (const auto& p : a)
    if (p.key().find(".experts.") == std::string::npos)
      EXPECT_TRUE(torch::equal(p.value(), *b.find(p.key()))) << p.key();
  EXPECT_LT(std::filesystem::file_size(out), std::filesystem::file_size(tiny.path));

  // A member that does not match its layer: a bitmap with one bit too many is rejected with the
  // layer's name, even when the checksum is made to match (validation is its own check).
  auto bad = compressed;
  auto& layer = bad.begin()->second;
  layer.bitmap = layer.bitmap.clone();
  auto bits = unpack_bits(layer.bitmap, layer.bitmap.size(1) * 8);
  auto free_bit = bits[0].logical_not().nonzero()[0][0].item<int64_t>();
  bits[0][free_bit] = true;
  layer.bitmap = pack_bits(bits);
  save_checkpoint(d / "bad.pt", ck.config, ck.langs, ck.spm_model, ck.model, nullptr, nullptr,
                  nullptr, &bad);
  try {
    load_checkpoint(d / "bad.pt");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(bad.begin()->first), std::string::npos) << what;
    EXPECT_NE(what.find("bitmap"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace strata::nmt::compress
