// Tests of nmt/train/objectives/fuse_distillation.h.
#include "nmt/train/objectives/fuse_distillation.h"

#include <gtest/gtest.h>

#include "nmt/train/loss.h"
#include "tests/train/train_test_util.h"

using namespace strata;
using namespace strata::nmt;

TEST(FuseDistillationTermTest, AveragesBothSidesPlusWeightedKlAndLogsItsParts) {
  nmt::Config cfg = test::tiny_config();
  EXPECT_FALSE(FuseDistillationTerm::make({cfg}));  // off unless configured
  cfg.train.label_smoothing = 0.1;
  Transformer m = test::tiny_fd_model(cfg, 0.7);
  test::TinyBatch tb;
  const Batch& b = tb.batch;
  auto keys = [&](bool shared) {
    return m->lms_keys(torch::tensor({0, 1}, torch::kLong), torch::tensor({1, 2}, torch::kLong),
                       shared);
  };
  MoeAux aux;
  auto lp = torch::log_softmax(m->forward(b.src, b.prev, nullptr, keys(false)), -1)
                .view({-1, test::kTinyVocab});
  const auto target = b.target.view(-1);
  LossContext ctx{m, b, lp, torch::Tensor(), target, aux, keys};
  auto ce = label_smoothed_nll(lp, target, 0.1, 0).loss;
  auto term = FuseDistillationTerm::make({cfg});
  ASSERT_TRUE(term);
  TrainMetrics metrics;
  // With the full distribution made (another term needed it): the plain composition.
  auto loss = term->apply(ctx, torch::Tensor(), metrics);
  auto lps = torch::log_softmax(m->forward(b.src, b.prev, nullptr, keys(true)), -1)
                 .view({-1, test::kTinyVocab});
  auto sh = label_smoothed_nll(lps, target, 0.1, 0).loss;
  auto kl = symmetric_kl(lp, lps, target, 0);
  EXPECT_GT(kl.item<double>(), 0.0);
  EXPECT_TRUE(torch::equal(loss, 0.5 * (ce + sh) + 0.7 * kl));
  EXPECT_EQ(metrics.get("fd.ce_ls"), ce.item<double>());
  EXPECT_EQ(metrics.get("ce.loss"), ce.item<double>());  // the CE term's metric, which it replaces
  EXPECT_EQ(metrics.get("fd.ce_sh"), sh.item<double>());
  EXPECT_EQ(metrics.get("fd.kl"), kl.item<double>());
  metrics.add("target_tokens", 6);
  nlohmann::json record;
  EXPECT_NE(term->log(metrics, record).find("fuse distillation: ce_ls"), std::string::npos);
  EXPECT_NEAR(record["fd"]["loss"].get<double>(), loss.item<double>() / 6, 1e-5);
  EXPECT_DOUBLE_EQ(record["fd"]["kl"].get<double>(), kl.item<double>() / 6);
  EXPECT_TRUE(record["fd"].contains("ce_ls") && record["fd"].contains("ce_sh"));
  EXPECT_TRUE(record.contains("loss") && record.contains("nll"));
  // Without it: the fused kernel from the decoder states, to rounding.
  auto states = m->decode_states(b.prev, m->encode(b.src, nullptr, keys(false)));
  LossContext fused{m, b, torch::Tensor(), states.view({-1, states.size(-1)}), target, aux, keys};
  TrainMetrics m2;
  auto loss2 = term->apply(fused, torch::Tensor(), m2);
  EXPECT_NEAR(loss2.item<double>(), loss.item<double>(), 1e-4 * loss.item<double>());
  EXPECT_NEAR(m2.get("fd.kl"), kl.item<double>(), 1e-5 + 1e-3 * kl.item<double>());
  EXPECT_NEAR(m2.get("fd.ce_sh"), sh.item<double>(), 1e-4 * sh.item<double>());
}
