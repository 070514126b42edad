// nmt/train/loss: label-smoothed cross-entropy and the learning-rate schedule, by hand.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "nmt/train/loss.h"

using namespace strata;
using namespace strata::nmt;

TEST(LossTest, LabelSmoothingMatchesHandComputation) {
  // V = 4, eps = 0.1: eps_i = 0.1/3. One token with target 2, one pad (0) token.
  auto lp = torch::log_softmax(torch::tensor({{1.0, 2.0, 3.0, 4.0}, {0.5, 0.5, 0.5, 0.5}}), -1);
  auto out = label_smoothed_nll(lp, torch::tensor({2, 0}, torch::kLong), 0.1, 0);
  // log-softmax of [1,2,3,4]: x - logsumexp, logsumexp = 4.4401896985611957
  const double lse = 4.4401896985611957;
  const double nll = lse - 3.0;
  const double smooth = 4 * lse - 10.0;
  const double expect = (1 - 0.1 - 0.1 / 3) * nll + 0.1 / 3 * smooth;
  EXPECT_NEAR(out.nll.item<double>(), nll, 1e-5);
  EXPECT_NEAR(out.loss.item<double>(), expect, 1e-5);
}

TEST(LossTest, InverseSqrtScheduleHandValues) {
  EXPECT_DOUBLE_EQ(inverse_sqrt_lr(0, 1e-3, 100, 0.0), 0.0);
  EXPECT_DOUBLE_EQ(inverse_sqrt_lr(50, 1e-3, 100, 0.0), 5e-4);
  EXPECT_DOUBLE_EQ(inverse_sqrt_lr(100, 1e-3, 100, 0.0), 1e-3);
  EXPECT_DOUBLE_EQ(inverse_sqrt_lr(400, 1e-3, 100, 0.0), 5e-4);  // 1e-3 * sqrt(100/400)
  EXPECT_NEAR(inverse_sqrt_lr(25, 1e-3, 100, 1e-7), 1e-7 + 25 * (1e-3 - 1e-7) / 100, 1e-15);
}
