// MoE stages against independent references: a naive per-token loop, the dense FFN, hand-computed
// routing/capacity/aux-loss cases, and finite differences.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "moe/dispatch.h"
#include "moe/moe_layer.h"
#include "moe/router.h"
#include "moe/routing_override.h"
#include "nmt/decode/search.h"
#include "nmt/model/transformer.h"
#include "tests/torch_test_util.h"

using namespace strata::moe;

namespace {

// The per-token loop the vectorised layer must equal: y_t = Σ_k keep·gate·FFN_{e_tk}(x_t).
torch::Tensor naive_moe(MoeLayer& m, const torch::Tensor& x, int64_t capacity) {
  auto flat = x.reshape({-1, m->options.d_model()});
  Routing r = m->router->route({flat, capacity, {}, {}});
  std::vector<torch::Tensor> rows;
  for (int64_t t = 0; t < flat.size(0); ++t) {
    auto y = torch::zeros({m->options.d_model()}, x.options());
    for (int64_t k = 0; k < r.expert.size(1); ++k)
      if (r.keep[t][k].item<bool>())
        y = y + r.gate[t][k].to(x.dtype()) * m->experts->expert(r.expert[t][k].item<int64_t>(), flat[t]);
    rows.push_back(y);
  }
  return torch::stack(rows).view(x.sizes());
}

MoeLayer make_layer(int64_t E, int64_t k, double cf, uint64_t seed = 5) {
  torch::manual_seed(seed);
  MoeLayer m(MoeLayerOptions(8, 16, E).top_k(k).capacity_factor(cf).eval_capacity_factor(cf)
                 .second_policy(SecondExpertPolicy::kAll));
  m->to(torch::kDouble);
  return m;
}

}  // namespace

TEST(RouterTest, CapacityDropsInTokenOrderHandCase) {
  // 5 tokens, 2 experts; first choices 0,0,1,0,1. Capacity 2: token 3 (third for expert 0) drops.
  auto logits = torch::tensor({{2.0, 0.0}, {1.0, 0.0}, {0.0, 3.0}, {0.5, 0.0}, {0.0, 1.0}});
  Routing r = route_topk(logits, 1, 2);
  EXPECT_TRUE(torch::equal(r.expert.squeeze(1), torch::tensor({0, 0, 1, 0, 1}, torch::kLong)));
  EXPECT_TRUE(torch::equal(r.keep.squeeze(1), torch::tensor({true, true, true, false, true})));
  // Switch gate = raw softmax probability of the chosen expert; dropped tokens get 0.
  const double p0 = 1 / (1 + std::exp(-2.0));
  EXPECT_NEAR(r.gate[0][0].item<double>(), p0, 1e-6);
  EXPECT_EQ(r.gate[3][0].item<double>(), 0.0);
  // aux = E · Σ f_e P_e with f = (3/5, 2/5) from first choices before dropping.
  double P0 = 0;
  const double d[5] = {2.0, 1.0, -3.0, 0.5, -1.0};  // logit(0) - logit(1)
  for (double v : d) P0 += 1 / (1 + std::exp(-v)) / 5;
  const double aux = 2 * (0.6 * P0 + 0.4 * (1 - P0));
  EXPECT_NEAR(r.aux_loss.item<double>(), aux, 1e-6);
  // z-loss = mean logsumexp^2.
  double z = 0;
  const double l[5][2] = {{2, 0}, {1, 0}, {0, 3}, {0.5, 0}, {0, 1}};
  for (auto& row : l) z += std::pow(std::log(std::exp(row[0]) + std::exp(row[1])), 2) / 5;
  EXPECT_NEAR(r.z_loss.item<double>(), z, 1e-5);
}

