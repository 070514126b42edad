// Training end to end on the tiny corpus: memorising, exact resume, MoE models.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <torch/torch.h>

#include <filesystem>

#include "data/langs.h"
#include "data/prepare.h"
#include "data/spm.h"
#include "nmt/config.h"
#include "nmt/decode/translator.h"
#include "nmt/model/checkpoint.h"
#include "nmt/train/batcher.h"
#include "nmt/train/loss.h"
#include "nmt/util/error.h"
#include "tests/cli_test_util.h"

using namespace strata;
using namespace strata::nmt;
using test::expect_one_line_error;
using test::kStrata;
using test::make_tiny_corpus;
using test::tiny_train_config;

TEST(TrainTest, TinyModelMemorisesTwentyPairs) {
  test::TempDir d;
  std::string data_yaml = make_tiny_corpus(d);
  data::Tokenizer tok(d / "data/spm.model");
  std::vector<std::string> langs;
  auto rows = data::read_split(d / "data/train.tsv", &langs);
  ParallelData pd(rows, langs, tok, 30);
  std::vector<int> tags;
  for (const auto& l : langs) tags.push_back(tok.piece_id(data::lang_tag(l)));
  torch::manual_seed(1);
  auto m = Transformer(TransformerOptions(tok.vocab_size()).d_model(64).heads(4).ffn(128)
                           .encoder_layers(2).decoder_layers(2).dropout(0.0).max_positions(64));
  // en -> de, all 20 pairs in one batch.
  std::vector<Example> ex;
  for (uint32_t r = 0; r < 20; ++r) ex.push_back({r, 0, 1});
  Batch b = make_batch(pd, ex, tags, true);
  torch::optim::Adam opt(m->parameters(), torch::optim::AdamOptions(3e-3));
  m->train();
  for (int step = 0; step < 300; ++step) {
    opt.zero_grad();
    auto lp = torch::log_softmax(m->forward(b.src, b.prev), -1);
    auto l = label_smoothed_nll(lp.view({-1, lp.size(-1)}), b.target.view(-1), 0.0, 0);
    (l.loss / b.target_tokens).backward();
    opt.step();
  }
  SearchOptions so;
  so.beam = 1;
  so.banned = {0, 2};
  auto hyps = beam_search(m, b.src, std::vector<int64_t>(20, tags[1]), 3, so);
  int correct = 0;
  for (int i = 0; i < 20; ++i) {
    std::vector<int> t(hyps[i][0].tokens.begin(), hyps[i][0].tokens.end());
    correct += tok.decode(t) == rows[i].text[1];
  }
  EXPECT_EQ(correct, 20);
}

TEST(TrainTest, ResumedRunEqualsUninterruptedRun) {
  test::TempDir d;
  std::string data_yaml = make_tiny_corpus(d);
  // In both precisions (kernels/precision.h): bf16 runs, slowly, on any AVX-512 CPU.
  std::map<std::string, Checkpoint> uninterrupted;
  for (std::string precision : {"fp32", "bf16"}) {
    SCOPED_TRACE(precision);
    const std::string set = " --set train.precision=" + precision;
    // A: 8 updates in one go (validates and checkpoints at 4 and 8).
    auto a = test::run_command(kStrata + " train --config " +
                                   tiny_train_config(d, data_yaml, "a" + precision, 8, 4) + set,
                               d.str());
    ASSERT_EQ(a.status, 0) << a.err;
    // B: stopped after 4 updates, then resumed to 8 with the same config otherwise.
    std::string cfg_b = tiny_train_config(d, data_yaml, "b" + precision, 8, 4);
    auto b1 = test::run_command(
        kStrata + " train --config " + cfg_b + set + " --set train.max_updates=4", d.str());
    ASSERT_EQ(b1.status, 0) << b1.err;
    auto b2 = test::run_command(kStrata + " train --config " + cfg_b + set, d.str());
    ASSERT_EQ(b2.status, 0) << b2.err;
    EXPECT_NE(b2.err.find("resumed from"), std::string::npos) << b2.err;
    EXPECT_NE(b2.err.find(precision + " products"), std::string::npos) << b2.err;
    Checkpoint ca = load_checkpoint(d / ("a" + precision + "/last.pt")),
               cb = load_checkpoint(d / ("b" + precision + "/last.pt"));
    ASSERT_TRUE(ca.trainer && cb.trainer);
    EXPECT_EQ(ca.trainer->updates, 8);
    EXPECT_EQ(cb.trainer->updates, 8);
    auto pa = ca.model->named_parameters(), pb = cb.model->named_parameters();
    for (const auto& p : pa)
      EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
    // The JSON-lines log has train and valid events, and the start record names the precision.
    std::string log = test::read_file(d / ("a" + precision + "/train.jsonl"));
    EXPECT_NE(log.find("\"event\":\"valid\""), std::string::npos);
    EXPECT_NE(log.find("\"event\":\"train\""), std::string::npos);
    EXPECT_NE(log.find("\"precision\":\"" + precision + "\""), std::string::npos);
    uninterrupted.emplace(precision, std::move(ca));
  }
  // bf16 products really are different products: the weights after 8 updates differ from fp32's.
  auto p32 = uninterrupted.at("fp32").model->named_parameters();
  auto p16 = uninterrupted.at("bf16").model->named_parameters();
  double diff = 0;
  for (const auto& p : p32) diff += (p.value() - p16[p.key()]).abs().sum().item<double>();
  EXPECT_GT(diff, 0);
}

