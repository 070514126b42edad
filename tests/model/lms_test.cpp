// LMS (language-specific low-rank modules) and Fuse Distillation against independent references:
// hand-computed weights, per-sentence forwards, explicit d_out × d_in products, finite
// differences, hand-counted parameters, a hand-computed symmetric KL.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <random>

#include "nmt/util/error.h"
#include "nmt/config.h"
#include "nmt/decode/search.h"
#include "nmt/model/checkpoint.h"
#include "nmt/model/lms.h"
#include "nmt/model/transformer.h"
#include "nmt/train/loss.h"
#include "tests/torch_test_util.h"

using namespace strata::nmt;

namespace {

torch::Tensor longs(std::vector<int64_t> v) { return torch::tensor(v, torch::kLong); }

// An LMS linear with random (non-zero) F so that every slot differs.
LmsLinear random_lms(int64_t d_in, int64_t d_out, int64_t langs, int64_t rank, uint64_t seed) {
  torch::manual_seed(seed);
  LmsLinear l(LmsLinearOptions(d_in, d_out).num_langs(langs).rank(rank));
  torch::NoGradGuard ng;
  l->lms_f.normal_(0, 0.5);
  l->lms_v.normal_(0, 0.5);
  return l;
}

TransformerOptions tiny_lms_options(LmsMode mode, bool attention, int64_t every_k = 1) {
  LmsOptions lms;
  lms.mode = mode;
  lms.num_langs = 3;
  lms.rank = 2;
  lms.attention = attention;
  lms.every_k_layers = every_k;
  return TransformerOptions(40).d_model(16).heads(2).ffn(24).encoder_layers(2).decoder_layers(2)
      .dropout(0.0).max_positions(64).lms(lms);
}

// A tiny LMS Transformer whose banks are all non-zero (F is zero at initialisation).
Transformer tiny_lms_model(LmsMode mode, bool attention, uint64_t seed = 5) {
  torch::manual_seed(seed);
  Transformer m(tiny_lms_options(mode, attention));
  torch::NoGradGuard ng;
  for (auto& p : m->named_parameters())
    if (p.key().find("lms_f") != std::string::npos) p.value().normal_(0, 0.3);
  m->eval();
  return m;
}

std::vector<int64_t> tokens(int n, std::mt19937& rng) { return strata::test::random_tokens(n, 40, rng); }
using strata::test::pad_rows;

}  // namespace

TEST(LmsLinearTest, ZeroFEqualsThePlainLinearWithTheSameInitialisation) {
  torch::manual_seed(3);
  torch::nn::Linear plain(6, 5);
  torch::manual_seed(3);
  LmsLinear lms(LmsLinearOptions(6, 5).num_langs(4).rank(3));
  // Same RNG draws as torch::nn::Linear for W_s and b; F starts at zero, V does not.
  EXPECT_TRUE(torch::equal(lms->weight, plain->weight));
  EXPECT_TRUE(torch::equal(lms->bias, plain->bias));
  EXPECT_EQ(lms->lms_f.abs().sum().item<double>(), 0.0);
  EXPECT_GT(lms->lms_v.abs().sum().item<double>(), 0.0);
  auto x = torch::randn({3, 7, 6});
  torch::NoGradGuard ng;
  auto expect = plain(x);
  for (auto mode : {LmsMode::kPair, LmsMode::kLang})
    for (bool shared : {false, true}) {
      auto keys = lms_keys(mode, 4, longs({0, 2, 3}), longs({1, 1, 0}), shared);
      EXPECT_TRUE(torch::allclose(lms(x, keys), expect, 1e-5, 1e-6));
    }
  EXPECT_TRUE(torch::equal(lms(x), expect));  // no keys: the shared Linear alone
}