TEST(RouterTest, Top2SecondChoicesQueueBehindFirstChoicesAndRenormalise) {
  // 3 tokens, 3 experts, capacity 2. First choices: 0, 0, 1. Second: 1, 2, 0.
  // Expert 0 gets tokens 0 and 1 (first choices), so token 2's second choice (expert 0) drops.
  auto logits = torch::tensor({{3.0, 2.0, 0.0}, {3.0, 0.0, 1.0}, {2.5, 3.0, 0.0}});
  Routing r = route_topk(logits, 2, 2);
  EXPECT_TRUE(torch::equal(r.expert, torch::tensor({{0, 1}, {0, 2}, {1, 0}}, torch::kLong)));
  EXPECT_TRUE(torch::equal(r.keep, torch::tensor({{true, true}, {true, true}, {true, false}})));
  auto p = torch::softmax(logits, -1);
  EXPECT_NEAR(r.gate[0][0].item<double>(),
              (p[0][0] / (p[0][0] + p[0][1])).item<double>(), 1e-6);
  EXPECT_NEAR(r.gate[2][0].item<double>(), 1.0, 1e-6);  // only choice kept -> weight 1
  EXPECT_EQ(r.gate[2][1].item<double>(), 0.0);
}

TEST(MoeLayerTest, MatchesNaiveLoopWithDroppedTokens) {
  for (int64_t k : {1, 2}) {
    auto m = make_layer(4, k, 0.5);  // tight capacity: tokens are dropped
    auto x = torch::randn({3, 5, 8}, torch::kDouble).requires_grad_(true);
    auto x2 = x.detach().clone().requires_grad_(true);
    const int64_t cap = expert_capacity(15, 4, k, 0.5);
    MoeOutput out = m->forward(x);
    EXPECT_GT(out.drop_rate, 0.0);
    auto ref = naive_moe(m, x2, cap);
    EXPECT_TRUE(torch::allclose(out.output, ref, 1e-10, 1e-12)) << "top_k " << k;
    // Gradients w.r.t. the input and every parameter agree.
    auto w = torch::randn_like(ref);
    auto g1 = torch::autograd::grad({(out.output * w).sum()}, {x}, {}, true);
    auto params = m->parameters();
    auto gp1 = torch::autograd::grad({(out.output * w).sum()}, params, {}, false, true);
    auto ref2 = naive_moe(m, x2, cap);
    auto g2 = torch::autograd::grad({(ref2 * w).sum()}, {x2}, {}, true);
    auto gp2 = torch::autograd::grad({(ref2 * w).sum()}, params, {}, false, true);
    EXPECT_TRUE(torch::allclose(g1[0], g2[0], 1e-9, 1e-11));
    for (size_t i = 0; i < params.size(); ++i) {
      ASSERT_EQ(gp1[i].defined(), gp2[i].defined());
      if (gp1[i].defined()) EXPECT_TRUE(torch::allclose(gp1[i], gp2[i], 1e-9, 1e-11)) << i;
    }
  }
}

TEST(MoeLayerTest, RoutingOverrideRoutesByGivenLogitsOrWithinTheAllowedSet) {
  // SiDA's router bypass: with given logits every non-pad token goes to their top-k experts with
  // the gates their softmax gives (no capacity), whatever the router says; with an allowed set the
  // router chooses only among it. Checked token by token against expert(e, x).
  for (int64_t k : {1, 2}) {
    auto m = make_layer(4, k, 0.5);
    m->eval();
    torch::NoGradGuard ng;
    const auto x = torch::randn({2, 3, 8}, torch::kDouble);
    const auto pad = torch::tensor({{false, false, true}, {false, false, false}});
    const auto given = torch::randn({6, 4}, torch::kDouble);
    RoutingOverride o;
    o.logits[m.get()] = given;
    MoeOutput out;
    {
      RoutingOverrideGuard guard(&o);
      out = m->forward(x, pad);
    }
    const auto flat = x.reshape({6, 8}), y = out.output.reshape({6, 8});
    for (int64_t t = 0; t < 6; ++t) {
      if (t == 2) {  // padding: not routed
        EXPECT_EQ(y[t].abs().sum().item<double>(), 0.0);
        continue;
      }
      const auto p = torch::softmax(given[t], 0);
      const auto top = std::get<1>(p.topk(k));
      auto want = torch::zeros({8}, torch::kDouble);
      double norm = 0;
      for (int64_t j = 0; j < k; ++j) norm += p[top[j]].item<double>();
      for (int64_t j = 0; j < k; ++j) {
        const int64_t e = top[j].item<int64_t>();
        const double gate = k == 1 ? p[e].item<double>() : p[e].item<double>() / norm;
        want += gate * m->experts->expert(e, flat[t].unsqueeze(0))[0];
      }
      // (the gates are f32, as the router's are)
      EXPECT_TRUE(torch::allclose(y[t], want, 1e-6, 1e-8)) << "top_k " << k << " token " << t;
      EXPECT_EQ(out.top1[t].item<int64_t>(), top[0].item<int64_t>());
    }
    // An allowed set: the router's choices stay inside it; without the guard nothing changes.
    RoutingOverride a;
    a.allowed[m.get()] = torch::tensor({false, true, false, true});
    MoeOutput restricted;
    {
      RoutingOverrideGuard guard(&a);
      restricted = m->forward(x, pad);
    }
    for (int64_t t = 0; t < 6; ++t) {
      const int64_t e = restricted.top1[t].item<int64_t>();
      if (t == 2) EXPECT_EQ(e, -1);
      else EXPECT_TRUE(e == 1 || e == 3) << e;
    }
    EXPECT_TRUE(torch::equal(m->forward(x, pad).output, m->forward(x, pad).output));
    EXPECT_EQ(routing_override(), nullptr);
  }
}