TEST(TrainTest, MoeModelsTrainTranslateAndLogExpertLoad) {
  test::TempDir d;
  std::string data_yaml = make_tiny_corpus(d);
  for (const char* type : {"switch", "gshard", "smoe"}) {
    std::string out = std::string("moe_") + type;
    std::string extra = std::string(type) == "smoe" ? " --set 'model.moe.strata=[2, 2]'" : "";
    auto r = test::run_command(kStrata + " train --config " +
                                   tiny_train_config(d, data_yaml, out, 5, 5) +
                                   " --set model.moe.type=" + type + extra +
                                   " --set model.moe.num_experts=4 --set model.moe.every_k_layers=1",
                               d.str());
    ASSERT_EQ(r.status, 0) << r.err;
    std::string log = test::read_file(d / (out + "/train.jsonl"));
    EXPECT_NE(log.find("\"moe\":{\"aux_loss\""), std::string::npos) << log;
    EXPECT_NE(log.find("\"expert_usage\":{\"dec0\":{\"de\":["), std::string::npos) << log;
    Checkpoint ck = load_checkpoint(d / (out + "/best.pt"));
    EXPECT_EQ(ck.config.model.moe.type, type);
    bool has_experts = false;
    for (const auto& p : ck.model->named_parameters())
      has_experts = has_experts || p.key().find("moe.experts.w1") != std::string::npos;  // smoe too
    EXPECT_TRUE(has_experts);
    test::write_file(d / "in.txt", "open the file\n");
    r = test::run_command(kStrata + " translate -m " + (d / (out + "/best.pt")) +
                              " --tgt-lang fr < " + (d / "in.txt"), d.str());
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1);
  }
}

// bf16 training re-executes itself with OMP_WAIT_POLICY=ACTIVE (nmt/util/system.h); fp32 keeps
// PASSIVE; a policy the user set is kept. The start record and the first progress line say which.
TEST(TrainTest, Bf16TrainingSpinsOpenMpThreadsUnlessTheUserChoseAPolicy) {
  test::TempDir d;
  std::string data_yaml = make_tiny_corpus(d);
  struct Case {
    std::string env, precision, want;
  };
  const char* outer = std::getenv("OMP_WAIT_POLICY");
  std::vector<Case> cases = {{"OMP_WAIT_POLICY=PASSIVE ", "bf16", "PASSIVE"},
                             {"OMP_WAIT_POLICY=ACTIVE ", "fp32", "ACTIVE"}};
  if (!outer) cases.insert(cases.end(), {{"", "fp32", "PASSIVE"}, {"", "bf16", "ACTIVE"}});
  int i = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.env + c.precision);
    const std::string out = "p" + std::to_string(i++);
    auto r = test::run_command(c.env + kStrata + " train --config " +
                                   tiny_train_config(d, data_yaml, out, 1, 1) +
                                   " --set train.precision=" + c.precision,
                               d.str());
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find("(OMP_WAIT_POLICY=" + c.want + "), " + c.precision + " products"),
              std::string::npos) << r.err;
    std::string log = test::read_file(d / (out + "/train.jsonl"));
    EXPECT_NE(log.find("\"omp_wait_policy\":\"" + c.want + "\""), std::string::npos) << log;
    // Re-executing starts once: one start record, one "parameters" line.
    size_t starts = 0;
    for (size_t p = log.find("\"event\":\"start\""); p != std::string::npos;
         p = log.find("\"event\":\"start\"", p + 1))
      ++starts;
    EXPECT_EQ(starts, 1u);
  }
}
