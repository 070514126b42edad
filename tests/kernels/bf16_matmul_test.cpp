// kernels/bf16_matmul and the bf16 training products built on it (kernels/linear under kBf16):
// results against the bf16 operands' values multiplied in fp64 (the products are exact in fp32's
// accumulation up to its rounding, so the tolerance is fp32's, not bf16's), in every layout the
// forward and backward passes use; gradients against the same fp64 reference of the rounded
// operands; the per-update weight copy against the parameter's versions.
#include "kernels/bf16_matmul.h"

#include <gtest/gtest.h>

#include "kernels/linear.h"
#include "kernels/precision.h"

namespace strata::kernels {
namespace {

torch::Tensor r64(const torch::Tensor& t) { return t.to(torch::kBFloat16).to(torch::kDouble); }

// |got - want| within fp32 accumulation error of a K-term sum: K · 2^-23 · Σ|a·b|, bounded by
// K · 2^-23 · |a| |b| row/column norms (here simply the product of the absolute operands).
void expect_fp32_close(const torch::Tensor& got, const torch::Tensor& want, const torch::Tensor& bound) {
  ASSERT_EQ(got.scalar_type(), torch::kFloat);
  ASSERT_EQ(got.sizes(), want.sizes());
  auto err = (got.to(torch::kDouble) - want).abs();
  auto tol = bound * 1e-6 + 1e-6;
  EXPECT_TRUE(err.le(tol).all().item<bool>()) << "max error " << err.max().item<double>()
                                               << ", max |want| " << want.abs().max().item<double>();
}

bool bf16_here() { return torch::globalContext().userEnabledMkldnn(); }

TEST(Bf16MatmulTest, EveryLayoutOfTheForwardAndBackwardPasses) {
  if (!bf16_here()) GTEST_SKIP() << "LibTorch's oneDNN is off";
  torch::manual_seed(11);
  struct Case {
    const char* name;
    torch::Tensor a, b;
  };
  auto x = torch::randn({37, 64}).to(torch::kBFloat16), w = torch::randn({48, 64}).to(torch::kBFloat16);
  auto g = torch::randn({37, 48}).to(torch::kBFloat16);
  auto q = torch::randn({3, 7, 4, 16}).to(torch::kBFloat16).transpose(1, 2);  // [B, H, T, dh] view
  auto k = torch::randn({3, 9, 4, 16}).to(torch::kBFloat16).transpose(1, 2);  // [B, H, S, dh] view
  std::vector<Case> cases = {
      {"x · wT (forward)", x, w.t()},
      {"g · w (input gradient)", g, w},
      {"gT · x (weight gradient)", g.t(), x},
      {"q · kT (attention scores, strided 4-D)", q, k.transpose(-2, -1)},
      {"batched 3-D contiguous", torch::randn({5, 6, 8}).to(torch::kBFloat16),
       torch::randn({5, 8, 3}).to(torch::kBFloat16)},
      {"no unit stride (copied)", torch::randn({6, 2, 9}).to(torch::kBFloat16).select(1, 0).as_strided({6, 4}, {18, 2}),
       torch::randn({4, 5}).to(torch::kBFloat16)},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto got = bf16_matmul(c.a, c.b);
    auto want = torch::matmul(c.a.to(torch::kDouble), c.b.to(torch::kDouble));
    auto bound = torch::matmul(c.a.to(torch::kDouble).abs(), c.b.to(torch::kDouble).abs()) * c.a.size(-1);
    expect_fp32_close(got, want, bound);
  }
}

TEST(Bf16MatmulTest, BiasAccumulationAndShapesThatChangeEveryCall) {
  if (!bf16_here()) GTEST_SKIP() << "LibTorch's oneDNN is off";
  torch::manual_seed(12);
  auto w = torch::randn({40, 24}).to(torch::kBFloat16);
  auto bias = torch::randn({40});  // fp32: added unrounded
  // One primitive serves every row count (sizes are given at execution): many shapes in a row.
  for (int64_t m : {1, 2, 17, 64, 301, 5}) {
    auto x = torch::randn({m, 24}).to(torch::kBFloat16);
    auto got = bf16_matmul(x, w.t(), bias);
    auto want = torch::matmul(x.to(torch::kDouble), w.t().to(torch::kDouble)) + bias.to(torch::kDouble);
    auto bound = torch::matmul(x.to(torch::kDouble).abs(), w.t().to(torch::kDouble).abs()) * 24;
    expect_fp32_close(got, want, bound);
  }
  // out += a · b into a row slice of a larger tensor (the fused loss's gradient chunks).
  auto big = torch::randn({10, 40});
  auto before = big.clone();
  auto slice = big.slice(0, 3, 7);
  auto x = torch::randn({4, 24}).to(torch::kBFloat16);
  bf16_matmul_out(slice, x, w.t(), /*accumulate=*/true);
  auto want = before.slice(0, 3, 7).to(torch::kDouble) + torch::matmul(x.to(torch::kDouble), w.t().to(torch::kDouble));
  expect_fp32_close(big.slice(0, 3, 7), want, torch::full_like(want, 100.0));
  EXPECT_TRUE(torch::equal(big.slice(0, 0, 3), before.slice(0, 0, 3)));
  EXPECT_TRUE(torch::equal(big.slice(0, 7, 10), before.slice(0, 7, 10)));
  bf16_matmul_out(slice, x, w.t(), /*accumulate=*/false);
  expect_fp32_close(slice, torch::matmul(x.to(torch::kDouble), w.t().to(torch::kDouble)), torch::full_like(want, 100.0));
  // An empty sum is zero (plus the bias).
  auto e = bf16_matmul(torch::empty({3, 0}, torch::kBFloat16), torch::empty({0, 40}, torch::kBFloat16), bias);
  EXPECT_TRUE(torch::equal(e, bias.expand({3, 40})));
  EXPECT_THROW(bf16_matmul(x.to(torch::kFloat), w.t()), c10::Error);
  EXPECT_THROW(bf16_matmul(x, w), c10::Error);
}

TEST(Bf16MatmulTest, WeightCopyIsMadeOncePerVersionOfAParameter) {
  auto p = torch::randn({8, 4}, torch::requires_grad());
  auto c1 = bf16_weight(p), c2 = bf16_weight(p);
  EXPECT_EQ(c1.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(c1.to(torch::kFloat), p.detach().to(torch::kBFloat16).to(torch::kFloat)));
  EXPECT_EQ(c1.data_ptr(), c2.data_ptr());  // reused
  {
    torch::NoGradGuard no_grad;
    p.add_(1.0);  // an optimizer step: the version counter moves
  }
  auto c3 = bf16_weight(p);
  EXPECT_NE(c3.data_ptr(), c1.data_ptr());
  EXPECT_TRUE(torch::equal(c3.to(torch::kFloat), p.detach().to(torch::kBFloat16).to(torch::kFloat)));
  // Not a parameter (no gradient, or not a leaf): a fresh copy every time.
  auto t = torch::randn({8, 4});
  EXPECT_NE(bf16_weight(t).data_ptr(), bf16_weight(t).data_ptr());
  auto view = p * 2;
  EXPECT_NE(bf16_weight(view).data_ptr(), bf16_weight(view).data_ptr());
}

// The training products of kernels/linear under kBf16: values and all gradients against fp64
// products of the bf16-rounded operands (the incoming gradient rounded as well).
TEST(Bf16MatmulTest, LinearAddmmAndMatmulGradientsAgainstRoundedFp64) {
  if (!bf16_here()) GTEST_SKIP() << "LibTorch's oneDNN is off";
  torch::manual_seed(13);
  auto x = torch::randn({2, 9, 32}, torch::requires_grad());
  auto w = torch::randn({20, 32}, torch::requires_grad());
  auto b = torch::randn({20}, torch::requires_grad());
  auto go = torch::randn({2, 9, 20});
  torch::Tensor y;
  {
    PrecisionGuard guard(Precision::kBf16);
    y = kernels::linear(x, w, b);
    (y * go).sum().backward();
  }
  auto X = r64(x.detach()).view({18, 32}), W = r64(w.detach()), G = r64(go).view({18, 20});
  auto big = torch::full({18, 20}, 1000.0);
  expect_fp32_close(y.view({18, 20}), torch::matmul(X, W.t()) + b.detach().to(torch::kDouble), big);
  expect_fp32_close(x.grad().view({18, 32}), torch::matmul(G, W), torch::full({18, 32}, 1000.0));
  expect_fp32_close(w.grad(), torch::matmul(G.t(), X), torch::full({20, 32}, 1000.0));
  expect_fp32_close(b.grad(), go.view({18, 20}).sum(0).to(torch::kDouble), torch::full({20}, 100.0));

  // Batched attention products: q · kT and p · v, gradients of both operands.
  auto q = torch::randn({2, 3, 5, 8}, torch::requires_grad());
  auto k = torch::randn({2, 3, 6, 8}, torch::requires_grad());
  auto g = torch::randn({2, 3, 5, 6});
  {
    PrecisionGuard guard(Precision::kBf16);
    auto s = kernels::matmul(q, k.transpose(-2, -1));
    expect_fp32_close(s, torch::matmul(r64(q.detach()), r64(k.detach()).transpose(-2, -1)),
                      torch::full({2, 3, 5, 6}, 100.0));
    (s * g).sum().backward();
  }
  expect_fp32_close(q.grad(), torch::matmul(r64(g), r64(k.detach())), torch::full({2, 3, 5, 8}, 100.0));
  expect_fp32_close(k.grad(), torch::matmul(r64(g).transpose(-2, -1), r64(q.detach())),
                    torch::full({2, 3, 6, 8}, 100.0));

  // addmm (the MoE experts: w is [in, out]); operands that arrive already in bf16 keep their
  // gradient path through the conversion.
  auto m = torch::randn({7, 16}, torch::requires_grad());
  auto w2 = torch::randn({16, 12}, torch::requires_grad());
  auto b2 = torch::randn({12}, torch::requires_grad());
  auto g2 = torch::randn({7, 12});
  {
    PrecisionGuard guard(Precision::kBf16);
    auto y2 = kernels::addmm(to_compute(b2), m, to_compute(w2));
    expect_fp32_close(y2, torch::matmul(r64(m.detach()), r64(w2.detach())) + r64(b2.detach()),
                      torch::full({7, 12}, 100.0));
    (y2 * g2).sum().backward();
  }
  // w2's gradient went through a bf16 tensor: rounded to bf16 on the way (relative 2^-8).
  auto want_w2 = torch::matmul(r64(m.detach()).t(), r64(g2));
  EXPECT_TRUE((w2.grad().to(torch::kDouble) - want_w2).abs().le(want_w2.abs() / 256 + 1e-6).all().item<bool>());
  expect_fp32_close(m.grad(), torch::matmul(r64(g2), r64(w2.detach()).t()), torch::full({7, 16}, 100.0));
}

}  // namespace
}  // namespace strata::kernels
