// kernels/output_loss: the fused, chunked output layer + label-smoothed CE against the plain
// composition (projection, log_softmax, nmt::label_smoothed_nll) in fp64, its gradients against
// autograd of that composition and against finite differences, and in bf16 against fp32.
#include "kernels/output_loss.h"

#include <gtest/gtest.h>

#include "kernels/cpu_dispatch.h"
#include "kernels/loss_rows.h"
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

// kernels/loss_rows: the one-kernel element work, row by row against the same formulas in fp64
// (lse by log_softmax), over vocabularies that end inside a vector (the masked tails), with logits
// far apart (exp underflows to 0 for most of a row); and the whole loss with and without it.
TEST(ParallelTest, KernelLoopsRunOnTheThreadsLibTorchIsGiven) {
#if defined(__GNUC__) && !defined(__clang__)
  const int before = at::get_num_threads();
  at::set_num_threads(2);
  EXPECT_EQ(parallel_for_threads(64), 2);  // 1 if the kernels were compiled without OpenMP
  at::set_num_threads(1);
  EXPECT_EQ(parallel_for_threads(64), 1);
  at::set_num_threads(before);
#else
  GTEST_SKIP() << "clang builds keep the kernels' loops serial (CMakeLists.txt: OpenMP)";
#endif
}

TEST(LossRowsTest, EachRowMatchesTheFormulasInFp64) {
  if (!smoothed_ce_rows_available()) GTEST_SKIP() << "no AVX-512 on this CPU";
  const double eps = 0.1;
  for (int64_t V : {1, 7, 16, 17, 33, 1000, 8000}) {
    torch::manual_seed(V);
    const int64_t c = 9;
    auto z = torch::randn({c, V}) * 4.0;
    z[2] *= 30.0;  // a row whose softmax is nearly one-hot
    auto t = torch::randint(0, V, {c}, torch::kLong);
    auto keep = torch::ones({c});
    keep[4] = 0.f;
    const double eps_i = V > 1 ? eps / (V - 1) : 0.0, w_nll = 1.0 - eps - eps_i;
    auto z64 = z.to(torch::kDouble);
    auto lp = torch::log_softmax(z64, 1);
    auto nll = -lp.gather(1, t.unsqueeze(1)).squeeze(1);
    auto loss = nll * w_nll - lp.sum(1) * eps_i;
    auto onehot = torch::zeros_like(z64).scatter_(1, t.unsqueeze(1), 1.0);
    auto grad = (lp.exp() - eps_i - onehot * w_nll) * keep.to(torch::kDouble).unsqueeze(1);
    auto r = smoothed_ce_rows(z.clone(), t, keep, eps_i, w_nll, true, torch::kFloat);
    EXPECT_TRUE(torch::allclose(r.nll.to(torch::kDouble), nll, 1e-5, 1e-5)) << V;
    EXPECT_TRUE(torch::allclose(r.loss.to(torch::kDouble), loss, 1e-5, 1e-5)) << V;
    EXPECT_LT((r.grad.to(torch::kDouble) - grad).abs().max().item<double>(), 1e-6) << V;
    EXPECT_EQ(r.grad[4].abs().sum().item<double>(), 0.0) << V;  // keep 0: no gradient
    auto no_grad = smoothed_ce_rows(z.clone(), t, keep, eps_i, w_nll, false, torch::kFloat);
    EXPECT_FALSE(no_grad.grad.defined());
    EXPECT_TRUE(torch::equal(no_grad.loss, r.loss)) << V;
    if (cpu_has_avx512_bf16()) {
      // bf16 gradient: the f32 one rounded to nearest even, as LibTorch's conversion rounds it.
      auto b = smoothed_ce_rows(z.clone(), t, keep, eps_i, w_nll, true, torch::kBFloat16);
      ASSERT_EQ(b.grad.scalar_type(), torch::kBFloat16);
      EXPECT_TRUE(torch::equal(b.grad, r.grad.to(torch::kBFloat16))) << V;
    }
  }
  auto z = torch::randn({3, 10});
  EXPECT_THROW(smoothed_ce_rows(z, torch::tensor({0, 10, 2}), torch::ones({3}), 0.01, 0.9, true,
                                torch::kFloat),
               c10::Error);  // a target outside the vocabulary
  EXPECT_THROW(smoothed_ce_rows(z.t(), torch::tensor({0, 1, 2}), torch::ones({3}), 0.01, 0.9,
                                true, torch::kFloat),
               c10::Error);  // not contiguous
}

