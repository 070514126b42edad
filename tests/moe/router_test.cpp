// The newer routers (issue 7) against independent references: σ-MoE and AC layers against
// explicit per-token loops on hand-built inputs, a hand-computed MAD case, the Omni-router's one
// shared weight against an untied copy (its gradient = the sum of the per-layer gradients),
// finite differences, and batch-invariant / incremental decoding.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "moe/ac_router.h"
#include "moe/moe_layer.h"
#include "moe/router.h"
#include "moe/sigma_router.h"
#include "nmt/config.h"
#include "nmt/decode/search.h"
#include "nmt/model/transformer.h"
#include "tests/torch_test_util.h"

using namespace strata::moe;

namespace {

MoeLayer make_layer(const std::string& kind, int64_t E, int64_t k, uint64_t seed = 5) {
  torch::manual_seed(seed);
  MoeLayer m(MoeLayerOptions(8, 16, E).top_k(k).capacity_factor(0.5).eval_capacity_factor(0.5)
                 .second_policy(SecondExpertPolicy::kAll).router(kind));
  m->to(torch::kDouble);
  return m;
}

// σ-MoE, one token at a time: s = σ(W x); the k largest s; y = Σ s_e FFN_e(x).
torch::Tensor naive_sigma(MoeLayer& m, const torch::Tensor& x) {
  auto flat = x.reshape({-1, m->options.d_model()});
  auto W = m->router->wg->weight;
  std::vector<torch::Tensor> rows;
  for (int64_t t = 0; t < flat.size(0); ++t) {
    auto s = torch::sigmoid(W.matmul(flat[t]));  // [E]
    std::vector<std::pair<double, int64_t>> order;
    for (int64_t e = 0; e < s.size(0); ++e) order.push_back({s[e].item<double>(), e});
    std::sort(order.begin(), order.end(), [](auto a, auto b) { return a.first > b.first; });
    auto y = torch::zeros({flat.size(1)}, x.options());
    for (int64_t k = 0; k < m->options.top_k(); ++k)
      y = y + s[order[k].second] * m->experts->expert(order[k].second, flat[t]);
    rows.push_back(y);
  }
  return torch::stack(rows).view(x.sizes());
}

// AC weights by loops: dispersion per cluster and feature, then the reference's normalisation.
std::vector<std::vector<double>> naive_ac_weights(const std::vector<std::vector<double>>& disp,
                                                  double eps) {
  const size_t E = disp.size(), d = disp[0].size();
  std::vector<std::vector<double>> w(E, std::vector<double>(d));
  double mean = 0;
  for (size_t k = 0; k < E; ++k)
    for (size_t j = 0; j < d; ++j) mean += (w[k][j] = 1 / (disp[k][j] + eps)) / (E * d);
  for (size_t j = 0; j < d; ++j) {
    double col = 0;
    for (size_t k = 0; k < E; ++k) col += (w[k][j] = std::min(w[k][j], 10 * mean)) / E;
    for (size_t k = 0; k < E; ++k) w[k][j] /= col;
  }
  return w;
}

// The AC layer, one token at a time: logits = W (x ⊙ w[k_t]), top-1/top-2 softmax routing
// without capacity (dropless).
torch::Tensor naive_ac(MoeLayer& m, const torch::Tensor& x, const torch::Tensor& prev,
                       const std::vector<std::vector<double>>& w) {
  auto W = m->router->wg->weight;
  std::vector<torch::Tensor> rows;
  for (int64_t t = 0; t < x.size(0); ++t) {
    auto wt = torch::tensor(w[prev[t].item<int64_t>()], torch::kDouble);
    auto logits = W.matmul(x[t] * wt);
    auto p = torch::softmax(logits, 0);
    auto e1 = logits.argmax().item<int64_t>();
    torch::Tensor y;
    if (m->options.top_k() == 1) {
      y = p[e1] * m->experts->expert(e1, x[t]);
    } else {
      auto l2 = logits.clone();
      l2[e1] = -INFINITY;
      auto e2 = l2.argmax().item<int64_t>();
      y = (p[e1] * m->experts->expert(e1, x[t]) + p[e2] * m->experts->expert(e2, x[t])) /
          (p[e1] + p[e2]);
    }
    rows.push_back(y);
  }
  return torch::stack(rows);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// σ-MoE

TEST(SigmaRouterTest, HandCaseGatesSelectionDropoutAndEntropy) {
  // 3 tokens, 4 experts, K = 2.
  auto logits = torch::tensor({{2.0, -1.0, 0.5, 1.0}, {0.0, 3.0, -2.0, 1.0}, {1.0, 1.5, 2.0, -1.0}},
                              torch::kDouble);
  Routing r = route_sigma(logits, 2);
  EXPECT_TRUE(torch::equal(r.expert, torch::tensor({{0, 3}, {1, 3}, {2, 1}}, torch::kLong)));
  auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
  EXPECT_NEAR(r.gate[0][0].item<double>(), sig(2.0), 1e-12);  // raw σ, not renormalised
  EXPECT_NEAR(r.gate[0][1].item<double>(), sig(1.0), 1e-12);
  EXPECT_NEAR(r.gate[2][1].item<double>(), sig(1.5), 1e-12);
  EXPECT_TRUE(r.keep.all().item<bool>());
  // Entropy regulariser: Σ p̄ log p̄ with p̄ the mean softmax over the 3 tokens.
  double pbar[4] = {0, 0, 0, 0};
  for (int t = 0; t < 3; ++t) {
    double z = 0;
    for (int e = 0; e < 4; ++e) z += std::exp(logits[t][e].item<double>());
    for (int e = 0; e < 4; ++e) pbar[e] += std::exp(logits[t][e].item<double>()) / z / 3;
  }
  double neg_h = 0;
  for (double p : pbar) neg_h += p * std::log(p);
  EXPECT_NEAR(r.aux_loss.item<double>(), neg_h, 1e-12);
  // Expert dropout: masked scores are not selected; the next best takes the slot.
  auto dropped = torch::zeros({3, 4}, torch::kBool);
  dropped[0][0] = true;
  dropped[1][3] = true;
  Routing rd = route_sigma(logits, 2, dropped);
  EXPECT_TRUE(torch::equal(rd.expert, torch::tensor({{3, 2}, {1, 0}, {2, 1}}, torch::kLong)));
  EXPECT_NEAR(rd.gate[0][0].item<double>(), sig(1.0), 1e-12);
  // All but one expert dropped with K = 2: the dropped second choice is not kept.
  auto most = torch::ones({1, 4}, torch::kBool);
  most[0][2] = false;
  Routing r1 = route_sigma(logits.slice(0, 0, 1), 2, most);
  EXPECT_EQ(r1.expert[0][0].item<int64_t>(), 2);
  EXPECT_TRUE(r1.keep[0][0].item<bool>());
  EXPECT_FALSE(r1.keep[0][1].item<bool>());
  EXPECT_EQ(r1.gate[0][1].item<double>(), 0.0);
}

TEST(SigmaMoeLayerTest, MatchesPerTokenLoopDroplessWithGradients) {
  auto m = make_layer("sigma", 4, 3);  // K = 3 of 4; capacity factor 0.5 is ignored
  m->train();  // no expert dropout configured: training = inference
  auto x = torch::randn({3, 5, 8}, torch::kDouble).requires_grad_(true);
  auto x2 = x.detach().clone().requires_grad_(true);
  MoeOutput out = m->forward(x);
  EXPECT_EQ(out.drop_rate, 0.0);
  auto ref = naive_sigma(m, x2);
  EXPECT_TRUE(torch::allclose(out.output, ref, 1e-10, 1e-12));
  auto w = torch::randn_like(ref);
  auto params = m->parameters();
  auto g1 = torch::autograd::grad({(out.output * w).sum()}, {x}, {}, true);
  auto gp1 = torch::autograd::grad({(out.output * w).sum()}, params, {}, false, true);
  auto g2 = torch::autograd::grad({(ref * w).sum()}, {x2}, {}, true);
  auto gp2 = torch::autograd::grad({(ref * w).sum()}, params, {}, false, true);
  EXPECT_TRUE(torch::allclose(g1[0], g2[0], 1e-9, 1e-11));
  for (size_t i = 0; i < params.size(); ++i)
    if (gp1[i].defined() && gp2[i].defined())
      EXPECT_TRUE(torch::allclose(gp1[i], gp2[i], 1e-9, 1e-11)) << i;
  // Finite differences of output and entropy regulariser w.r.t. the input.
  auto ws = torch::randn({4, 8}, torch::kDouble);
  strata::test::expect_input_grad_matches_fd(
      [&](const torch::Tensor& in) {
        auto o = m->forward(in);
        return (o.output * ws).sum() + o.aux_loss;
      },
      torch::randn({4, 8}, torch::kDouble));
}

TEST(SigmaMoeLayerTest, ExpertDropoutOnlyInTrainingAndSigmaInit) {
  torch::manual_seed(3);
  MoeLayer m(MoeLayerOptions(64, 32, 16).top_k(4).router("sigma").expert_dropout(0.5)
                 .init_scale(0.5));
  auto x = torch::randn({200, 64});
  m->eval();
  auto e1 = m->forward(x).top1, e2 = m->forward(x).top1;
  EXPECT_TRUE(torch::equal(e1, e2));
  m->train();
  auto t1 = m->forward(x).top1;
  EXPECT_FALSE(torch::equal(t1, e1));  // half the scores masked: first choices change
  // Init: router rows share one L2 norm and keep std s/√d; W1 std s/√d; W2 std s/√(E·G).
  auto norms = m->router->wg->weight.norm(2, 1);
  EXPECT_NEAR((norms.max() - norms.min()).item<double>(), 0.0, 1e-5);
  EXPECT_NEAR(m->router->wg->weight.std().item<double>(), 0.5 / 8, 0.005);
  EXPECT_NEAR(m->experts->w1.std().item<double>(), 0.5 / 8, 0.002);
  EXPECT_NEAR(m->experts->w2.std().item<double>(), 0.5 / std::sqrt(16.0 * 32), 0.001);
}

// ---------------------------------------------------------------------------------------------
// Adaptive Clustering

TEST(AcRouterTest, HandComputedMadWeights) {
  // Cluster 0: (1, 2), (3, 2) -> mean (2, 2), MAD (1, 0).
  // Cluster 1: (0, 0), (0, 3), (0, 6) -> mean (0, 3), MAD (0, 2).
  auto x = torch::tensor({{1.0, 2.0}, {0.0, 0.0}, {3.0, 2.0}, {0.0, 3.0}, {0.0, 6.0}}, torch::kDouble);
  auto c = torch::tensor({0, 1, 0, 1, 1}, torch::kLong);
  torch::Tensor n;
  auto mad = cluster_dispersion(x, c, 3, Dispersion::kMad, &n);
  auto expect = torch::tensor({{1.0, 0.0}, {0.0, 2.0}, {0.0, 0.0}}, torch::kDouble);
  EXPECT_TRUE(torch::allclose(mad, expect, 1e-12, 1e-12)) << mad;
  EXPECT_TRUE(torch::equal(n, torch::tensor({2, 1 + 2, 0}, torch::kLong)));
  auto var = cluster_dispersion(x, c, 3, Dispersion::kVariance);
  EXPECT_NEAR(var[1][1].item<double>(), (9.0 + 0 + 9.0) / 3, 1e-12);
  // Two clusters: w̃ = 1/(MAD + 1e-4) = [[1/1.0001, 1e4], [1e4, 1/2.0001]]; no clamp (10·mean is
  // larger); each feature divided by its mean over the clusters.
  auto w = ac_feature_weights(mad.slice(0, 0, 2), Dispersion::kMad);
  const double a = 1 / 1.0001, b = 1e4, c2 = 1 / 2.0001;
  EXPECT_NEAR(w[0][0].item<double>(), a / ((a + b) / 2), 1e-9);
  EXPECT_NEAR(w[1][0].item<double>(), b / ((a + b) / 2), 1e-9);
  EXPECT_NEAR(w[0][1].item<double>(), b / ((b + c2) / 2), 1e-9);
  EXPECT_NEAR(w[1][1].item<double>(), c2 / ((b + c2) / 2), 1e-9);
  // With the empty third cluster (D = 0) the clamp at 10·mean(w̃) applies; compare with loops.
  auto w3 = ac_feature_weights(mad, Dispersion::kMad);
  auto ref = naive_ac_weights({{1, 0}, {0, 2}, {0, 0}}, 1e-4);
  for (int k = 0; k < 3; ++k)
    for (int j = 0; j < 2; ++j) EXPECT_NEAR(w3[k][j].item<double>(), ref[k][j], 1e-9) << k << j;
}

TEST(AcRouterTest, LayerMatchesPerTokenLoopWithRunningStatistics) {
  for (int64_t k : {1, 2}) {
    auto m = make_layer("ac", 3, k);
    auto* ac = dynamic_cast<AcRouterImpl*>(m->router.get());
    ASSERT_NE(ac, nullptr);
    // Training: batch statistics, and the running dispersion moves toward them (m = 0.1) for
    // the clusters present; cluster 2 (absent) keeps its initial 1.
    m->train();
    auto xt = torch::randn({12, 8}, torch::kDouble);
    auto ct = torch::tensor({0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1}, torch::kLong);
    m->forward(xt, torch::Tensor(), ct);
    auto batch = cluster_dispersion(xt, ct, 3, Dispersion::kMad);
    EXPECT_TRUE(torch::allclose(ac->running_dispersion.slice(0, 0, 2),
                                0.9 + 0.1 * batch.slice(0, 0, 2), 1e-12, 1e-12));
    EXPECT_TRUE(torch::equal(ac->running_dispersion[2], torch::ones({8}, torch::kDouble)));
    // Evaluation: running statistics only, dropless; equal to the loop.
    m->eval();
    m->options.eval_capacity_factor(0.0);
    auto x = torch::randn({7, 8}, torch::kDouble).requires_grad_(true);
    auto prev = torch::tensor({2, 0, 1, 1, 0, 2, 0}, torch::kLong);
    std::vector<std::vector<double>> disp(3, std::vector<double>(8));
    for (int c = 0; c < 3; ++c)
      for (int j = 0; j < 8; ++j) disp[c][j] = ac->running_dispersion[c][j].item<double>();
    auto w = naive_ac_weights(disp, 1e-4);
    auto out = m->forward(x, torch::Tensor(), prev).output;
    auto ref = naive_ac(m, x, prev, w);
    EXPECT_TRUE(torch::allclose(out, ref, 1e-10, 1e-12)) << "top_k " << k;
    // Finite differences (input and router weight).
    auto wo = torch::randn({7, 8}, torch::kDouble);
    auto f = [&](const torch::Tensor& in) {
      return (m->forward(in, torch::Tensor(), prev).output * wo).sum();
    };
    strata::test::expect_input_grad_matches_fd(f, x);
    const double h = 1e-6;
    auto gw = torch::autograd::grad({f(x.detach())}, {m->router->wg->weight})[0];
    for (int64_t e = 0; e < 3; ++e) {
      torch::NoGradGuard ng;
      auto& W = m->router->wg->weight;
      const double keep = W[e][1].item<double>();
      W[e][1] = keep + h;
      double fp = f(x.detach()).item<double>();
      W[e][1] = keep - h;
      double fm = f(x.detach()).item<double>();
      W[e][1] = keep;
      EXPECT_NEAR(gw[e][1].item<double>(), (fp - fm) / (2 * h), 1e-6) << e;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Routing agreement

TEST(RoutingStatsTest, AgreementAndNormalisedMutualInformation) {
  auto a = torch::tensor({0, 0, 1, 1, -1, 2}, torch::kLong);
  auto b = torch::tensor({1, 1, 0, 0, 0, 2}, torch::kLong);
  EXPECT_NEAR(top1_agreement(a, b), 1.0 / 5, 1e-12);  // padding (-1) skipped
  auto j = joint_counts(a, b, 3);
  EXPECT_TRUE(torch::equal(j, torch::tensor({{0., 2., 0.}, {2., 0., 0.}, {0., 0., 1.}}, torch::kDouble)));
  EXPECT_NEAR(normalized_mutual_information(j), 1.0, 1e-12);  // a relabelling: NMI 1
  // Independent: NMI 0.
  EXPECT_NEAR(normalized_mutual_information(torch::ones({2, 2}, torch::kDouble)), 0.0, 1e-12);
  // Hand case: joint [[2, 1], [0, 1]] / 4.
  auto h = [](std::vector<double> p) {
    double s = 0;
    for (double v : p) s -= v > 0 ? v * std::log(v) : 0;
    return s;
  };
  const double ha = h({0.75, 0.25}), hb = h({0.5, 0.5}), hab = h({0.5, 0.25, 0, 0.25});
  EXPECT_NEAR(normalized_mutual_information(torch::tensor({{2., 1.}, {0., 1.}}, torch::kDouble)),
              2 * (ha + hb - hab) / (ha + hb), 1e-12);
}

// ---------------------------------------------------------------------------------------------
// Inside the Transformer: Omni-router, batch-invariant and incremental decoding.

namespace {
strata::nmt::Transformer router_transformer(const std::string& kind, bool shared, int64_t top_k,
                                            uint64_t seed = 9) {
  torch::manual_seed(seed);
  strata::moe::MoeConfig mo;
  mo.type = top_k == 2 ? "gshard" : "switch";
  mo.num_experts = 4;
  mo.top_k = top_k;
  mo.every_k_layers = 1;
  mo.capacity_factor = 1.0;
  mo.eval_capacity = 0.0;
  mo.router = kind;
  mo.shared_router = shared;
  auto m = strata::nmt::Transformer(strata::nmt::TransformerOptions(30).d_model(16).heads(2)
                                        .ffn(32).encoder_layers(2).decoder_layers(2)
                                        .dropout(0.0).max_positions(32).moe(mo));
  return m;
}
// A Transformer layer's sparse FFN as the MoE layer it is.
MoeLayer moe_of(const std::shared_ptr<SparseFfnBase>& sparse) {
  auto m = std::dynamic_pointer_cast<MoeLayerImpl>(sparse);
  EXPECT_TRUE(m);
  return MoeLayer(m);
}
const torch::Tensor kSrc() { return torch::tensor({{5, 6, 7, 8, 3}, {9, 10, 3, 0, 0}}, torch::kLong); }
const torch::Tensor kPrev() { return torch::tensor({{2, 11, 12, 13}, {2, 14, 15, 0}}, torch::kLong); }
}  // namespace

TEST(OmniRouterTest, OneSharedWeightWhoseGradientIsTheSumOfPerLayerGradients) {
  for (std::string kind : {"topk", "sigma", "ac"}) {
    auto tied = router_transformer(kind, true, kind == "sigma" ? 2 : 1);
    auto untied = router_transformer(kind, false, kind == "sigma" ? 2 : 1, 11);
    // Exactly one router parameter, held by every MoE layer.
    std::vector<std::string> router_params;
    for (const auto& p : tied->named_parameters())
      if (p.key().find("router") != std::string::npos) router_params.push_back(p.key());
    ASSERT_EQ(router_params, std::vector<std::string>{"shared_router.weight"});
    std::vector<MoeLayer> tied_layers, untied_layers;
    for (auto& l : *tied->encoder_layers) tied_layers.push_back(moe_of(l->as<strata::nmt::EncoderLayer>()->sparse));
    for (auto& l : *tied->decoder_layers) tied_layers.push_back(moe_of(l->as<strata::nmt::DecoderLayer>()->sparse));
    for (auto& l : *untied->encoder_layers) untied_layers.push_back(moe_of(l->as<strata::nmt::EncoderLayer>()->sparse));
    for (auto& l : *untied->decoder_layers) untied_layers.push_back(moe_of(l->as<strata::nmt::DecoderLayer>()->sparse));
    ASSERT_EQ(tied_layers.size(), 4u);
    for (auto& l : tied_layers)
      EXPECT_TRUE(l->router->wg->weight.is_same(tied->shared_router->weight));
    // The untied copy: same weights, each layer's own router = the shared weight.
    {
      torch::NoGradGuard ng;
      auto src = tied->named_parameters();
      for (auto& p : untied->named_parameters()) {
        if (p.key().find("router") != std::string::npos) p.value().copy_(tied->shared_router->weight);
        else p.value().copy_(src[p.key()]);
      }
    }
    tied->train();
    untied->train();
    strata::nmt::MoeAux a1, a2;
    auto l1 = tied->forward(kSrc(), kPrev(), &a1);
    auto l2 = untied->forward(kSrc(), kPrev(), &a2);
    ASSERT_TRUE(torch::allclose(l1, l2, 1e-5, 1e-6));
    (l1.pow(2).mean() + 0.1 * a1.aux_loss).backward();
    (l2.pow(2).mean() + 0.1 * a2.aux_loss).backward();
    auto sum = torch::zeros_like(tied->shared_router->weight);
    for (auto& l : untied_layers) sum += l->router->wg->weight.grad();
    EXPECT_GT(sum.abs().sum().item<double>(), 0);
    EXPECT_TRUE(torch::allclose(tied->shared_router->weight.grad(), sum, 1e-4, 1e-7))
        << "router kind " << kind;
    // Agreement of consecutive layers is reported per stack (NaN at each stack's first layer).
    ASSERT_EQ(a1.agreement.size(), 4u);
    EXPECT_TRUE(std::isnan(a1.agreement[0]) && std::isnan(a1.agreement[2]));
    EXPECT_NEAR(a1.agreement[1], top1_agreement(a1.top1[0], a1.top1[1]), 1e-12);
  }
}

TEST(RouterTransformerTest, AcAndSigmaDecodingIsIncrementalAndBatchInvariant) {
  for (std::string kind : {"sigma", "ac"}) {
    for (bool shared : {false, true}) {
      auto m = router_transformer(kind, shared, 2);
      // A few training passes give the AC router non-trivial running statistics.
      m->train();
      for (int i = 0; i < 3; ++i) m->forward(kSrc(), kPrev());
      m->eval();
      torch::NoGradGuard ng;
      auto full = torch::log_softmax(m->forward(kSrc(), kPrev()), -1);
      auto state = m->start(m->encode(kSrc()));
      for (int64_t t = 0; t < 3; ++t)
        EXPECT_TRUE(torch::allclose(m->step(kPrev().select(1, t), state), full.select(1, t), 1e-4, 1e-5))
            << "kind " << kind << " step " << t;
      auto a = torch::tensor({{5, 6, 7, 8, 3}}, torch::kLong);
      auto b = torch::tensor({{9, 10, 3}}, torch::kLong);
      strata::nmt::SearchOptions so;
      so.beam = 2;
      so.banned = {0, 2};
      so.max_len_a = 1;
      so.max_len_b = 3;
      auto alone_a = strata::nmt::beam_search(m, a, {2}, 3, so);
      auto alone_b = strata::nmt::beam_search(m, b, {2}, 3, so);
      auto both = strata::nmt::beam_search(m, kSrc(), {2, 2}, 3, so);
      EXPECT_EQ(both[0][0].tokens, alone_a[0][0].tokens);
      EXPECT_EQ(both[1][0].tokens, alone_b[0][0].tokens);
      EXPECT_NEAR(both[1][0].score, alone_b[0][0].score, 1e-4);
      EXPECT_NEAR(both[0][0].score, alone_a[0][0].score, 1e-4);
    }
  }
}

TEST(RouterConfigTest, KeysRoundTripAndBadValuesAreOneLineErrors) {
  using strata::nmt::parse_config;
  auto c = parse_config(
      "model: {moe: {type: switch, router: sigma, top_k: 3, num_experts: 8, expert_dropout: 0.05, "
      "shared_router: true}}\n", "x.yaml");
  EXPECT_EQ(c.model.moe.router, "sigma");
  EXPECT_TRUE(c.model.moe.shared_router);
  EXPECT_EQ(c.model.moe.resolved_top_k(), 3);
  EXPECT_EQ(strata::nmt::to_yaml(parse_config(strata::nmt::to_yaml(c), "y")), strata::nmt::to_yaml(c));
  auto expect_error = [](const std::string& yaml, const std::string& needle) {
    try {
      parse_config(yaml, "x.yaml");
      ADD_FAILURE() << yaml;
    } catch (const std::exception& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find(needle), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
  };
  expect_error("model: {moe: {type: switch, router: soft}}\n", "model.moe.router: must be topk, sigma, ac or hash");
  expect_error("model: {moe: {type: smoe, strata: [4, 4], router: ac}}\n", "model.moe.router: needs");
  expect_error("model: {moe: {type: none, shared_router: true}}\n", "model.moe.shared_router");
  expect_error("model: {moe: {type: switch, expert_dropout: 0.1}}\n", "model.moe.expert_dropout");
  expect_error("model: {moe: {type: gshard, router: ac, ac_dispersion: std}}\n", "model.moe.ac_dispersion");
  expect_error("model: {moe: {type: switch, top_k: 3}}\n", "model.moe.top_k");
  expect_error("model: {moe: {type: switch, router: sigma, top_k: 9}}\n", "model.moe.top_k");
}