TEST(MoeLayerTest, OneExpertTop1UncappedEqualsDenseFfn) {
  auto m = make_layer(1, 1, 0.0);
  strata::nmt::FeedForward ffn(strata::nmt::FeedForwardOptions(8, 16));
  ffn->to(torch::kDouble);
  {
    torch::NoGradGuard ng;
    ffn->fc1->weight.copy_(m->experts->w1[0].t());
    ffn->fc1->bias.copy_(m->experts->b1[0]);
    ffn->fc2->weight.copy_(m->experts->w2[0].t());
    ffn->fc2->bias.copy_(m->experts->b2[0]);
  }
  auto x = torch::randn({2, 7, 8}, torch::kDouble).requires_grad_(true);
  auto x2 = x.detach().clone().requires_grad_(true);
  auto y = m->forward(x).output;
  auto yd = ffn->forward(x2);
  EXPECT_TRUE(torch::allclose(y, yd, 1e-12, 1e-12));
  y.pow(2).sum().backward();
  yd.pow(2).sum().backward();
  EXPECT_TRUE(torch::allclose(x.grad(), x2.grad(), 1e-10, 1e-12));
  EXPECT_TRUE(torch::allclose(m->experts->w1.grad()[0], ffn->fc1->weight.grad().t(), 1e-10, 1e-12));
  EXPECT_TRUE(torch::allclose(m->experts->w2.grad()[0], ffn->fc2->weight.grad().t(), 1e-10, 1e-12));
}

TEST(MoeLayerTest, GradientsMatchFiniteDifferences) {
  auto m = make_layer(3, 2, 0.0);
  auto x = torch::randn({4, 8}, torch::kDouble);
  auto w = torch::randn({4, 8}, torch::kDouble);
  strata::test::expect_input_grad_matches_fd(
      [&](const torch::Tensor& in) { return (m->forward(in).output * w).sum(); }, x);
}

TEST(MoeLayerTest, PaddingIsNotRoutedAndDroplessEvalIsBatchInvariant) {
  auto m = make_layer(4, 2, 0.0);
  m->eval();
  auto a = torch::randn({1, 5, 8}, torch::kDouble);
  auto b = torch::randn({1, 5, 8}, torch::kDouble);
  auto pad = torch::zeros({2, 5}, torch::kBool);
  pad[1].slice(0, 3).fill_(true);  // second sentence has 2 pad positions
  auto batch = torch::cat({a, b}, 0);
  auto out = m->forward(batch, pad).output;
  auto alone = m->forward(a).output;
  EXPECT_TRUE(torch::allclose(out[0], alone[0], 1e-12, 1e-12));
  EXPECT_TRUE(torch::equal(out[1].slice(0, 3), torch::zeros({2, 8}, torch::kDouble)));
  auto b_alone = m->forward(b.slice(1, 0, 3)).output;
  EXPECT_TRUE(torch::allclose(out[1].slice(0, 0, 3), b_alone[0], 1e-12, 1e-12));
}

