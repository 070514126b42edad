// kernels/linear: fp32 is LibTorch's own op bit for bit; bf16 agrees with a reference that rounds
// the operands to bf16 by hand and multiplies in fp64; gradients reach fp32 parameters as fp32.
#include "kernels/linear.h"

#include <gtest/gtest.h>

#include "kernels/precision.h"

namespace strata::kernels {
namespace {

// x·wᵀ + b with x and w rounded to bf16 (the bias stays fp32), accumulated in fp64: what a bf16
// product with fp32 accumulation computes, up to the accumulation order and the final rounding.
torch::Tensor bf16_reference(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  auto r = [](const torch::Tensor& t) { return t.to(torch::kBFloat16).to(torch::kDouble); };
  return (torch::matmul(r(x), r(w).t()) + b.to(torch::kDouble)).to(torch::kFloat);
}

TEST(PrecisionTest, GuardSetsAndRestoresTheThreadsPrecision) {
  EXPECT_EQ(compute_precision(), Precision::kFp32);
  {
    PrecisionGuard g(Precision::kBf16);
    EXPECT_EQ(compute_precision(), Precision::kBf16);
    {
      PrecisionGuard inner(Precision::kFp32);
      EXPECT_EQ(compute_precision(), Precision::kFp32);
    }
    EXPECT_EQ(compute_precision(), Precision::kBf16);
  }
  EXPECT_EQ(compute_precision(), Precision::kFp32);
  EXPECT_NE(resolve_precision(Precision::kAuto), Precision::kAuto);
  EXPECT_EQ(resolve_precision(Precision::kAuto),
            bf16_is_fast() ? Precision::kBf16 : Precision::kFp32);
}

TEST(LinearTest, Fp32IsLibTorchsOwnOpBitForBit) {
  torch::manual_seed(1);
  auto x = torch::randn({3, 5, 16}), w = torch::randn({8, 16}), b = torch::randn({8});
  EXPECT_TRUE(torch::equal(kernels::linear(x, w, b), torch::nn::functional::linear(x, w, b)));
  auto m = torch::randn({5, 16}), w2 = torch::randn({16, 8});
  EXPECT_TRUE(torch::equal(kernels::addmm(b, m, w2), torch::addmm(b, m, w2)));
  auto q = torch::randn({2, 4, 5, 8}), k = torch::randn({2, 4, 8, 6});
  EXPECT_TRUE(torch::equal(kernels::matmul(q, k), torch::matmul(q, k)));
  EXPECT_EQ(to_compute(x).scalar_type(), torch::kFloat);
}

TEST(LinearTest, Bf16MatchesRoundedOperandsAndReturnsFp32) {
  torch::manual_seed(2);
  auto x = torch::randn({64, 128}), w = torch::randn({96, 128}), b = torch::randn({96});
  PrecisionGuard g(Precision::kBf16);
  auto y = kernels::linear(x, w, b);
  EXPECT_EQ(y.scalar_type(), torch::kFloat);
  auto ref = bf16_reference(x, w, b);
  // At most rounded to bf16 once (relative 2^-8) on top of the fp32 accumulation (on CPU the
  // result comes out of oneDNN in fp32: tests/kernels/bf16_matmul_test.cpp holds it to fp32's
  // accuracy).
  auto tol = ref.abs() * (1.0 / 128) + 1e-3;
  EXPECT_TRUE((y - ref).abs().le(tol).all().item<bool>()) << (y - ref).abs().max();
  // And it differs from the fp32 product by about the operands' rounding: it really is bf16.
  auto exact = torch::nn::functional::linear(x, w, b);
  EXPECT_GT((y - exact).abs().max().item<double>(), 1e-3);
  auto m = torch::randn({64, 128}), w2 = torch::randn({128, 32}), b2 = torch::randn({32});
  auto ref2 = bf16_reference(m, w2.t(), b2);
  auto y2 = kernels::addmm(b2, m, w2);
  EXPECT_TRUE((y2 - ref2).abs().le(ref2.abs() / 128 + 1e-3).all().item<bool>());
  auto y3 = kernels::matmul(m.view({4, 16, 128}), w2);
  auto ref3 = bf16_reference(m, w2.t(), torch::zeros({32})).view({4, 16, 32});
  EXPECT_TRUE((y3 - ref3).abs().le(ref3.abs() / 128 + 1e-3).all().item<bool>());
}

TEST(LinearTest, Bf16GradientsAreFp32AndCloseToFp32Gradients) {
  torch::manual_seed(3);
  auto x = torch::randn({32, 64}, torch::requires_grad());
  auto w = torch::randn({48, 64}, torch::requires_grad()), b = torch::randn({48}, torch::requires_grad());
  auto go = torch::randn({32, 48});
  torch::Tensor dx, dw, db;
  {
    PrecisionGuard g(Precision::kBf16);
    (kernels::linear(x, w, b) * go).sum().backward();
  }
  dx = x.grad().clone(), dw = w.grad().clone(), db = b.grad().clone();
  for (auto* t : {&x, &w, &b}) t->mutable_grad().zero_();
  (torch::nn::functional::linear(x, w, b) * go).sum().backward();
  for (auto [lo, hi] : {std::pair{dx, x.grad()}, {dw, w.grad()}, {db, b.grad()}}) {
    EXPECT_EQ(lo.scalar_type(), torch::kFloat);
    const double rel = ((lo - hi).norm() / hi.norm()).item<double>();
    EXPECT_LT(rel, 2e-2) << rel;  // bf16 operands: ~3 significant digits
  }
}

TEST(LinearTest, Bf16IsDeterministic) {
  torch::manual_seed(4);
  auto x = torch::randn({200, 128}), w = torch::randn({512, 128}), b = torch::randn({512});
  PrecisionGuard g(Precision::kBf16);
  EXPECT_TRUE(torch::equal(kernels::linear(x, w, b), kernels::linear(x, w, b)));
}

}  // namespace
}  // namespace strata::kernels
