// Hash routing (moe/hash_router.h) and the layer-type and router registries (moe/registry.h):
// the layer equals a per-token loop over the fixed map, is batch-invariant, has the experts'
// exact gradients, and is usable from YAML like every registered router.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "nmt/util/error.h"
#include "moe/hash_router.h"
#include "moe/moe_layer.h"
#include "moe/registry.h"
#include "nmt/config.h"
#include "nmt/model/checkpoint.h"
#include "tests/torch_test_util.h"

using namespace strata::moe;

namespace {

constexpr int64_t kVocab = 50, kExperts = 4, kD = 6;

MoeLayer hash_layer(uint64_t seed = 3) {
  torch::manual_seed(seed);
  MoeLayer m(MoeLayerOptions(kD, 10, kExperts).router("hash").vocab_size(kVocab).hash_seed(7)
                 .capacity_factor(0.5));  // ignored: hash routing is dropless
  m->to(torch::kDouble);
  return m;
}

// The per-token loop: y_t = FFN_{table[id_t]}(x_t), zero for padding.
torch::Tensor naive_hash(MoeLayer& m, const torch::Tensor& x, const torch::Tensor& pad,
                         const torch::Tensor& ids) {
  auto table = hash_table(kVocab, kExperts, 7);
  auto flat = x.reshape({-1, kD});
  auto p = pad.reshape({-1}), id = ids.reshape({-1});
  std::vector<torch::Tensor> rows;
  for (int64_t t = 0; t < flat.size(0); ++t)
    rows.push_back(p[t].item<bool>() ? torch::zeros({kD}, x.options())
                                     : m->experts->expert(table[id[t].item<int64_t>()].item<int64_t>(),
                                                          flat[t]));
  return torch::stack(rows).view(x.sizes());
}

}  // namespace

TEST(HashRouterTest, TableIsBalancedAndDependsOnlyOnItsSeed) {
  auto a = hash_table(kVocab, kExperts, 7);
  auto counts = torch::bincount(a, {}, kExperts);
  EXPECT_EQ(counts.sum().item<int64_t>(), kVocab);
  EXPECT_LE((counts.max() - counts.min()).item<int64_t>(), 1) << counts;
  torch::manual_seed(1);
  auto b = hash_table(kVocab, kExperts, 7);
  torch::manual_seed(2);
  EXPECT_TRUE(torch::equal(b, hash_table(kVocab, kExperts, 7)));  // not the global generator
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, hash_table(kVocab, kExperts, 8)));
}

TEST(HashRouterTest, LayerEqualsPerTokenLoopAndIsBatchInvariant) {
  auto m = hash_layer();
  torch::NoGradGuard ng;
  for (bool training : {true, false}) {
    m->train(training);
    auto x = torch::randn({3, 5, kD}, torch::kDouble);
    auto ids = torch::randint(kVocab, {3, 5}, torch::kLong);
    auto pad = torch::zeros({3, 5}, torch::kBool);
    pad[1].slice(0, 3).fill_(true);
    pad[2].slice(0, 1).fill_(true);
    MoeOutput out = m->forward(x, pad, torch::Tensor(), ids);
    EXPECT_TRUE(torch::allclose(out.output, naive_hash(m, x, pad, ids), 1e-12, 1e-12));
    EXPECT_EQ(out.drop_rate, 0.0);
    EXPECT_EQ(out.top1[5].item<int64_t>(), hash_table(kVocab, kExperts, 7)[ids[1][0]].item<int64_t>());
    EXPECT_EQ(out.top1[8].item<int64_t>(), -1);  // padding is not routed
    // Each sentence alone gives the rows it got in the batch.
    for (int64_t b = 0; b < 3; ++b) {
      MoeOutput alone = m->forward(x.slice(0, b, b + 1), pad.slice(0, b, b + 1), torch::Tensor(), ids.slice(0, b, b + 1));
      // (to double rounding: the BLAS may sum in another order for another row count on some CPUs)
      EXPECT_TRUE(torch::allclose(alone.output[0], out.output[b], 1e-12, 1e-12)) << b;
    }
  }
}