TEST(MoeLayerTest, LoadSumsToOneAndZeroTokensWork) {
  auto m = make_layer(4, 1, 1.0);
  MoeOutput out = m->forward(torch::randn({10, 8}, torch::kDouble));
  EXPECT_NEAR(out.load.sum().item<double>(), 1.0, 1e-6);
  MoeOutput none = m->forward(torch::zeros({0, 8}, torch::kDouble));
  EXPECT_EQ(none.output.size(0), 0);
}

TEST(MoeLayerTest, ExpertOutputMaskingDropsWholeRowsInTrainingAndScalesAtInference) {
  auto plain = make_layer(4, 1, 0.0);  // top-1, dropless: one routed row per token
  torch::manual_seed(5);
  MoeLayer eom(MoeLayerOptions(8, 16, 4).top_k(1).capacity_factor(0).eval_capacity_factor(0)
                   .second_policy(SecondExpertPolicy::kAll).eom(0.3));
  eom->to(torch::kDouble);
  const int64_t N = 2000;
  auto x = torch::randn({N, 8}, torch::kDouble);
  plain->eval();
  eom->eval();
  auto ref = plain->forward(x).output;
  // Inference: every row scaled by (1 - p).
  EXPECT_TRUE(torch::allclose(eom->forward(x).output, 0.7 * ref, 1e-12, 1e-12));
  // Training: each token's single expert row is either kept unscaled or zeroed.
  plain->train();
  eom->train();
  auto y = eom->forward(x).output;
  auto zero = y.abs().sum(1).eq(0);
  auto kept_ok = (y - ref).abs().amax(1).lt(1e-12);
  EXPECT_TRUE(torch::logical_or(zero, kept_ok).all().item<bool>());
  const double frac = zero.to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(frac, 0.3, 0.04);  // 2000 Bernoulli(0.3) draws: 4 sd is about 0.04
}

TEST(ExpertsTest, ExpertDropoutEqualsPerRowLoopWithTheSameMask) {
  torch::manual_seed(2);
  Experts ex(3, 4, 6, 0.25);
  ex->to(torch::kDouble);
  auto x = torch::randn({10, 4}, torch::kDouble);
  std::vector<int64_t> counts{4, 0, 6};
  std::vector<int64_t> owner{0, 0, 0, 0, 2, 2, 2, 2, 2, 2};
  torch::manual_seed(7);
  auto y = ex->forward(x, counts);
  torch::manual_seed(7);  // the layer draws its [M, ffn] mask in one call: draw the same one
  auto keep = torch::empty({10, 6}, torch::kDouble).bernoulli_(0.75) / 0.75;
  for (int64_t m = 0; m < 10; ++m) {
    const int64_t e = owner[m];
    auto h = torch::relu(x[m].matmul(ex->w1[e]) + ex->b1[e]) * keep[m];
    auto ref = h.matmul(ex->w2[e]) + ex->b2[e];
    EXPECT_TRUE(torch::allclose(y[m], ref, 1e-12, 1e-12)) << m;
  }
  ex->eval();  // no dropout at inference
  auto z = ex->forward(x, counts);
  for (int64_t m = 0; m < 10; ++m)
    EXPECT_TRUE(torch::allclose(z[m], ex->expert(owner[m], x[m]), 1e-12, 1e-12)) << m;
}

// ---------------------------------------------------------------------------------------------
// MoE inside the Transformer.

namespace {
strata::nmt::Transformer moe_transformer(int64_t top_k) {
  torch::manual_seed(9);
  strata::moe::MoeConfig mo;
  mo.type = top_k == 2 ? "gshard" : "switch";
  mo.num_experts = 4;
  mo.top_k = top_k;
  mo.every_k_layers = 1;
  mo.capacity_factor = 1.0;
  mo.eval_capacity = 0.0;  // dropless at inference
  auto m = strata::nmt::Transformer(strata::nmt::TransformerOptions(30).d_model(16).heads(2)
                                        .ffn(32).encoder_layers(2).decoder_layers(2)
                                        .dropout(0.0).max_positions(32).moe(mo));
  m->eval();
  return m;
}
}  // namespace

