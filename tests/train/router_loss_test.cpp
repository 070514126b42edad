// Tests of nmt/train/objectives/router_loss.h.
#include "nmt/train/objectives/router_loss.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/train/train_test_util.h"

using namespace strata;
using namespace strata::nmt;

TEST(RouterLossTermTest, AddsTheWeightedMeanOverLayersOncePerUpdateAndLogsTheLastBatch) {
  nmt::Config cfg = test::tiny_config();
  cfg.model.moe.aux_loss_weight = 0.01;
  cfg.model.moe.z_loss_weight = 0.001;
  cfg.train.update_freq = 2;
  Transformer m = test::tiny_model(cfg);
  test::TinyBatch tb;
  MoeAux aux;
  aux.layers = 2;
  aux.aux_loss = torch::tensor(3.0, torch::kDouble);
  aux.z_loss = torch::tensor(5.0, torch::kDouble);
  aux.load = {torch::tensor({0.25, 0.75}), torch::tensor({0.5, 0.5})};
  aux.drop_rate = {0.1, 0.0};
  aux.agreement = {NAN, 0.5};
  LossContext ctx{m, tb.batch, torch::Tensor(), torch::Tensor(), torch::Tensor(), aux,
                  [](bool) { return LmsKeys(); }};
  auto term = RouterLossTerm::make({cfg});
  EXPECT_EQ(term->scale(), LossTerm::Scale::kUpdate);
  TrainMetrics metrics;
  auto loss = term->apply(ctx, torch::tensor(1.0, torch::kDouble), metrics);
  EXPECT_DOUBLE_EQ(loss.item<double>(), 1.0 + (0.01 * 3.0 + 0.001 * 5.0) / (2 * 2));
  EXPECT_EQ(metrics.get("moe.aux_loss"), 1.5);  // mean over the layers
  EXPECT_EQ(metrics.get("moe.batches"), 1);
  nlohmann::json record;
  EXPECT_NE(term->log(metrics, record).find("moe: aux 1.5000, drop rate 0.100"), std::string::npos);
  EXPECT_EQ(record["moe"]["aux_loss"], 1.5);
  EXPECT_EQ(record["moe"]["layers"][0]["load"].get<std::vector<double>>(),
            (std::vector<double>{0.25, 0.75}));
  EXPECT_TRUE(record["moe"]["layers"][0]["agreement"].is_null());
  EXPECT_EQ(record["moe"]["agreement"], 0.5);
  // A pass without MoE layers: the loss as it was, no record, the same metric names.
  TrainMetrics dense;
  MoeAux none;
  LossContext dense_ctx{m, tb.batch, torch::Tensor(), torch::Tensor(), torch::Tensor(), none,
                        [](bool) { return LmsKeys(); }};
  auto one = torch::tensor(1.0, torch::kDouble);
  EXPECT_TRUE(term->apply(dense_ctx, one, dense).is_same(one));
  EXPECT_EQ(dense.values().size(), 2u);
  nlohmann::json empty;
  auto fresh = RouterLossTerm::make({cfg});
  EXPECT_EQ(fresh->log(dense, empty), "");
  EXPECT_TRUE(empty.is_null());
}