TEST(HashRouterTest, GradientsMatchFiniteDifferences) {
  auto m = hash_layer();
  auto ids = torch::randint(kVocab, {2, 3}, torch::kLong);
  auto pad = torch::zeros({2, 3}, torch::kBool);
  pad[1][2] = true;
  auto f = [&](const torch::Tensor& x) { return m->forward(x.view({2, 3, kD}), pad, torch::Tensor(), ids).output.pow(2).sum(); };
  strata::test::expect_input_grad_matches_fd(f, torch::randn({2, 3 * kD}, torch::kDouble));
  // The experts' weights: autograd against central differences on a few entries of W1 and W2.
  auto x = torch::randn({2, 3 * kD}, torch::kDouble);
  m->zero_grad();
  f(x).backward();
  const double h = 1e-6;
  for (auto* w : {&m->experts->w1, &m->experts->w2})
    for (int64_t i = 0; i < 6; ++i) {
      int64_t e = i % kExperts, r = i % w->size(1), c = (3 * i) % w->size(2);
      torch::NoGradGuard ng;
      double keep = (*w)[e][r][c].item<double>();
      (*w)[e][r][c] = keep + h;
      double fp = f(x).item<double>();
      (*w)[e][r][c] = keep - h;
      double fm = f(x).item<double>();
      (*w)[e][r][c] = keep;
      EXPECT_NEAR(w->grad()[e][r][c].item<double>(), (fp - fm) / (2 * h), 1e-6) << e << r << c;
    }
  EXPECT_GT(m->experts->w1.grad().abs().sum().item<double>(), 0);
}

TEST(HashRouterTest, UsableFromYamlInATransformerWithIncrementalDecoding) {
  auto c = strata::nmt::parse_config(
      "model: {d_model: 16, heads: 2, ffn: 32, encoder_layers: 2, decoder_layers: 2, dropout: 0,\n"
      "        max_positions: 32, moe: {type: switch, router: hash, num_experts: 4,\n"
      "        every_k_layers: 1, hash_seed: 5}}\ntrain: {max_len: 30}\n", "h.yaml");
  EXPECT_EQ(c.model.moe.router, "hash");
  EXPECT_EQ(c.model.moe.hash_seed, 5);
  EXPECT_EQ(strata::nmt::to_yaml(strata::nmt::parse_config(strata::nmt::to_yaml(c), "y")),
            strata::nmt::to_yaml(c));
  torch::manual_seed(4);
  auto m = strata::nmt::build_model(c.model, 60);
  m->eval();
  // Every layer's router holds the same map, kept as a buffer (so checkpoints carry it).
  int tables = 0;
  for (const auto& b : m->named_buffers())
    if (b.key().find("hash_table") != std::string::npos) {
      EXPECT_TRUE(torch::equal(b.value(), hash_table(60, 4, 5))) << b.key();
      ++tables;
    }
  EXPECT_EQ(tables, 4);
  auto src = torch::tensor({{5, 6, 7, 8, 3}, {9, 10, 3, 0, 0}}, torch::kLong);
  auto prev = torch::tensor({{2, 11, 12, 13}, {2, 14, 15, 16}}, torch::kLong);
  strata::test::expect_incremental_equals_full(m, src, prev, "", /*moe_layers=*/4);
}

TEST(MoeRegistryTest, NamesTheRegisteredEntriesAndRejectsOthersInOneLine) {
  EXPECT_EQ(router_names(), (std::vector<std::string>{"topk", "sigma", "ac", "hash"}));
  EXPECT_EQ(layer_type_names(), (std::vector<std::string>{"switch", "gshard", "smoe"}));
  EXPECT_EQ(layer_type("gshard").default_top_k, 2);
  EXPECT_TRUE(router_type("sigma").dropless);
  EXPECT_THROW(router_type("soft"), c10::Error);
  auto expect_error = [](const std::string& yaml, const std::string& needle) {
    try {
      strata::nmt::parse_config(yaml, "x.yaml");
      ADD_FAILURE() << yaml;
    } catch (const strata::Error& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find(needle), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
  };
  expect_error("model: {moe: {type: dense}}\n",
               "x.yaml: model.moe.type: must be none, switch, gshard or smoe, got 'dense'");
  expect_error("model: {moe: {type: switch, router: hash, shared_router: true}}\n",
               "model.moe.shared_router: the hash router has no learned weight to share");
  expect_error("model: {moe: {type: gshard, router: hash}}\n",
               "model.moe.top_k: must be in [1, 1] for model.moe.router hash");
  expect_error("model: {moe: {type: switch, ac_dispersion: std}}\n",
               "x.yaml: model.moe.ac_dispersion: must be mad or var, got 'std'");
}
