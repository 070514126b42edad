// nmt/model/transformer: padding, incremental decoding and beam search invariants.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <random>

#include "nmt/decode/search.h"
#include "nmt/model/transformer.h"
#include "nmt/train/loss.h"
#include "tests/torch_test_util.h"

using namespace strata;
using namespace strata::nmt;

namespace {

Transformer tiny_model(int64_t vocab = 40, uint64_t seed = 7) {
  torch::manual_seed(seed);
  auto m = Transformer(TransformerOptions(vocab).d_model(32).heads(4).ffn(64).encoder_layers(2)
                           .decoder_layers(2).dropout(0.0).max_positions(64));
  m->eval();
  return m;
}

std::vector<int64_t> tokens(int n, int64_t vocab, std::mt19937& rng) {
  return test::random_tokens(n, vocab, rng);
}
using test::pad_rows;

}  // namespace

TEST(TransformerTest, PaddedBatchLossEqualsSumOfSentenceLosses) {
  auto m = tiny_model();
  std::mt19937 rng(1);
  std::vector<std::vector<int64_t>> src, prev, tgt;
  for (int n : {3, 7, 5}) {
    src.push_back(tokens(n, 40, rng));
    auto y = tokens(n + 1, 40, rng);
    std::vector<int64_t> p = {2};
    p.insert(p.end(), y.begin(), y.end() - 1);
    prev.push_back(p);
    tgt.push_back(y);
  }
  torch::NoGradGuard ng;
  auto batch_logits = m->forward(pad_rows(src), pad_rows(prev));
  auto lp = torch::log_softmax(batch_logits, -1);
  double batch_loss =
      label_smoothed_nll(lp.view({-1, 40}), pad_rows(tgt).view(-1), 0.1, 0).loss.item<double>();
  double sum = 0;
  for (size_t i = 0; i < src.size(); ++i) {
    auto l = torch::log_softmax(m->forward(pad_rows({src[i]}), pad_rows({prev[i]})), -1);
    sum += label_smoothed_nll(l.view({-1, 40}), pad_rows({tgt[i]}).view(-1), 0.1, 0).loss.item<double>();
  }
  EXPECT_NEAR(batch_loss, sum, 1e-3 * std::abs(sum));
}

TEST(TransformerTest, InferenceAttentionEqualsTheDifferentiablePath) {
  // Without gradients the encoder's self-attention and the decoder's cross-attention over whole
  // sequences run kernels/attention_one_query per query row; with gradients, LibTorch's masked
  // softmax between two batched products (the reference). Padded sources of different lengths.
  auto m = tiny_model();
  std::mt19937 rng(12);
  auto src = pad_rows({tokens(9, 40, rng), tokens(3, 40, rng), tokens(6, 40, rng)});
  auto prev = pad_rows({tokens(4, 40, rng), tokens(7, 40, rng), tokens(2, 40, rng)});
  auto reference = m->forward(src, prev).detach();
  torch::Tensor fast;
  {
    torch::NoGradGuard ng;
    fast = m->forward(src, prev);
  }
  EXPECT_TRUE(torch::allclose(fast, reference, 1e-5, 1e-5)) << (fast - reference).abs().max();
}

TEST(TransformerTest, IncrementalDecodingEqualsFullRecomputation) {
  auto m = tiny_model();
  std::mt19937 rng(2);
  auto src = pad_rows({tokens(6, 40, rng), tokens(4, 40, rng)});
  auto prev = pad_rows({tokens(5, 40, rng), tokens(5, 40, rng)});
  torch::NoGradGuard ng;
  auto full = torch::log_softmax(m->forward(src, prev), -1);  // [2, 5, V]
  auto state = m->start(m->encode(src));
  for (int64_t t = 0; t < 5; ++t) {
    auto step = m->step(prev.select(1, t), state);  // [2, V]
    EXPECT_TRUE(torch::allclose(step, full.select(1, t), 1e-4, 1e-5)) << "step " << t;
  }
}

TEST(TransformerTest, BeamOneEqualsGreedyByFullRecomputation) {
  auto m = tiny_model();
  std::mt19937 rng(3);
  auto src = pad_rows({tokens(5, 40, rng), tokens(8, 40, rng), tokens(3, 40, rng)});
  SearchOptions opt;
  opt.beam = 1;
  opt.max_len_a = 1.0;
  opt.max_len_b = 4;
  opt.banned = {0, 2};
  auto hyps = beam_search(m, src, {2, 2, 2}, 3, opt);
  // Naive greedy: recompute the whole decoder for every step.
  torch::NoGradGuard ng;
  for (int64_t b = 0; b < 3; ++b) {
    auto s = src[b].unsqueeze(0);
    int64_t len = s.ne(0).sum().item<int64_t>();
    int64_t limit = len + 4;
    std::vector<int64_t> out = {2};
    double logprob = 0;
    for (int64_t t = 0; t < limit; ++t) {
      auto lp = torch::log_softmax(m->forward(s, pad_rows({out})), -1)[0][t].clone();
      lp[0] = -INFINITY;
      lp[2] = -INFINITY;
      int64_t tok = lp.argmax().item<int64_t>();
      logprob += lp[tok].item<double>();
      if (tok == 3) break;
      out.push_back(tok);
    }
    std::vector<int64_t> expect(out.begin() + 1, out.end());
    ASSERT_EQ(hyps[b].size(), 1u);
    EXPECT_EQ(hyps[b][0].tokens, expect) << "sentence " << b;
    EXPECT_NEAR(hyps[b][0].logprob, logprob, 1e-3);
  }
}

TEST(TransformerTest, BeamSearchFindsNoWorseThanGreedy) {
  auto m = tiny_model(40, 11);
  std::mt19937 rng(4);
  auto src = pad_rows({tokens(6, 40, rng), tokens(4, 40, rng)});
  SearchOptions g;
  g.beam = 1;
  g.lenpen = 0;
  g.banned = {0, 2};
  SearchOptions b4 = g;
  b4.beam = 4;
  b4.nbest = 4;
  auto hg = beam_search(m, src, {2, 2}, 3, g);
  auto hb = beam_search(m, src, {2, 2}, 3, b4);
  for (int i = 0; i < 2; ++i) {
    ASSERT_FALSE(hb[i].empty());
    EXPECT_GE(hb[i][0].score, hg[i][0].score - 1e-4);
    for (size_t k = 1; k < hb[i].size(); ++k) EXPECT_GE(hb[i][k - 1].score, hb[i][k].score);
  }
}