TEST(LmsLinearTest, PairLangAndSharedWeightsMatchHandComputedProducts) {
  // d_in = d_out = 2, r = 1, N = 2 (slot 2 = shared). W_s = I, b = (0.5, -0.5);
  // V[0] = (1, 2)ᵀ, V[1] = (0, 1)ᵀ, V[2] = (3, 0)ᵀ; F[0] = (1, 1), F[1] = (2, 0), F[2] = (0, 1).
  LmsLinear l(LmsLinearOptions(2, 2).num_langs(2).rank(1));
  {
    torch::NoGradGuard ng;
    l->weight.copy_(torch::eye(2));
    l->bias.copy_(torch::tensor({0.5, -0.5}));
    l->lms_v.copy_(torch::tensor({1.0, 2.0, 0.0, 1.0, 3.0, 0.0}).view({3, 2, 1}));
    l->lms_f.copy_(torch::tensor({1.0, 1.0, 2.0, 0.0, 0.0, 1.0}).view({3, 1, 2}));
  }
  auto x = torch::tensor({1.0, 2.0}).view({1, 1, 2});
  torch::NoGradGuard ng;
  // pair (src 0, tgt 1): W = I + (1,2)ᵀ(2,0) = [[3,0],[4,1]]; W x + b = (3.5, 5.5).
  auto pair = l(x, lms_keys(LmsMode::kPair, 2, longs({0}), longs({1}), false));
  EXPECT_TRUE(torch::allclose(pair.view(-1), torch::tensor({3.5, 5.5})));
  // lang (src 1): W = I + (0,1)ᵀ(2,0) = [[1,0],[2,1]]; W x + b = (1.5, 3.5).
  auto lang = l(x, lms_keys(LmsMode::kLang, 2, longs({1}), longs({0}), false));
  EXPECT_TRUE(torch::allclose(lang.view(-1), torch::tensor({1.5, 3.5})));
  // shared: W = I + (3,0)ᵀ(0,1) = [[1,3],[0,1]]; W x + b = (7.5, 1.5).
  auto shared = l(x, lms_keys(LmsMode::kPair, 2, longs({1}), longs({0}), true));
  EXPECT_TRUE(torch::allclose(shared.view(-1), torch::tensor({7.5, 1.5})));
  EXPECT_TRUE(torch::allclose(l->merged_weight(2), torch::tensor({1.0, 3.0, 0.0, 1.0}).view({2, 2})));
  // Pair keys are (V: src, F: tgt); lang keys use the source language for both.
  auto kp = lms_keys(LmsMode::kPair, 2, longs({0, 1}), longs({1, 0}), false);
  auto kl = lms_keys(LmsMode::kLang, 2, longs({0, 1}), longs({1, 0}), false);
  EXPECT_TRUE(torch::equal(kp.v, longs({0, 1})) && torch::equal(kp.f, longs({1, 0})));
  EXPECT_TRUE(torch::equal(kl.v, longs({0, 1})) && torch::equal(kl.f, longs({0, 1})));
  EXPECT_THROW(lms_keys(LmsMode::kPair, 2, longs({2}), longs({0}), false), c10::Error);
}

TEST(LmsLinearTest, MixedDirectionBatchEqualsPerSentenceExplicitWeights) {
  auto l = random_lms(5, 4, 3, 2, 11);
  auto x = torch::randn({4, 6, 5});
  auto src = longs({0, 2, 1, 0}), tgt = longs({1, 0, 2, 2});
  torch::NoGradGuard ng;
  for (auto mode : {LmsMode::kPair, LmsMode::kLang}) {
    auto keys = lms_keys(mode, 3, src, tgt, false);
    auto batch = l(x, keys);
    for (int64_t b = 0; b < 4; ++b) {
      // Independent reference: the full d_out × d_in weight of this sentence.
      int64_t vi = src[b].item<int64_t>(), fi = mode == LmsMode::kPair ? tgt[b].item<int64_t>() : vi;
      auto W = l->weight + torch::mm(l->lms_v[vi], l->lms_f[fi]);  // [4, 5]
      auto expect = torch::matmul(x[b], W.t()) + l->bias;
      EXPECT_TRUE(torch::allclose(batch[b], expect, 1e-5, 1e-5)) << "sentence " << b;
      auto alone = l(x.slice(0, b, b + 1), keys.select(longs({b})));
      EXPECT_TRUE(torch::allclose(batch[b], alone[0], 1e-5, 1e-6)) << "sentence " << b;
    }
  }
}

