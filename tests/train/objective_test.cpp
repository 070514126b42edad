// Tests of nmt/train/objectives/objective.h: the assembled recipe gives the loss and, bit for
// bit, the gradients of the hand-written expression (what the trainer computed before the terms
// had their own files; training stays deterministic across the refactoring).
#include "nmt/train/objectives/objective.h"

#include <gtest/gtest.h>

#include "kernels/output_loss.h"

#include "nmt/train/loss.h"
#include "tests/train/train_test_util.h"

using namespace strata;
using namespace strata::nmt;

namespace {

const LmsLanguages kLms({"en", "de", "fr"}, {"en", "de", "fr"}, "valid.tsv");

// The recipe's loss of `b` for `m` and the gradients it gives (from zero).
torch::Tensor recipe_loss(const nmt::Config& cfg, Transformer& m, const Batch& b, double norm,
                          TrainMetrics& metrics, std::vector<torch::Tensor>* grads) {
  Objective objective({cfg});
  m->zero_grad();
  auto loss = objective.loss(m, b, norm, kLms, metrics);
  loss.backward();
  *grads = test::grads(*m);
  m->zero_grad();
  return loss;
}

}  // namespace

TEST(ObjectiveTest, CrossEntropyAndRouterLossesEqualTheHandWrittenExpressionBitwise) {
  nmt::Config cfg = test::tiny_config();
  cfg.train.label_smoothing = 0.1;
  cfg.train.update_freq = 2;
  cfg.model.moe.type = "switch";
  cfg.model.moe.num_experts = 4;
  cfg.model.moe.every_k_layers = 1;
  cfg.model.moe.z_loss_weight = 0.001;
  Transformer m = test::tiny_model(cfg);
  test::TinyBatch tb;
  const Batch& b = tb.batch;
  const double norm = 7;
  TrainMetrics metrics;
  std::vector<torch::Tensor> got;
  auto loss = recipe_loss(cfg, m, b, norm, metrics, &got);
  MoeAux aux;
  // The cross-entropy alone: the output layer and the loss fused (kernels/output_loss.h).
  auto states = m->decode_states(b.prev, m->encode(b.src, &aux), &aux);
  auto l = kernels::output_layer_loss(states.view({-1, states.size(-1)}), m->embed->weight,
                                      b.target.view(-1), 0.1, 0);
  ASSERT_EQ(aux.layers, 2);
  auto want = l.loss / norm + (0.01 * aux.aux_loss + 0.001 * aux.z_loss) / (2.0 * 2);
  want.backward();
  EXPECT_EQ(loss.item<double>(), want.item<double>());
  EXPECT_TRUE(test::same_grads(got, test::grads(*m)));
  EXPECT_EQ(metrics.get("ce.loss"), l.loss.item<double>());
  {  // which is the plain label-smoothed CE over the whole log-softmax, up to rounding
    torch::NoGradGuard ng;
    auto lp = torch::log_softmax(m->forward(b.src, b.prev), -1).view({-1, m->options.vocab_size()});
    EXPECT_NEAR(metrics.get("ce.loss"), label_smoothed_nll(lp, b.target.view(-1), 0.1, 0).loss.item<double>(),
                1e-4 * metrics.get("ce.loss"));
  }
  EXPECT_EQ(metrics.get("target_tokens"), b.target_tokens);
  EXPECT_EQ(metrics.get("input_tokens"), b.src.numel() + b.prev.numel());
  EXPECT_EQ(metrics.get("moe.batches"), 1);
  // The log: the CE's keys, then the router's part and its progress line.
  nlohmann::json record;
  auto lines = Objective({cfg}).log(metrics, record);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("[train]   moe: aux"), std::string::npos);
  EXPECT_TRUE(record.contains("loss") && record.contains("nll") && record.contains("moe"));
  EXPECT_FALSE(record.contains("fd") || record.contains("kd"));
}

TEST(ObjectiveTest, FuseDistillationRecipeEqualsTheHandWrittenExpressionBitwise) {
  nmt::Config cfg = test::tiny_config();
  Transformer m = test::tiny_fd_model(cfg, 0.5);
  test::TinyBatch tb;
  const Batch& b = tb.batch;
  const double norm = 5;
  TrainMetrics metrics;
  std::vector<torch::Tensor> got;
  recipe_loss(cfg, m, b, norm, metrics, &got);
  auto keys = [&](bool shared) { return kLms.keys(m, b.examples, false, shared); };
  // Both passes' states through the fused output layer + loss (kernels/output_loss.h).
  auto ls = m->decode_states(b.prev, m->encode(b.src, nullptr, keys(false)));
  auto sh = m->decode_states(b.prev, m->encode(b.src, nullptr, keys(true)));
  auto f = kernels::output_layer_fd_loss(ls.view({-1, ls.size(-1)}), sh.view({-1, sh.size(-1)}),
                                         m->embed->weight, b.target.view(-1), 0.1, 0.5, 0);
  (f.loss / norm).backward();
  EXPECT_TRUE(test::same_grads(got, test::grads(*m)));
  EXPECT_EQ(metrics.get("ce.loss"), f.ce_a.item<double>());
  EXPECT_EQ(metrics.get("fd.kl"), f.kl.item<double>());
  {  // which is the plain composition over the whole log-softmaxes, up to rounding
    torch::NoGradGuard ng;
    auto logits = m->forward(b.src, b.prev, nullptr, keys(false));
    auto lp = torch::log_softmax(logits, -1).view({-1, logits.size(-1)});
    auto l = label_smoothed_nll(lp, b.target.view(-1), 0.1, 0);
    auto s = m->forward(b.src, b.prev, nullptr, keys(true));
    auto lps = torch::log_softmax(s, -1).view({-1, s.size(-1)});
    auto l2 = label_smoothed_nll(lps, b.target.view(-1), 0.1, 0);
    auto kl = symmetric_kl(lp, lps, b.target.view(-1), 0);
    auto want = 0.5 * (l.loss + l2.loss) + 0.5 * kl;
    EXPECT_NEAR(f.loss.item<double>(), want.item<double>(), 1e-4 * want.item<double>());
    EXPECT_NEAR(metrics.get("fd.kl"), kl.item<double>(), 1e-4 + 1e-3 * kl.item<double>());
  }
  nlohmann::json record;
  Objective({cfg}).log(metrics, record);
  EXPECT_TRUE(record.contains("fd") && record.contains("loss") && record.contains("nll"));
  EXPECT_FALSE(record.contains("moe"));  // a dense model: no router record
}