TEST(LossRowsTest, OutputLossIsTheSameWithAndWithoutTheRowsKernel) {
  if (!smoothed_ce_rows_available()) GTEST_SKIP() << "no AVX-512 on this CPU";
  auto c = make_case(300, 32, 1003, 8);
  for (Precision p : {Precision::kFp32, Precision::kBf16}) {
    PrecisionGuard g(p);
    torch::Tensor loss[2], dh[2], dw[2];
    for (int on = 0; on < 2; ++on) {
      loss_rows_kernel_enabled() = on == 1;
      auto h = c.h.clone().requires_grad_(), w = c.w.clone().requires_grad_();
      auto out = output_layer_loss(h, w, c.t, 0.1, 0, 64);
      out.loss.backward();
      loss[on] = out.loss.detach();
      dh[on] = h.grad();
      dw[on] = w.grad();
    }
    loss_rows_kernel_enabled() = true;
    const bool f32 = p == Precision::kFp32;
    EXPECT_NEAR(loss[1].item<double>(), loss[0].item<double>(), 1e-5 * loss[0].item<double>());
    // fp32: the same gradient to rounding; bf16: the gradients rounded to bf16 where an fp32
    // difference in the last place may round the other way.
    const double tol = f32 ? 1e-5 : 1e-2;
    EXPECT_LT(((dh[1] - dh[0]).norm() / dh[0].norm()).item<double>(), tol) << f32;
    EXPECT_LT(((dw[1] - dw[0]).norm() / dw[0].norm()).item<double>(), tol) << f32;
  }
}

// Fuse Distillation's fused loss against the plain composition: two log_softmaxes,
// nmt::label_smoothed_nll of each and nmt::symmetric_kl (hand-checked in tests/model/lms_test.cpp).
struct FdPlain {
  torch::Tensor loss, ce_a, ce_b, kl, nll_a;
};

FdPlain fd_plain(const torch::Tensor& ha, const torch::Tensor& hb, const torch::Tensor& w,
                 const torch::Tensor& t, double eps, double lambda) {
  auto lp = torch::log_softmax(torch::matmul(ha, w.t()), -1);
  auto lq = torch::log_softmax(torch::matmul(hb, w.t()), -1);
  auto a = nmt::label_smoothed_nll(lp, t, eps, 0), b = nmt::label_smoothed_nll(lq, t, eps, 0);
  auto kl = nmt::symmetric_kl(lp, lq, t, 0);
  return {0.5 * (a.loss + b.loss) + lambda * kl, a.loss, b.loss, kl, a.nll};
}

TEST(OutputFdLossTest, EveryPartMatchesThePlainCompositionInEveryChunking) {
  auto c = make_case(37, 16, 50, 7);
  auto hb = c.h + 0.7 * torch::randn_like(c.h);
  auto ref = fd_plain(c.h.to(torch::kDouble), hb.to(torch::kDouble), c.w.to(torch::kDouble), c.t,
                      0.1, 0.8);
  ASSERT_GT(ref.kl.item<double>(), 0.1);  // the two sides differ
  for (int64_t rows : {0, 1, 5, 36, 37, 100}) {
    auto out = output_layer_fd_loss(c.h, hb, c.w, c.t, 0.1, 0.8, 0, rows);
    EXPECT_NEAR(out.loss.item<double>(), ref.loss.item<double>(), 1e-4) << rows;
    EXPECT_NEAR(out.ce_a.item<double>(), ref.ce_a.item<double>(), 1e-4) << rows;
    EXPECT_NEAR(out.ce_b.item<double>(), ref.ce_b.item<double>(), 1e-4) << rows;
    EXPECT_NEAR(out.kl.item<double>(), ref.kl.item<double>(), 1e-5) << rows;
    EXPECT_NEAR(out.nll_a.item<double>(), ref.nll_a.item<double>(), 1e-4) << rows;
    EXPECT_FALSE(out.kl.requires_grad());
  }
  // One pass twice: no divergence, and the loss is that pass's CE.
  auto same = output_layer_fd_loss(c.h, c.h, c.w, c.t, 0.1, 0.8, 0);
  EXPECT_NEAR(same.kl.item<double>(), 0.0, 1e-6);
  EXPECT_NEAR(same.loss.item<double>(), output_layer_loss(c.h, c.w, c.t, 0.1, 0).loss.item<double>(),
              1e-4);
}

