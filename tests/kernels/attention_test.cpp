// kernels/attention: one-query attention against LibTorch's softmax((k * q·scale).sum) · v, over
// shapes, strided inputs (the KV caches' head views), padding and fully masked rows.
#include "kernels/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace strata::kernels {
namespace {

torch::Tensor reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& pad, double scale) {
  auto scores = (k.to(torch::kDouble) * (q.to(torch::kDouble).unsqueeze(2) * scale)).sum(-1);  // [B, H, S]
  if (pad.defined()) scores = scores.masked_fill(pad.unsqueeze(1), -INFINITY);
  auto p = torch::softmax(scores, -1);
  return (p.unsqueeze(-1) * v.to(torch::kDouble)).sum(2).to(torch::kFloat);  // [B, H, dh]
}

TEST(AttentionOneQueryTest, MatchesTheReferenceOverShapesAndPadding) {
  torch::manual_seed(3);
  for (auto [B, H, S, D] : {std::tuple<int64_t, int64_t, int64_t, int64_t>{1, 1, 1, 1},
                            {3, 2, 5, 7}, {8, 8, 24, 64}, {128, 4, 33, 32}, {2, 3, 1, 17}}) {
    auto q = torch::randn({B, H, D}), k = torch::randn({B, H, S, D}), v = torch::randn({B, H, S, D});
    auto pad = torch::rand({B, S}).lt(0.3);
    pad.select(1, 0).fill_(false);  // at least one key per row
    const double scale = 1 / std::sqrt(static_cast<double>(D));
    for (bool with_pad : {false, true}) {
      auto p = with_pad ? pad : torch::Tensor();
      auto y = attention_one_query(q, k, v, p, scale);
      EXPECT_TRUE(torch::allclose(y, reference(q, k, v, p, scale), 1e-5, 1e-5))
          << B << "x" << H << "x" << S << "x" << D << " pad " << with_pad;
    }
  }
}

TEST(AttentionOneQueryTest, StridedViewsAndMaskedRows) {
  torch::manual_seed(4);
  const int64_t B = 4, H = 2, S = 6, D = 8;
  // Keys and values as the cross-attention's head views of one fused [B, S, 2·H·D] projection.
  auto kv = torch::randn({B, S, 2 * H * D}).chunk(2, -1);
  auto k = kv[0].view({B, S, H, D}).transpose(1, 2), v = kv[1].view({B, S, H, D}).transpose(1, 2);
  ASSERT_FALSE(k.is_contiguous());
  auto q = torch::randn({B, H, 3 * D}).slice(2, D, 2 * D);  // a strided query
  auto pad = torch::zeros({B, S}, torch::kBool);
  pad[2].fill_(true);  // sentence 2: every key masked
  pad[1].slice(0, 3).fill_(true);
  auto y = attention_one_query(q, k, v, pad, 0.5);
  auto ref = reference(q, k.contiguous(), v.contiguous(), pad, 0.5);
  for (int64_t b : {0, 1, 3}) EXPECT_TRUE(torch::allclose(y[b], ref[b], 1e-5, 1e-5)) << b;
  EXPECT_TRUE(torch::isnan(y[2]).all().item<bool>());
  EXPECT_TRUE(torch::isnan(ref[2]).all().item<bool>());  // the reference agrees
  EXPECT_THROW(attention_one_query(q, k, v.slice(2, 0, 5), pad, 1.0), c10::Error);
}

TEST(AttentionOneQueryTest, SharedKeysServeGroupsOfQueryRows) {
  // Beam search: the K beams of sentence b (query rows b·K .. b·K+K-1) read key row b.
  torch::manual_seed(5);
  const int64_t B = 3, K = 4, H = 2, S = 5, D = 16;
  auto q = torch::randn({B * K, H, D}), k = torch::randn({B, H, S, D}), v = torch::randn({B, H, S, D});
  auto pad = torch::zeros({B, S}, torch::kBool);
  pad[1].slice(0, 2).fill_(true);
  auto y = attention_one_query(q, k, v, pad, 0.3);
  auto ref = reference(q, k.repeat_interleave(K, 0), v.repeat_interleave(K, 0),
                       pad.repeat_interleave(K, 0), 0.3);
  EXPECT_TRUE(torch::allclose(y, ref, 1e-5, 1e-5));
  EXPECT_THROW(attention_one_query(torch::randn({7, H, D}), k, v, pad, 0.3), c10::Error);
}

TEST(AttentionOneQueryTest, StepIndexedKeysEqualTheGatheredKeys) {
  torch::manual_seed(6);
  const int64_t cap = 9, R = 5, H = 3, D = 8, B = 4, t = 6;
  auto sk = torch::randn({cap, R, H, D}), sv = torch::randn({cap, R, H, D});
  auto rows = torch::randint(0, R, {B, t});
  auto q = torch::randn({B, H, D});
  auto y = attention_one_query_steps(q, sk, sv, rows, 0.4);
  // The keys of row b, gathered: [B, H, t, D].
  auto steps = torch::arange(t).unsqueeze(0).expand({B, t});
  auto gk = sk.index({steps, rows}).permute({0, 2, 1, 3}), gv = sv.index({steps, rows}).permute({0, 2, 1, 3});
  EXPECT_TRUE(torch::allclose(y, reference(q, gk, gv, {}, 0.4), 1e-5, 1e-5));
  EXPECT_THROW(attention_one_query_steps(q, sk, sv, rows.add(R), 0.4), c10::Error);
  EXPECT_THROW(attention_one_query_steps(q, sk, sv, torch::zeros({B, cap + 1}, torch::kLong), 0.4),
               c10::Error);
}

}  // namespace
}  // namespace strata::kernels