TEST(MoeTransformerTest, IncrementalDecodingEqualsFullRecomputation) {
  for (int64_t k : {1, 2}) {
    auto m = moe_transformer(k);
    auto src = torch::tensor({{5, 6, 7, 8, 3}, {9, 10, 3, 0, 0}}, torch::kLong);
    auto prev = torch::tensor({{2, 11, 12, 13}, {2, 14, 15, 16}}, torch::kLong);
    strata::test::expect_incremental_equals_full(m, src, prev, "top_k " + std::to_string(k));
  }
}

TEST(MoeTransformerTest, DroplessDecodingIsBatchInvariant) {
  auto m = moe_transformer(2);
  auto a = torch::tensor({{5, 6, 7, 8, 3}}, torch::kLong);
  auto b = torch::tensor({{9, 10, 3}}, torch::kLong);
  auto batch = torch::tensor({{5, 6, 7, 8, 3}, {9, 10, 3, 0, 0}}, torch::kLong);
  strata::nmt::SearchOptions so;
  so.beam = 2;
  so.banned = {0, 2};
  so.max_len_a = 1;
  so.max_len_b = 3;
  auto alone_a = strata::nmt::beam_search(m, a, {2}, 3, so);
  auto alone_b = strata::nmt::beam_search(m, b, {2}, 3, so);
  auto both = strata::nmt::beam_search(m, batch, {2, 2}, 3, so);
  EXPECT_EQ(both[0][0].tokens, alone_a[0][0].tokens);
  EXPECT_EQ(both[1][0].tokens, alone_b[0][0].tokens);
  EXPECT_NEAR(both[1][0].score, alone_b[0][0].score, 1e-4);
}

TEST(MoeTransformerTest, TrainingReturnsRouterLossesPerLayer) {
  auto m = moe_transformer(1);
  m->train();
  strata::nmt::MoeAux aux;
  auto src = torch::tensor({{5, 6, 7, 8, 3}, {9, 10, 3, 0, 0}}, torch::kLong);
  auto prev = torch::tensor({{2, 11, 12}, {2, 14, 0}}, torch::kLong);
  auto logits = m->forward(src, prev, &aux);
  EXPECT_EQ(aux.layers, 4);  // every layer of 2 + 2 is sparse
  ASSERT_TRUE(aux.aux_loss.defined());
  // Each layer's aux loss is >= 1 (its minimum, at perfect balance), so the sum is >= 4.
  EXPECT_GE(aux.aux_loss.item<double>(), 4.0 - 1e-5);
  (logits.sum() + aux.aux_loss).backward();
  for (const auto& p : m->named_parameters())
    if (p.key().find("router") != std::string::npos) {
      ASSERT_TRUE(p.value().grad().defined()) << p.key();
      EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0) << p.key();
    }
}

// ---------------------------------------------------------------------------------------------
// Stratified MoE.

#include "moe/smoe_layer.h"

namespace {

// One token at a time, as the method is described: pass at stratum s = top-2 (top-1 when only one
// expert is eligible) over experts of strata >= s with renormalised gates; residual; next stratum
// from the top-1 expert; LN of the stratum reached.
torch::Tensor naive_smoe(SmoeLayer& m, const torch::Tensor& h, const torch::Tensor& u0,
                         std::vector<int64_t>* passes) {
  const int64_t L = static_cast<int64_t>(m->options.strata().size());
  std::vector<torch::Tensor> rows;
  for (int64_t t = 0; t < h.size(0); ++t) {
    auto r = h[t], u = u0[t];
    int64_t s = 0, n = 0;
    while (s < L) {
      const int64_t first = m->first_expert(s);
      auto logits = m->routers[s]->as<torch::nn::Linear>()->forward(u.unsqueeze(0))[0];
      auto p = torch::softmax(logits, 0);
      int64_t e1 = logits.argmax().item<int64_t>();
      torch::Tensor out;
      if (logits.size(0) == 1) {
        out = p[e1] * m->experts->expert(first + e1, u);
      } else {
        auto masked = logits.clone();
        masked[e1] = -INFINITY;
        int64_t e2 = masked.argmax().item<int64_t>();
        auto z = p[e1] + p[e2];
        out = p[e1] / z * m->experts->expert(first + e1, u) +
              p[e2] / z * m->experts->expert(first + e2, u);
      }
      auto next = out + r;
      s = m->stratum_of(first + e1) + 1;
      r = next;
      u = m->options.stratum_norms()
              ? m->norms[s - 1]->as<torch::nn::LayerNorm>()->forward(next.unsqueeze(0))[0]
              : next;
      ++n;
    }
    rows.push_back(u);
    passes->push_back(n);
  }
  return torch::stack(rows);
}

}  // namespace

