// kernels/output_loss: the fused, chunked output layer + label-smoothed CE against the plain
// composition (projection, log_softmax, nmt::label_smoothed_nll) in fp64, its gradients against
// autograd of that composition and against finite differences, and in bf16 against fp32.
#include "kernels/output_loss.h"

#include <gtest/gtest.h>

#include "kernels/precision.h"
#include "nmt/train/loss.h"

namespace strata::kernels {
namespace {

struct Case {
  torch::Tensor h, w, t;
};

Case make_case(int64_t N, int64_t d, int64_t V, uint64_t seed) {
  torch::manual_seed(seed);
  Case c{torch::randn({N, d}), torch::randn({V, d}) * 0.5, torch::randint(1, V, {N}, torch::kLong)};
  c.t[1] = 0;  // a pad row
  c.t[N - 1] = 0;
  return c;
}

// The plain composition, in the dtype of h and w.
nmt::LossOut plain(const torch::Tensor& h, const torch::Tensor& w, const torch::Tensor& t, double eps) {
  return nmt::label_smoothed_nll(torch::log_softmax(torch::matmul(h, w.t()), -1), t, eps, 0);
}

TEST(OutputLossTest, LossAndNllMatchThePlainCompositionInEveryChunking) {
  auto c = make_case(37, 16, 50, 1);
  auto ref = plain(c.h.to(torch::kDouble), c.w.to(torch::kDouble), c.t, 0.1);
  for (int64_t rows : {0, 1, 5, 36, 37, 100}) {
    auto out = output_layer_loss(c.h, c.w, c.t, 0.1, 0, rows);
    EXPECT_NEAR(out.loss.item<double>(), ref.loss.item<double>(), 1e-4) << rows;
    EXPECT_NEAR(out.nll.item<double>(), ref.nll.item<double>(), 1e-4) << rows;
    EXPECT_FALSE(out.nll.requires_grad());
  }
}

TEST(OutputLossTest, GradientsMatchAutogradOfThePlainComposition) {
  auto c = make_case(29, 12, 40, 2);
  for (double eps : {0.0, 0.1}) {
    auto h = c.h.to(torch::kDouble).requires_grad_(), w = c.w.to(torch::kDouble).requires_grad_();
    (plain(h, w, c.t, eps).loss * 0.3).backward();
    auto h32 = c.h.clone().requires_grad_(), w32 = c.w.clone().requires_grad_();
    (output_layer_loss(h32, w32, c.t, eps, 0, 7).loss * 0.3).backward();
    EXPECT_TRUE(torch::allclose(h32.grad().to(torch::kDouble), h.grad(), 1e-4, 1e-5)) << eps;
    EXPECT_TRUE(torch::allclose(w32.grad().to(torch::kDouble), w.grad(), 1e-4, 1e-5)) << eps;
    // Pad rows get no gradient.
    EXPECT_EQ(h32.grad()[1].abs().sum().item<double>(), 0.0);
  }
}

TEST(OutputLossTest, GradientOfHiddenMatchesFiniteDifferences) {
  auto c = make_case(6, 5, 9, 3);
  auto h = c.h.clone().requires_grad_();
  output_layer_loss(h, c.w, c.t, 0.1, 0).loss.backward();
  const double step = 1e-3;
  auto h64 = c.h.to(torch::kDouble), w64 = c.w.to(torch::kDouble);
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 5; ++j) {
      auto hp = h64.clone(), hm = h64.clone();
      hp[i][j] += step;
      hm[i][j] -= step;
      double fd = (plain(hp, w64, c.t, 0.1).loss.item<double>() -
                   plain(hm, w64, c.t, 0.1).loss.item<double>()) / (2 * step);
      EXPECT_NEAR(h.grad()[i][j].item<double>(), fd, 1e-4) << i << "," << j;
    }
}

TEST(OutputLossTest, NoGradientWorkWithoutGrad) {
  auto c = make_case(10, 8, 20, 4);
  torch::NoGradGuard ng;
  auto out = output_layer_loss(c.h, c.w, c.t, 0.1, 0);
  EXPECT_FALSE(out.loss.requires_grad());
  EXPECT_NEAR(out.loss.item<double>(), plain(c.h, c.w, c.t, 0.1).loss.item<double>(), 1e-3);
}

TEST(OutputLossTest, Bf16StaysCloseToFp32) {
  auto c = make_case(300, 64, 1000, 5);
  auto h = c.h.clone().requires_grad_(), w = c.w.clone().requires_grad_();
  auto f32 = output_layer_loss(h, w, c.t, 0.1, 0);
  f32.loss.backward();
  auto dh = h.grad().clone(), dw = w.grad().clone();
  h.mutable_grad().zero_();
  w.mutable_grad().zero_();
  PrecisionGuard g(Precision::kBf16);
  auto b16 = output_layer_loss(h, w, c.t, 0.1, 0);
  b16.loss.backward();
  EXPECT_NEAR(b16.loss.item<double>() / f32.loss.item<double>(), 1.0, 1e-2);
  EXPECT_LT(((h.grad() - dh).norm() / dh.norm()).item<double>(), 3e-2);
  EXPECT_LT(((w.grad() - dw).norm() / dw.norm()).item<double>(), 3e-2);
}

TEST(OutputLossTest, RejectsMismatchedShapes) {
  auto c = make_case(5, 4, 10, 6);
  EXPECT_THROW(output_layer_loss(c.h, c.w.t(), c.t, 0.1, 0), c10::Error);
  EXPECT_THROW(output_layer_loss(c.h, c.w, c.t.slice(0, 0, 3), 0.1, 0), c10::Error);
}

}  // namespace
}  // namespace strata::kernels
