// Tests of nmt/train/objectives/cross_entropy.h.
#include "nmt/train/objectives/cross_entropy.h"

#include <gtest/gtest.h>

#include "nmt/train/loss.h"
#include "tests/train/train_test_util.h"

using namespace strata;
using namespace strata::nmt;

TEST(CrossEntropyTermTest, IsTheLabelSmoothedCrossEntropyAndLogsItPerToken) {
  nmt::Config cfg = test::tiny_config();
  cfg.train.label_smoothing = 0.1;
  Transformer m = test::tiny_model(cfg);
  test::TinyBatch tb;
  const Batch& b = tb.batch;
  MoeAux aux;
  auto lp = torch::log_softmax(m->forward(b.src, b.prev), -1).view({-1, test::kTinyVocab});
  LossContext ctx{m, b, lp, torch::Tensor(), b.target.view(-1), aux, [](bool) { return LmsKeys(); }};
  auto term = CrossEntropyTerm::make({cfg});
  ASSERT_TRUE(term);
  TrainMetrics metrics;
  auto loss = term->apply(ctx, torch::Tensor(), metrics);
  auto want = label_smoothed_nll(lp, b.target.view(-1), 0.1, 0);
  EXPECT_TRUE(torch::equal(loss, want.loss));
  EXPECT_EQ(metrics.get("ce.loss"), want.loss.item<double>());
  EXPECT_EQ(metrics.get("ce.nll"), want.nll.item<double>());
  metrics.add("target_tokens", 6);
  nlohmann::json record;
  EXPECT_EQ(term->log(metrics, record), "");
  EXPECT_DOUBLE_EQ(record["loss"].get<double>(), want.loss.item<double>() / 6);
  EXPECT_DOUBLE_EQ(record["nll"].get<double>(), want.nll.item<double>() / 6);
}