TEST(SmoeLayerTest, TopStratumStopsOthersTakeAnotherPass) {
  torch::manual_seed(1);
  SmoeLayer m(SmoeLayerOptions(4, 8, {1, 1}));
  m->to(torch::kDouble);
  m->eval();
  {
    torch::NoGradGuard ng;
    auto w = m->routers[0]->as<torch::nn::Linear>()->weight;  // [2, 4]: expert 0, expert 1
    w.zero_();
    w[0][0] = 5;
    w[1][1] = 5;
  }
  // Token 0 prefers expert 1 (top stratum): one pass. Token 1 prefers expert 0: a second pass.
  auto u0 = torch::tensor({{0.0, 2.0, 0.0, 0.0}, {2.0, 0.0, 0.0, 0.0}}, torch::kDouble);
  auto h = torch::randn({2, 4}, torch::kDouble);
  auto out = m->forward(h, u0);
  EXPECT_EQ(out.passes[0].item<int64_t>(), 1);
  EXPECT_EQ(out.passes[1].item<int64_t>(), 2);
  EXPECT_EQ(out.num_passes, 2);
  std::vector<int64_t> passes;
  auto ref = naive_smoe(m, h, u0, &passes);
  EXPECT_EQ(passes, (std::vector<int64_t>{1, 2}));
  EXPECT_TRUE(torch::allclose(out.output, ref, 1e-10, 1e-12));
}

TEST(SmoeLayerTest, DropRateCountsCapacityDropsOverPasses) {
  torch::manual_seed(4);
  SmoeLayer m(SmoeLayerOptions(6, 12, {2, 2}).capacity_factor(0.25).eval_capacity_factor(0));
  m->to(torch::kDouble);
  auto h = torch::randn({40, 6}, torch::kDouble);
  auto u0 = torch::randn({40, 6}, torch::kDouble);
  m->train();
  auto tight = m->forward(h, u0);
  // Pass 1: 40 tokens x top-2 over 4 experts, capacity 0.25*2*ceil(40/4) = 5 per expert: at most 20
  // of the 80 choices are kept, so at least a quarter of all choices (over both passes) drop.
  EXPECT_GT(tight.drop_rate, 0.25);
  EXPECT_LT(tight.drop_rate, 1.0);
  m->eval();  // dropless
  EXPECT_EQ(m->forward(h, u0).drop_rate, 0.0);
}

TEST(SmoeLayerTest, MatchesPerTokenLoopAndFiniteDifferences) {
  for (bool norms : {true, false}) {
    SCOPED_TRACE(norms ? "stratum norms" : "no stratum norms");
    for (std::vector<int64_t> strata : {std::vector<int64_t>{2, 2}, std::vector<int64_t>{1, 2, 1}}) {
      torch::manual_seed(3);
      SmoeLayer m(SmoeLayerOptions(6, 12, strata).stratum_norms(norms));
      EXPECT_EQ(m->norms->size(), norms ? strata.size() : 0u);
      m->to(torch::kDouble);
      m->eval();  // dropless
      {
        torch::NoGradGuard ng;  // larger router weights: tokens spread over strata
        for (auto& r : *m->routers) r->as<torch::nn::Linear>()->weight.normal_(0, 1.0);
      }
      auto h = torch::randn({12, 6}, torch::kDouble).requires_grad_(true);
      auto u0 = torch::randn({12, 6}, torch::kDouble);
      auto out = m->forward(h, u0);
      std::vector<int64_t> passes;
      auto ref = naive_smoe(m, h, u0, &passes);
      EXPECT_TRUE(torch::allclose(out.output, ref, 1e-9, 1e-11));
      for (int64_t t = 0; t < 12; ++t) EXPECT_EQ(out.passes[t].item<int64_t>(), passes[t]);
      // d(out · w)/dh by finite differences (h enters through the residual of every pass).
      auto w = torch::randn_like(ref);
      auto g = torch::autograd::grad({(out.output * w).sum()}, {h})[0];
      const double eps = 1e-6;
      for (int64_t i = 0; i < 12; i += 5)
        for (int64_t j = 0; j < 6; j += 2) {
          auto hp = h.detach().clone(), hm = h.detach().clone();
          hp[i][j] += eps;
          hm[i][j] -= eps;
          double fd = ((m->forward(hp, u0).output * w).sum().item<double>() -
                       (m->forward(hm, u0).output * w).sum().item<double>()) / (2 * eps);
          EXPECT_NEAR(g[i][j].item<double>(), fd, 1e-6);
        }
    }
  }
}