TEST(LmsLinearTest, GradientsMatchFiniteDifferences) {
  auto l = random_lms(3, 4, 2, 2, 13);
  l->to(torch::kDouble);
  auto x = torch::randn({3, 2, 3}, torch::kDouble).requires_grad_(true);
  auto w = torch::randn({3, 2, 4}, torch::kDouble);
  auto keys = lms_keys(LmsMode::kPair, 2, longs({0, 1, 1}), longs({1, 1, 0}), false);
  auto loss_of = [&] { return (l(x, keys) * w).sum(); };
  loss_of().backward();
  const double h = 1e-6;
  for (torch::Tensor* p : {&l->weight, &l->bias, &l->lms_v, &l->lms_f, &x}) {
    auto grad = p->grad().clone();
    auto flat = p->detach().view(-1);  // shares storage with *p
    for (int64_t i = 0; i < flat.numel(); ++i) {
      double orig = flat[i].item<double>();
      double up, down;
      {
        torch::NoGradGuard ng;
        flat[i] = orig + h;
        up = loss_of().item<double>();
        flat[i] = orig - h;
        down = loss_of().item<double>();
        flat[i] = orig;
      }
      EXPECT_NEAR(grad.view(-1)[i].item<double>(), (up - down) / (2 * h), 1e-6) << "entry " << i;
    }
  }
  // The shared slot (2) is not used by these keys: no gradient.
  EXPECT_EQ(l->lms_v.grad()[2].abs().sum().item<double>(), 0.0);
  EXPECT_EQ(l->lms_f.grad()[2].abs().sum().item<double>(), 0.0);
}

TEST(LmsTransformerTest, ExtraParametersAreHandCounted) {
  const int64_t N = 3, r = 2, d = 16, ffn = 24;
  torch::manual_seed(1);
  Transformer dense(tiny_lms_options(LmsMode::kNone, false));
  const int64_t base = count_parameters(*dense);
  auto per = [&](int64_t din, int64_t dout) { return (N + 1) * r * (din + dout); };
  // FFN placement, every layer: fc1 (d -> ffn) and fc2 (ffn -> d) in 2 + 2 layers.
  Transformer ffn_all(tiny_lms_options(LmsMode::kPair, false));
  EXPECT_EQ(count_parameters(*ffn_all) - base, 4 * 2 * (N + 1) * r * (d + ffn));
  EXPECT_EQ(count_parameters(*ffn_all) - base, 4 * (per(d, ffn) + per(ffn, d)));
  // every_k_layers = 2: only layer 1 of the encoder and of the decoder.
  Transformer ffn_half(tiny_lms_options(LmsMode::kLang, false, 2));
  EXPECT_EQ(count_parameters(*ffn_half) - base, 2 * (per(d, ffn) + per(ffn, d)));
  // ffn_attn: plus self in_proj (d -> 3d) and out_proj; cross q (d -> d), kv (d -> 2d), out.
  Transformer attn(tiny_lms_options(LmsMode::kPair, true));
  const int64_t enc = per(d, ffn) + per(ffn, d) + per(d, 3 * d) + per(d, d);
  const int64_t dec = enc + per(d, d) + per(d, 2 * d) + per(d, d);
  EXPECT_EQ(count_parameters(*attn) - base, 2 * enc + 2 * dec);
  // The dense parameter names are unchanged (W_s is `weight`).
  auto names = ffn_all->named_parameters();
  for (const auto& p : dense->named_parameters()) EXPECT_NE(names.find(p.key()), nullptr) << p.key();
  EXPECT_NE(names.find("encoder_layers.0.ffn.fc1.lms_v"), nullptr);
}

