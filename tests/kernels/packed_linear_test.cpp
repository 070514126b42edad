// kernels/packed_linear: every path against a reference over a table of shapes (CTranslate2's
// ops_test is the model). int8: the same quantized operands multiplied in integer loops, an
// element-wise error bound against the fp32 product, batch invariance; bf16: the rounded operands
// in fp64. Then the compute types and packing a Transformer.
#include "kernels/packed_linear.h"

#include <gtest/gtest.h>

#include <tuple>
#include <vector>

#include "kernels/linear.h"
#include "kernels/precision.h"
#include "moe/dispatch.h"
#include "nmt/model/transformer.h"

namespace strata::kernels {
namespace {

// (M, K, N): one row, odd sizes, sizes that are not multiples of oneDNN's blocks, Transformer-base
// projections and a vocabulary-sized output.
const std::vector<std::tuple<int64_t, int64_t, int64_t>> kShapes = {
    {1, 16, 8}, {5, 64, 96}, {33, 128, 7}, {2, 3, 5}, {17, 512, 300}, {128, 512, 2048},
    {64, 2048, 512}, {4, 512, 8000}};

torch::Tensor data(std::initializer_list<int64_t> sizes, int seed) {
  torch::manual_seed(seed);
  return torch::randn(sizes) * 0.7;
}

TEST(QuantizeRowsTest, EqualsTheFormulaAndHandlesZeroRows) {
  auto x = data({6, 40}, 1);
  x[3].zero_();
  auto [q, s] = quantize_rows(x);
  ASSERT_EQ(q.scalar_type(), torch::kChar);
  auto amax = x.abs().amax(1);
  auto scale = torch::where(amax.gt(0), 127.0f / amax, torch::ones_like(amax));
  EXPECT_TRUE(torch::equal(s, scale));
  EXPECT_TRUE(torch::equal(q, (x * scale.unsqueeze(1)).round().to(torch::kChar)));  // half to even
  EXPECT_EQ(q.abs().max().item<int>(), 127);
  EXPECT_EQ(q[3].abs().sum().item<int>(), 0);
  EXPECT_EQ(s[3].item<float>(), 1.f);
}

TEST(PackedLinearTest, Int8EqualsTheIntegerReferenceOverTheShapeTable) {
  int seed = 10;
  for (auto [M, K, N] : kShapes) {
    auto x = data({M, K}, seed++), w = data({N, K}, seed++), b = data({N}, seed++);
    auto p = PackedWeight::int8(w);
    ASSERT_EQ(p.format(), WeightFormat::kInt8);
    EXPECT_EQ(p.out_features(), N);
    EXPECT_EQ(p.in_features(), K);
    for (bool bias : {true, false}) {
      auto bb = bias ? b : torch::Tensor();
      auto y = p.linear(x, bb);
      auto ref = int8_linear_reference(x, w, bb);
      // Integer accumulation is exact; only the final multiply-add may round differently (FMA).
      EXPECT_TRUE(torch::allclose(y, ref, 1e-6, 1e-6))
          << M << "x" << K << "x" << N << " bias " << bias << ": " << (y - ref).abs().max();
    }
  }
}

TEST(PackedLinearTest, Int8IsWithinTheQuantizationBoundOfFp32) {
  // |x·w - x̂·ŵ| <= Σ_k |x_k|·δw + |w_k|·δx + δx·δw with δx = 0.5/s_x, δw = 0.5/s_w (rounding
  // to the nearest step), in fp64; the result must respect it element-wise and be far better
  // than the bound on average (the errors are not all of one sign).
  int seed = 40;
  for (auto [M, K, N] : kShapes) {
    auto x = data({M, K}, seed++), w = data({N, K}, seed++), b = data({N}, seed++);
    auto y = PackedWeight::int8(w).linear(x, b).to(torch::kDouble);
    auto exact = (torch::matmul(x.to(torch::kDouble), w.to(torch::kDouble).t()) + b.to(torch::kDouble));
    auto dx = (0.5 / std::get<1>(quantize_rows(x))).to(torch::kDouble).unsqueeze(1);  // [M, 1]
    auto dw = (0.5 / std::get<1>(quantize_rows(w))).to(torch::kDouble).unsqueeze(0);  // [1, N]
    auto xa = x.abs().sum(1, true).to(torch::kDouble), wa = w.abs().sum(1).to(torch::kDouble).unsqueeze(0);
    auto bound = xa * dw + wa * dx + static_cast<double>(K) * dx * dw + 1e-4;
    auto err = (y - exact).abs();
    EXPECT_TRUE(err.le(bound).all().item<bool>()) << M << "x" << K << "x" << N;
    if (K >= 64) EXPECT_LT((err / bound).mean().item<double>(), 0.2) << M << "x" << K << "x" << N;
  }
}

TEST(PackedLinearTest, Int8AndBf16RowsDoNotDependOnTheirBatchMates) {
  // int8: bit for bit (per-row scales, exact integer sums). bf16: the products are exact in fp32
  // but oneDNN may sum them in another order for another row count (its gemm:jit emulation on
  // CPUs without AVX512_BF16 does), so rows agree to fp32 rounding.
  auto w = data({300, 512}, 70), b = data({300}, 71), x = data({32, 512}, 72);
  for (auto p : {PackedWeight::int8(w), PackedWeight::bf16(w)}) {
    const bool exact = p.format() == WeightFormat::kInt8;
    auto same = [&](const torch::Tensor& a, const torch::Tensor& c) {
      return exact ? torch::equal(a, c) : torch::allclose(a, c, 1e-5, 1e-5);
    };
    auto all = p.linear(x, b);
    for (int64_t m : {0, 7, 31}) {
      EXPECT_TRUE(same(p.linear(x.slice(0, m, m + 1), b), all.slice(0, m, m + 1)))
          << "row " << m << " format " << static_cast<int>(p.format());
      EXPECT_TRUE(same(p.linear(x.slice(0, 0, m + 1), b), all.slice(0, 0, m + 1)));
    }
    // Inputs of any rank: [..., K] -> [..., N].
    EXPECT_TRUE(torch::equal(p.linear(x.view({4, 8, 512}), b), all.view({4, 8, 300})));
  }
}

TEST(PackedLinearTest, Bf16MatchesRoundedOperandsOverTheShapeTable) {
  int seed = 80;
  auto r = [](const torch::Tensor& t) { return t.to(torch::kBFloat16).to(torch::kDouble); };
  for (auto [M, K, N] : kShapes) {
    auto x = data({M, K}, seed++), w = data({N, K}, seed++), b = data({N}, seed++);
    auto y = PackedWeight::bf16(w).linear(x, b);
    auto ref = (torch::matmul(r(x), r(w).t()) + b.to(torch::kDouble)).to(torch::kFloat);
    // fp32 accumulation of exact bf16 products: the error grows with K·|x||w| · 2^-24.
    auto tol = (torch::matmul(r(x).abs(), r(w).abs().t()) * (K * 6e-8) + 1e-5).to(torch::kFloat);
    EXPECT_TRUE((y - ref).abs().le(tol).all().item<bool>()) << M << "x" << K << "x" << N;
  }
}

TEST(PackedExpertsFfnTest, EqualsEachExpertAloneWithFewRowExpertsOnTheirOwnThreads) {
  // The grouped experts' FFN against each expert's rows through its two products alone, outside
  // any parallel region: int8 bit for bit (rows are batch-invariant), bf16 to fp32 rounding. Two
  // threads, so experts under 64 rows run concurrently, each product on one thread (a oneDNN
  // primitive made for two threads and run on one would compute part of the rows: caught here).
  const int saved = at::get_num_threads();
  at::set_num_threads(2);
  const int64_t E = 8, d = 96, ffn = 160;
  std::vector<torch::Tensor> w1, w2;
  for (int64_t e = 0; e < E; ++e) {
    w1.push_back(data({ffn, d}, 200 + static_cast<int>(e)));
    w2.push_back(data({d, ffn}, 300 + static_cast<int>(e)));
  }
  auto b1 = data({E, ffn}, 401), b2 = data({E, d}, 402);
  const std::vector<std::vector<int64_t>> patterns = {
      {0, 3, 1, 0, 7, 2, 5, 4}, {100, 2, 0, 70, 1, 5, 0, 3}, {0, 0, 0, 0, 0, 0, 0, 0},
      {0, 0, 0, 0, 0, 1, 0, 0}, {1, 1, 1, 1, 1, 1, 1, 200}, {63, 64, 0, 0, 0, 0, 0, 0}};
  for (auto format : {WeightFormat::kInt8, WeightFormat::kBf16}) {
    std::vector<PackedWeight> p1, p2;
    for (int64_t e = 0; e < E; ++e) {
      p1.push_back(PackedWeight::make(format, w1[e]));
      p2.push_back(PackedWeight::make(format, w2[e]));
    }
    int seed = 500;
    for (const auto& counts : patterns) {
      int64_t M = 0;
      for (auto c : counts) M += c;
      auto x = data({M, d}, seed++);
      auto got = packed_experts_ffn(x, counts, p1, b1, p2, b2);
      ASSERT_EQ(got.sizes(), (std::vector<int64_t>{M, d}));
      int64_t start = 0;
      for (int64_t e = 0; e < E; ++e) {
        auto xe = x.slice(0, start, start + counts[e]);
        auto want = p2[e].linear(torch::relu(p1[e].linear(xe, b1[e])), b2[e]);
        auto have = got.slice(0, start, start + counts[e]);
        const bool same = format == WeightFormat::kInt8 ? torch::equal(have, want)
                                                         : torch::allclose(have, want, 1e-5, 1e-5);
        EXPECT_TRUE(same) << "format " << static_cast<int>(format) << " expert " << e << " of pattern "
                          << seed - 500;
        start += counts[e];
      }
    }
    // A hidden-activation hook sees every expert with rows once, with its rows' activations.
    std::vector<int64_t> counts = {2, 0, 5, 1, 0, 0, 9, 3}, seen;
    auto x = data({20, d}, 600);
    auto doubled = packed_experts_ffn(x, counts, p1, b1, p2, b2, [&](int64_t e, const torch::Tensor& h) {
      seen.push_back(e);
      EXPECT_EQ(h.size(0), counts[e]);
      return h * 2;
    });
    EXPECT_EQ(seen, (std::vector<int64_t>{0, 2, 3, 6, 7}));
    auto x6 = x.slice(0, 8, 17);
    auto want6 = p2[6].linear(torch::relu(p1[6].linear(x6, b1[6])) * 2, b2[6]);
    EXPECT_TRUE(torch::allclose(doubled.slice(0, 8, 17), want6, 1e-5, 1e-5));
  }
  EXPECT_THROW(packed_experts_ffn(data({5, d}, 1), {1, 1, 1, 1, 0, 0, 0, 0}, {}, b1, {}, b2), c10::Error);
  at::set_num_threads(saved);
}

TEST(PackedLinearTest, StoredInt8RoundTripsAndStaleWeightsAreNotUsed) {
  auto w = data({24, 40}, 90), x = data({3, 40}, 91);
  auto p = PackedWeight::int8(w);
  auto back = PackedWeight::from_int8(p.data().clone(), p.scale().clone());
  EXPECT_TRUE(torch::equal(back.linear(x, {}), p.linear(x, {})));
  EXPECT_TRUE(torch::allclose(p.dequantized(), w, 0, 0.5 / 127 * w.abs().max().item<double>() + 1e-7));
  EXPECT_GE(p.bytes(), 24 * 40);
  EXPECT_THROW(PackedWeight::from_int8(p.data(), torch::zeros({24})), c10::Error);
  EXPECT_THROW(p.linear(data({3, 41}, 92), {}), c10::Error);

  p.from(w);
  EXPECT_TRUE(p.made_from(w));
  EXPECT_FALSE(p.made_from(w.clone()));
  torch::NoGradGuard ng;
  ComputeTypeGuard g(ComputeType::kInt8);
  EXPECT_TRUE(use_packed(p, w));
  {
    torch::AutoGradMode grad(true);  // recording gradients: never the packed copy
    EXPECT_FALSE(use_packed(p, w));
  }
  w.mul_(2);  // the weight changed after packing: the copy is stale
  EXPECT_FALSE(use_packed(p, w));
  EXPECT_TRUE(torch::equal(linear(x, w, {}, p), torch::nn::functional::linear(x, w, {})));
}

TEST(ComputeTypeTest, NamesAutoAndTheGuard) {
  for (const char* n : {"auto", "float32", "bfloat16", "int8", "int8_bfloat16"})
    EXPECT_EQ(enum_name(names_of(ComputeType{}), *enum_value(names_of(ComputeType{}), n)), n);
  const ComputeType a = resolve_compute_type(ComputeType::kAuto);
  EXPECT_EQ(a, int8_is_fast() ? ComputeType::kInt8
               : bf16_is_fast() ? ComputeType::kBfloat16 : ComputeType::kFloat32);
  // For a model: float32 below kLowPrecisionMinWidth (256), the CPU's choice from there on or
  // when the width is unknown (0); explicit types are never changed.
  EXPECT_EQ(resolve_compute_type(ComputeType::kAuto, 128), ComputeType::kFloat32);
  EXPECT_EQ(resolve_compute_type(ComputeType::kAuto, 255), ComputeType::kFloat32);
  EXPECT_EQ(resolve_compute_type(ComputeType::kAuto, 256), a);
  EXPECT_EQ(resolve_compute_type(ComputeType::kAuto, 512), a);
  EXPECT_EQ(resolve_compute_type(ComputeType::kAuto, 0), a);
  EXPECT_EQ(resolve_compute_type(ComputeType::kInt8, 128), ComputeType::kInt8);
  EXPECT_EQ(resolve_compute_type(ComputeType::kBfloat16, 64), ComputeType::kBfloat16);
  if (a != ComputeType::kFloat32)
    EXPECT_EQ(describe_auto_compute_type(128).rfind("float32 (a d128 model: below d 256", 0), 0u)
        << describe_auto_compute_type(128);
  EXPECT_EQ(compute_type(), ComputeType::kFloat32);
  EXPECT_EQ(compute_weight_format(), WeightFormat::kNone);
  {
    ComputeTypeGuard g(ComputeType::kInt8Bfloat16);
    EXPECT_EQ(compute_weight_format(), WeightFormat::kInt8);
    EXPECT_EQ(compute_precision(), Precision::kBf16);
    {
      ComputeTypeGuard inner(ComputeType::kBfloat16);
      EXPECT_EQ(compute_weight_format(), WeightFormat::kBf16);
    }
    ComputeTypeGuard i8(ComputeType::kInt8);
    EXPECT_EQ(compute_precision(), Precision::kFp32);
  }
  EXPECT_EQ(compute_type(), ComputeType::kFloat32);
  EXPECT_EQ(compute_precision(), Precision::kFp32);
}

TEST(PackWeightsTest, ATransformerAndExpertsUseTheirPackedWeightsOnlyUnderTheirType) {
  torch::manual_seed(5);
  auto m = nmt::Transformer(nmt::TransformerOptions(50).d_model(32).heads(4).ffn(64)
                                .encoder_layers(1).decoder_layers(1).dropout(0.0).max_positions(32));
  m->eval();
  auto src = torch::randint(4, 50, {3, 7}), prev = torch::randint(4, 50, {3, 5});
  torch::NoGradGuard ng;
  auto fp32 = m->forward(src, prev);
  pack_weights(*m, ComputeType::kInt8);
  EXPECT_TRUE(torch::equal(m->forward(src, prev), fp32));  // float32 thread: the fp32 weights
  torch::Tensor i8;
  {
    ComputeTypeGuard g(ComputeType::kInt8);
    i8 = m->forward(src, prev);
  }
  EXPECT_FALSE(torch::equal(i8, fp32));
  EXPECT_LT((i8 - fp32).abs().max().item<double>(), 0.05 * fp32.abs().max().item<double>());
  pack_weights(*m, ComputeType::kFloat32);  // dropped
  {
    ComputeTypeGuard g(ComputeType::kInt8);
    EXPECT_TRUE(torch::equal(m->forward(src, prev), fp32));
  }

  moe::Experts ex(3, 16, 24);
  auto xs = data({10, 16}, 95);
  std::vector<int64_t> counts = {4, 0, 6};
  auto ref = ex->forward(xs, counts);
  ex->pack_weights(WeightFormat::kInt8);
  ComputeTypeGuard g(ComputeType::kInt8);
  auto y = ex->forward(xs, counts);
  // Expert by expert: the int8 reference of both products.
  auto e0 = int8_linear_reference(torch::relu(int8_linear_reference(xs.slice(0, 0, 4), ex->w1[0].t(), ex->b1[0])),
                                  ex->w2[0].t(), ex->b2[0]);
  EXPECT_TRUE(torch::allclose(y.slice(0, 0, 4), e0, 1e-5, 1e-5));
  EXPECT_LT((y - ref).abs().max().item<double>(), 0.05 * ref.abs().max().item<double>() + 1e-3);
}

}  // namespace
}  // namespace strata::kernels