// Training draws each pass's second choice with Gumbel noise (the reference's `sampling` policy):
// the first choices, and so the strata tokens go to, stay the router's argmax; the second
// choices vary with the random stream; kAll and inference are deterministic.
TEST(SmoeLayerTest, TrainingSamplesTheSecondChoiceInferenceDoesNot) {
  torch::manual_seed(5);
  SmoeLayer m(SmoeLayerOptions(6, 12, {4, 4}).capacity_factor(0));  // dropless
  m->to(torch::kDouble);
  auto h = torch::randn({64, 6}, torch::kDouble), u0 = torch::randn({64, 6}, torch::kDouble);
  m->train();
  torch::manual_seed(10);
  auto a = m->forward(h, u0);
  torch::manual_seed(11);
  auto b = m->forward(h, u0);
  torch::manual_seed(10);
  auto a2 = m->forward(h, u0);
  EXPECT_TRUE(torch::equal(a.top1, b.top1));
  EXPECT_FALSE(torch::allclose(a.output, b.output));
  EXPECT_TRUE(torch::equal(a.output, a2.output));  // the same stream, the same choices
  m->options.second_policy(SecondExpertPolicy::kAll);
  torch::manual_seed(10);
  auto c = m->forward(h, u0);
  torch::manual_seed(11);
  EXPECT_TRUE(torch::equal(c.output, m->forward(h, u0).output));
  m->options.second_policy(SecondExpertPolicy::kSampling);
  m->eval();
  torch::manual_seed(10);
  auto e = m->forward(h, u0);
  torch::manual_seed(11);
  EXPECT_TRUE(torch::equal(e.output, m->forward(h, u0).output));
  EXPECT_TRUE(torch::allclose(c.output, e.output, 1e-12, 1e-12));  // argmax in both
}

TEST(SmoeLayerTest, PaddingIsUntouchedAndBatchInvariant) {
  torch::manual_seed(4);
  SmoeLayer m(SmoeLayerOptions(6, 12, {2, 2}));
  m->to(torch::kDouble);
  m->eval();
  auto h = torch::randn({5, 6}, torch::kDouble), u0 = torch::randn({5, 6}, torch::kDouble);
  auto pad = torch::tensor({false, false, true, false, true});
  auto out = m->forward(h, u0, pad);
  EXPECT_TRUE(torch::equal(out.output[2], h[2]));
  EXPECT_EQ(out.passes[4].item<int64_t>(), 0);
  auto alone = m->forward(h.slice(0, 0, 2), u0.slice(0, 0, 2));
  EXPECT_TRUE(torch::allclose(out.output.slice(0, 0, 2), alone.output, 1e-12, 1e-12));
}

TEST(MoeTransformerTest, SmoeIncrementalDecodingEqualsFullRecomputation) {
  torch::manual_seed(12);
  strata::moe::MoeConfig mo;
  mo.type = "smoe";
  mo.num_experts = 4;
  mo.every_k_layers = 1;
  mo.strata = {2, 2};
  auto m = strata::nmt::Transformer(strata::nmt::TransformerOptions(30).d_model(16).heads(2)
                                        .ffn(32).encoder_layers(2).decoder_layers(2)
                                        .dropout(0.0).max_positions(32).moe(mo));
  m->eval();
  auto src = torch::tensor({{5, 6, 7, 8, 3}, {9, 10, 3, 0, 0}}, torch::kLong);
  auto prev = torch::tensor({{2, 11, 12, 13}, {2, 14, 15, 16}}, torch::kLong);
  strata::test::expect_incremental_equals_full(m, src, prev, "", /*moe_layers=*/4);
}