TEST(LmsTransformerTest, MixedDirectionBatchEqualsPerSentenceForwardAndDecoding) {
  for (auto mode : {LmsMode::kPair, LmsMode::kLang}) {
    auto m = tiny_lms_model(mode, /*attention=*/true);
    std::mt19937 rng(7);
    std::vector<std::vector<int64_t>> src_rows = {tokens(5, rng), tokens(3, rng), tokens(6, rng)};
    std::vector<std::vector<int64_t>> prev_rows = {tokens(4, rng), tokens(4, rng), tokens(2, rng)};
    auto src = pad_rows(src_rows), prev = pad_rows(prev_rows);
    auto sl = longs({0, 1, 2}), tl = longs({1, 2, 0});
    auto keys = m->lms_keys(sl, tl);
    torch::NoGradGuard ng;
    auto batch = m->forward(src, prev, nullptr, keys);  // [3, 4, V]
    for (int64_t b = 0; b < 3; ++b) {
      auto alone = m->forward(pad_rows({src_rows[b]}), pad_rows({prev_rows[b]}), nullptr,
                              m->lms_keys(sl.slice(0, b, b + 1), tl.slice(0, b, b + 1)));
      const int64_t T = static_cast<int64_t>(prev_rows[b].size());
      EXPECT_TRUE(torch::allclose(batch[b].slice(0, 0, T), alone[0], 1e-4, 1e-5)) << "sentence " << b;
    }
    // The languages matter: other directions give other logits.
    auto other = m->forward(src, prev, nullptr, m->lms_keys(tl, sl));
    EXPECT_GT((other - batch).abs().max().item<double>(), 1e-3);
    // Incremental decoding carries the keys (and beam search reorders them).
    auto full = torch::log_softmax(batch, -1);
    auto state = m->start(m->encode(src, nullptr, keys));
    for (int64_t t = 0; t < 2; ++t) {
      auto step = m->step(prev.select(1, t), state);
      EXPECT_TRUE(torch::allclose(step, full.select(1, t), 1e-4, 1e-5)) << "step " << t;
    }
    SearchOptions so;
    so.beam = 3;
    so.banned = {0, 2};
    auto both = beam_search(m, src, {2, 2, 2}, 3, so, keys);
    for (int64_t b = 0; b < 3; ++b) {
      auto alone = beam_search(m, pad_rows({src_rows[b]}), {2}, 3, so,
                               m->lms_keys(sl.slice(0, b, b + 1), tl.slice(0, b, b + 1)));
      EXPECT_EQ(both[b][0].tokens, alone[0][0].tokens) << "sentence " << b;
      EXPECT_NEAR(both[b][0].score, alone[0][0].score, 1e-4);
    }
    // An LMS model without keys is an error, not a silent shared-weights forward.
    EXPECT_THROW(m->forward(src, prev), c10::Error);
  }
}

TEST(LmsTransformerTest, CondensedModelEqualsTheSharedSide) {
  Config cfg;
  cfg.model.d_model = 16;
  cfg.model.heads = 2;
  cfg.model.ffn = 24;
  cfg.model.encoder_layers = 2;
  cfg.model.decoder_layers = 2;
  cfg.model.dropout = 0.0;
  cfg.model.max_positions = 64;
  cfg.model.lms.mode = LmsMode::kPair;
  cfg.model.lms.rank = 2;
  cfg.model.lms.placement = LmsPlacement::kFfnAttn;
  cfg.train.fuse_distillation = true;
  Checkpoint ck;
  ck.config = cfg;
  ck.langs = {"en", "de", "fr"};
  torch::manual_seed(4);
  ck.model = build_model(cfg.model, 40, 3);
  {
    torch::NoGradGuard ng;
    for (auto& p : ck.model->named_parameters())
      if (p.key().find("lms_f") != std::string::npos) p.value().normal_(0, 0.3);
  }
  ck.model->eval();
  Checkpoint dense = condense_lms(ck, "lms.pt");
  dense.model->eval();
  EXPECT_EQ(dense.config.model.lms.mode, LmsMode::kNone);
  EXPECT_FALSE(dense.config.train.fuse_distillation);
  for (const auto& p : dense.model->named_parameters())
    EXPECT_EQ(p.key().find("lms_"), std::string::npos) << p.key();
  const int64_t extra = count_parameters(*ck.model) - count_parameters(*dense.model);
  EXPECT_GT(extra, 0);
  std::mt19937 rng(9);
  auto src = pad_rows({tokens(5, rng), tokens(3, rng)});
  auto prev = pad_rows({tokens(4, rng), tokens(2, rng)});
  torch::NoGradGuard ng;
  auto shared = ck.model->forward(src, prev, nullptr,
                                  ck.model->lms_keys(longs({0, 2}), longs({1, 0}), true));
  auto folded = dense.model->forward(src, prev);
  EXPECT_TRUE(torch::allclose(shared, folded, 1e-4, 1e-5))
      << (shared - folded).abs().max().item<double>();
  // ... and differs from the language-specific side.
  auto ls = ck.model->forward(src, prev, nullptr, ck.model->lms_keys(longs({0, 2}), longs({1, 0})));
  EXPECT_GT((ls - folded).abs().max().item<double>(), 1e-3);
  // A non-LMS checkpoint cannot be condensed.
  EXPECT_THROW(condense_lms(dense, "dense.pt"), strata::Error);
}