TEST(OutputFdLossTest, GradientsMatchAutogradOfThePlainComposition) {
  auto c = make_case(29, 12, 40, 8);
  auto hb = c.h + 0.5 * torch::randn_like(c.h);
  for (double eps : {0.0, 0.1})
    for (double lambda : {0.0, 0.5, 2.0}) {
      auto a = c.h.to(torch::kDouble).requires_grad_(), b = hb.to(torch::kDouble).requires_grad_();
      auto w = c.w.to(torch::kDouble).requires_grad_();
      (fd_plain(a, b, w, c.t, eps, lambda).loss * 0.3).backward();
      auto a32 = c.h.clone().requires_grad_(), b32 = hb.clone().requires_grad_();
      auto w32 = c.w.clone().requires_grad_();
      (output_layer_fd_loss(a32, b32, w32, c.t, eps, lambda, 0, 7).loss * 0.3).backward();
      EXPECT_TRUE(torch::allclose(a32.grad().to(torch::kDouble), a.grad(), 1e-4, 1e-5))
          << eps << " " << lambda;
      EXPECT_TRUE(torch::allclose(b32.grad().to(torch::kDouble), b.grad(), 1e-4, 1e-5))
          << eps << " " << lambda;
      EXPECT_TRUE(torch::allclose(w32.grad().to(torch::kDouble), w.grad(), 1e-4, 1e-5))
          << eps << " " << lambda;
      EXPECT_EQ(a32.grad()[1].abs().sum().item<double>(), 0.0);  // pad rows: none
      EXPECT_EQ(b32.grad()[1].abs().sum().item<double>(), 0.0);
    }
}

TEST(OutputFdLossTest, GradientOfTheSharedSideMatchesFiniteDifferences) {
  auto c = make_case(6, 5, 9, 9);
  auto hb = c.h + 0.5 * torch::randn_like(c.h);
  auto b = hb.clone().requires_grad_();
  output_layer_fd_loss(c.h, b, c.w, c.t, 0.1, 1.0, 0).loss.backward();
  const double step = 1e-3;
  auto a64 = c.h.to(torch::kDouble), b64 = hb.to(torch::kDouble), w64 = c.w.to(torch::kDouble);
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 5; ++j) {
      auto bp = b64.clone(), bm = b64.clone();
      bp[i][j] += step;
      bm[i][j] -= step;
      double fd = (fd_plain(a64, bp, w64, c.t, 0.1, 1.0).loss.item<double>() -
                   fd_plain(a64, bm, w64, c.t, 0.1, 1.0).loss.item<double>()) / (2 * step);
      EXPECT_NEAR(b.grad()[i][j].item<double>(), fd, 1e-4) << i << "," << j;
    }
}

TEST(OutputFdLossTest, Bf16StaysCloseToFp32AndBadShapesAreRejected) {
  auto c = make_case(300, 64, 1000, 10);
  auto hb0 = c.h + 0.5 * torch::randn_like(c.h);
  auto a = c.h.clone().requires_grad_(), b = hb0.clone().requires_grad_();
  auto w = c.w.clone().requires_grad_();
  auto f32 = output_layer_fd_loss(a, b, w, c.t, 0.1, 1.0, 0);
  f32.loss.backward();
  auto da = a.grad().clone(), db = b.grad().clone(), dw = w.grad().clone();
  for (auto* p : {&a, &b, &w}) p->mutable_grad().zero_();
  {
    PrecisionGuard g(Precision::kBf16);
    auto b16 = output_layer_fd_loss(a, b, w, c.t, 0.1, 1.0, 0);
    b16.loss.backward();
    EXPECT_NEAR(b16.loss.item<double>() / f32.loss.item<double>(), 1.0, 1e-2);
    EXPECT_NEAR(b16.kl.item<double>() / f32.kl.item<double>(), 1.0, 5e-2);
  }
  EXPECT_LT(((a.grad() - da).norm() / da.norm()).item<double>(), 3e-2);
  EXPECT_LT(((b.grad() - db).norm() / db.norm()).item<double>(), 3e-2);
  EXPECT_LT(((w.grad() - dw).norm() / dw.norm()).item<double>(), 3e-2);
  EXPECT_THROW(output_layer_fd_loss(c.h, c.h.slice(0, 0, 5), c.w, c.t, 0.1, 1.0, 0), c10::Error);
  EXPECT_THROW(output_layer_fd_loss(c.h, c.h, c.w.t(), c.t, 0.1, 1.0, 0), c10::Error);
}

}  // namespace
}  // namespace strata::kernels
