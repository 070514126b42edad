// Tests of nmt/train/objectives/word_kd.h and nmt/train/kd_teacher.h.
#include "nmt/train/objectives/word_kd.h"

#include <gtest/gtest.h>

#include "nmt/util/error.h"
#include "data/spm.h"
#include "nmt/train/loss.h"
#include "tests/torch_test_util.h"
#include "tests/train/train_test_util.h"

using namespace strata;
using namespace strata::nmt;

TEST(WordKdTermTest, InterpolatesCrossEntropyWithTheTeachersAndLogsIt) {
  test::TempDir d;
  test::make_tiny_corpus(d);
  const std::string spm = d / "data/spm.model";
  data::Tokenizer tok(spm);
  nmt::Config cfg = test::tiny_config();
  EXPECT_FALSE(WordKdTerm::make({cfg}));  // no teacher: off
  cfg.train.kd_weight = 0.3;
  torch::manual_seed(2);
  Transformer teacher_model = build_model(cfg.model, tok.vocab_size());
  const std::vector<std::string> langs{"en", "de", "fr"};
  save_checkpoint(d / "teacher.pt", cfg, langs, tok.serialized(), teacher_model, nullptr, nullptr);
  // The teacher must share the SentencePiece model and know every training language.
  EXPECT_THROW(KdTeacher(d / "teacher.pt", tok, spm, {"en", "de", "ja"}), Error);
  KdTeacher teacher(d / "teacher.pt", tok, spm, langs);
  Transformer m = build_model(cfg.model, tok.vocab_size());
  test::TinyBatch tb;
  const Batch& b = tb.batch;
  MoeAux aux;
  auto lp = torch::log_softmax(m->forward(b.src, b.prev), -1).view({-1, tok.vocab_size()});
  const auto target = b.target.view(-1);
  LossContext ctx{m, b, lp, torch::Tensor(), target, aux, [](bool) { return LmsKeys(); }};
  auto ce = label_smoothed_nll(lp, target, 0.0, 0).loss;
  auto term = WordKdTerm::make({cfg, &teacher});
  ASSERT_TRUE(term);
  TrainMetrics metrics;
  auto loss = term->apply(ctx, ce, metrics);
  teacher_model->eval();
  torch::Tensor lt;
  {
    torch::NoGradGuard ng;
    auto logits = teacher_model->forward(b.src, b.prev);
    lt = torch::log_softmax(logits, -1).view({-1, tok.vocab_size()});
  }
  EXPECT_TRUE(torch::equal(teacher.lprobs(b), lt));
  auto kd = distill_ce(lp, lt, target, 0);
  EXPECT_TRUE(torch::equal(loss, 0.7 * ce + 0.3 * kd));
  EXPECT_EQ(metrics.get("kd.ce_teacher"), kd.item<double>());
  metrics.add("target_tokens", 6);
  nlohmann::json record;
  EXPECT_NE(term->log(metrics, record).find("word-level KD: ce vs teacher"), std::string::npos);
  EXPECT_DOUBLE_EQ(record["kd"]["ce_teacher"].get<double>(), kd.item<double>() / 6);
  EXPECT_EQ(record["kd"]["weight"], 0.3);
}