TEST(FuseDistillationTest, SymmetricKlMatchesHandComputation) {
  // p = (1/2, 1/2), q = (1/4, 3/4): ½ Σ (p − q)(log p − log q) = ½·¼·(ln 2 − ln(2/3)) = ln(3)/8.
  // Row 2 is a pad position and must not count.
  auto lp = torch::log(torch::tensor({{0.5, 0.5}, {0.9, 0.1}})).requires_grad_(true);
  auto lq = torch::log(torch::tensor({{0.25, 0.75}, {0.1, 0.9}})).requires_grad_(true);
  auto kl = symmetric_kl(lp, lq, longs({5, 0}), 0);
  EXPECT_NEAR(kl.item<double>(), std::log(3.0) / 8, 1e-6);
  // = ½ (KL(p‖q) + KL(q‖p)).
  const double kl_pq = 0.5 * std::log(0.5 / 0.25) + 0.5 * std::log(0.5 / 0.75);
  const double kl_qp = 0.25 * std::log(0.25 / 0.5) + 0.75 * std::log(0.75 / 0.5);
  EXPECT_NEAR(kl.item<double>(), 0.5 * (kl_pq + kl_qp), 1e-6);
  // No stop-gradient: both sides get gradients, the pad row none.
  kl.backward();
  EXPECT_GT(lp.grad()[0].abs().sum().item<double>(), 0.0);
  EXPECT_GT(lq.grad()[0].abs().sum().item<double>(), 0.0);
  EXPECT_EQ(lp.grad()[1].abs().sum().item<double>(), 0.0);
  // Identical distributions: zero.
  EXPECT_NEAR(symmetric_kl(lq.detach(), lq.detach(), longs({1, 1}), 0).item<double>(), 0.0, 1e-9);
}

TEST(LmsConfigTest, ParsesWritesBackAndRejectsBadValues) {
  Config c = parse_config(
      "model: {lms: {mode: lang, rank: 8, placement: ffn_attn, every_k_layers: 2}}\n"
      "train: {fuse_distillation: true, fd_weight: 0.5}\n", "t.yaml");
  EXPECT_EQ(c.model.lms.mode, LmsMode::kLang);
  EXPECT_EQ(c.model.lms.rank, 8);
  EXPECT_EQ(c.model.lms.placement, LmsPlacement::kFfnAttn);
  EXPECT_EQ(c.model.lms.every_k_layers, 2);
  EXPECT_TRUE(c.train.fuse_distillation);
  EXPECT_DOUBLE_EQ(c.train.fd_weight, 0.5);
  EXPECT_EQ(to_yaml(parse_config(to_yaml(c), "back")), to_yaml(c));
  auto error_of = [](const std::string& yaml) {
    try {
      parse_config(yaml, "t.yaml");
    } catch (const strata::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of("model: {lms: {mode: pairs}}"),
            "t.yaml: model.lms.mode: must be none, pair or lang, got 'pairs'");
  EXPECT_EQ(error_of("model: {lms: {mode: pair, rank: 0}}"), "t.yaml: model.lms.rank: must be in [1, 65536], got 0");
  EXPECT_EQ(error_of("train: {fuse_distillation: true}"),
            "t.yaml: train.fuse_distillation: needs an LMS model (model.lms.mode: pair or lang)");
  EXPECT_NE(error_of("model: {lms: {mode: pair, rnak: 4}}").find("model.lms.rnak"), std::string::npos);
  EXPECT_NE(error_of("model: {lms: {mode: pair}, moe: {type: switch}}")
                .find("model.lms.mode: LMS applies to dense FFN layers"),
            std::string::npos);
}

TEST(FuseDistillationTest, WordLevelKdCrossEntropyMatchesHandComputation) {
  // Teacher (1/2, 1/2), student (1/4, 3/4): −(½ ln ¼ + ½ ln ¾); row 2 is padding.
  auto ls = torch::log(torch::tensor({{0.25, 0.75}, {0.5, 0.5}})).requires_grad_(true);
  auto lt = torch::log(torch::tensor({{0.5, 0.5}, {0.9, 0.1}})).requires_grad_(true);
  auto ce = distill_ce(ls, lt, longs({7, 0}), 0);
  EXPECT_NEAR(ce.item<double>(), -(0.5 * std::log(0.25) + 0.5 * std::log(0.75)), 1e-6);
  ce.backward();
  // d/d ls = −p_teacher on the kept row; the teacher is frozen.
  EXPECT_TRUE(torch::allclose(ls.grad(), torch::tensor({{-0.5, -0.5}, {0.0, 0.0}})));
  EXPECT_FALSE(lt.grad().defined() && lt.grad().abs().sum().item<double>() > 0);
}
