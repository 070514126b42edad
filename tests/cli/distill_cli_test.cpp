// strata distill: LMS + Fuse Distillation and condense; sequence- and word-level KD.
#include <gtest/gtest.h>
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

TEST(DistillCliTest, LmsFuseDistillationTrainsAndCondensesToADenseModel) {
  test::TempDir d;
  std::string data_yaml = make_tiny_corpus(d);
  auto r = test::run_command(kStrata + " train --config " +
                                 tiny_train_config(d, data_yaml, "lms", 6, 3) +
                                 " --set model.lms.mode=pair --set model.lms.rank=2"
                                 " --set model.lms.placement=ffn_attn"
                                 " --set train.fuse_distillation=true --set train.log_every=3",
                             d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  std::string log = test::read_file(d / "lms/train.jsonl");
  EXPECT_NE(log.find("\"fd\":{\"ce_ls\":"), std::string::npos) << log;
  EXPECT_NE(log.find("\"kl\":"), std::string::npos) << log;
  EXPECT_NE(log.find("\"nll_shared\":"), std::string::npos) << log;
  const std::string lms = d / "lms/best.pt", dense = d / "dense.pt";
  r = test::run_command(kStrata + " distill condense -m " + lms + " -o " + dense, d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("(LMS, mode pair, rank 2)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(dense, shared slot folded)"), std::string::npos) << r.out;
  Checkpoint cl = load_checkpoint(lms), cd = load_checkpoint(dense);
  EXPECT_EQ(cd.config.model.lms.mode, LmsMode::kNone);
  EXPECT_EQ(cd.langs, cl.langs);
  for (const auto& p : cd.model->named_parameters())
    EXPECT_EQ(p.key().find("lms_"), std::string::npos) << p.key();
  // 1 + 1 layers, N = 3, r = 2, d 32, ffn 64: fc1, fc2, self in/out, cross q/kv/out.
  const int64_t per_enc = 4 * 2 * ((32 + 64) * 2 + (32 + 96) + (32 + 32));
  const int64_t per_dec = per_enc + 4 * 2 * ((32 + 32) + (32 + 64) + (32 + 32));
  EXPECT_EQ(count_parameters(*cl.model) - count_parameters(*cd.model), per_enc + per_dec);
  EXPECT_NE(r.out.find(std::to_string(count_parameters(*cd.model)) + " parameters"),
            std::string::npos) << r.out;
  EXPECT_LT(std::filesystem::file_size(dense), std::filesystem::file_size(lms));
  // The trained banks moved away from F = 0, and the condensed model is the shared side.
  cl.model->eval();
  cd.model->eval();
  auto src = torch::tensor({{5, 6, 7, 3}, {8, 9, 3, 0}}, torch::kLong);
  auto prev = torch::tensor({{2, 8, 9}, {2, 5, 0}}, torch::kLong);
  auto sl = torch::tensor({0, 1}, torch::kLong), tl = torch::tensor({2, 0}, torch::kLong);
  torch::NoGradGuard ng;
  auto shared = cl.model->forward(src, prev, nullptr, cl.model->lms_keys(sl, tl, true));
  EXPECT_TRUE(torch::allclose(shared, cd.model->forward(src, prev), 1e-4, 1e-5));
  auto specific = cl.model->forward(src, prev, nullptr, cl.model->lms_keys(sl, tl));
  EXPECT_GT((specific - shared).abs().max().item<double>(), 0.0);
  // translate: the dense model as any other; the LMS model needs its source language.
  test::write_file(d / "in.txt", "open the file\nsave the page\n");
  r = test::run_command(kStrata + " translate -m " + dense + " --tgt-lang de < " + (d / "in.txt"),
                        d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2);
  r = test::run_command(kStrata + " translate -m " + lms + " --tgt-lang de --src-lang en < " +
                            (d / "in.txt"), d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2);
  r = test::run_command(kStrata + " translate -m " + lms + " --tgt-lang de < " + (d / "in.txt"),
                        d.str());
  expect_one_line_error(r, "--src-lang is required: this is an LMS model (model.lms.mode=pair)");
  r = test::run_command(kStrata + " translate -m " + lms + " --tgt-lang de --src-lang ja < " +
                            (d / "in.txt"), d.str());
  expect_one_line_error(r, "--src-lang: the model does not translate from 'ja'");
  // Bad inputs: a dense checkpoint, an unknown mode, a missing option.
  r = test::run_command(kStrata + " distill condense -m " + dense + " -o " + (d / "x.pt"), d.str());
  expect_one_line_error(r, "dense.pt: not an LMS model (model.lms.mode is none): nothing to condense");
  EXPECT_FALSE(std::filesystem::exists(d / "x.pt"));
  r = test::run_command(kStrata + " distill squeeze -m " + lms, d.str());
  expect_one_line_error(r, "distill: unknown mode 'squeeze' (modes: condense, kd)");
  r = test::run_command(kStrata + " distill condense -m " + lms, d.str());
  expect_one_line_error(r, "--output is required");
  r = test::run_command(kStrata + " train --config " + tiny_train_config(d, data_yaml, "x", 1, 1) +
                            " --set train.fuse_distillation=true", d.str());
  expect_one_line_error(r, "train.fuse_distillation: needs an LMS model");
}

TEST(DistillCliTest, KnowledgeDistillationFromASparseTeacherIsResumable) {
  test::TempDir d;
  std::string data_yaml = make_tiny_corpus(d);
  auto r = test::run_command(kStrata + " train --config " +
                                 tiny_train_config(d, data_yaml, "teacher", 4, 4) +
                                 " --set model.moe.type=switch --set model.moe.num_experts=4"
                                 " --set model.moe.every_k_layers=1", d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string teacher = d / "teacher/best.pt";
  const std::string kd = kStrata + " distill kd --teacher " + teacher + " --config " +
                         tiny_train_config(d, data_yaml, "student", 3, 3) + " --beam 2";
  r = test::run_command(kd + " --max-rows 4 --chunk-rows 2 --generate-only", d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::string> langs, kd_langs;
  auto orig = data::read_split(d / "data/train.tsv", &langs);
  auto rows = data::read_split(d / "student/kd_data/train.tsv", &kd_langs);
  ASSERT_EQ(kd_langs, langs);
  ASSERT_EQ(rows.size(), 4u);
  // Each KD row is a different training row i that keeps its (i mod 3)-th language (en, de, fr,
  // en, ...); the others are teacher output. The rows are a random sample, not the first four.
  std::vector<size_t> from;
  for (const auto& row : rows) {
    size_t found = orig.size();
    for (size_t i = 0; i < orig.size(); ++i)
      if (row.text[i % 3] == orig[i].text[i % 3]) found = i;
    ASSERT_LT(found, orig.size()) << "no training row kept in " << row.text[0];
    EXPECT_EQ(std::count(from.begin(), from.end(), found), 0);
    from.push_back(found);
  }
  EXPECT_GT(*std::max_element(from.begin(), from.end()), 3u);
  // The teacher's translations: each row's kept text translated into the next language.
  for (size_t j = 0; j < rows.size(); ++j) {
    const size_t c = from[j] % 3, t = (c + 1) % 3;
    EXPECT_FALSE(rows[j].text[t].empty());
    test::write_file(d / "in.txt", rows[j].text[c] + "\n");
    r = test::run_command(kStrata + " translate -m " + teacher + " --tgt-lang " + langs[t] +
                              " --beam 2 < " + (d / "in.txt"), d.str());
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, rows[j].text[t] + "\n") << "row " << j << " from " << rows[j].text[c];
  }
  // Resume: the two finished chunks are kept, one more is made.
  std::string chunk0 = test::read_file(d / "student/kd_data/chunks/000000.tsv");
  r = test::run_command(kd + " --max-rows 6 --chunk-rows 2 --generate-only", d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("resuming: 2 chunks done"), std::string::npos) << r.err;
  auto six = data::read_split(d / "student/kd_data/train.tsv", &kd_langs);
  ASSERT_EQ(six.size(), 6u);
  EXPECT_EQ(test::read_file(d / "student/kd_data/chunks/000000.tsv"), chunk0);
  for (size_t j = 0; j < 4; ++j) EXPECT_EQ(six[j].text, rows[j].text);  // the same order, extended
  r = test::run_command(kd + " --max-rows 6 --chunk-rows 3 --generate-only", d.str());
  expect_one_line_error(r, "kd_data: made with other settings");
  // The student trains on the KD data (and, at word level, on the teacher's distributions).
  r = test::run_command(kd + " --max-rows 6 --chunk-rows 2", d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  Checkpoint student = load_checkpoint(d / "student/best.pt");
  EXPECT_NE(student.config.train.data.find("student/kd_data/data.yaml"), std::string::npos);
  EXPECT_EQ(student.config.model.moe.type, "none");
  r = test::run_command(kStrata + " distill kd --level word --teacher " + teacher + " --config " +
                            tiny_train_config(d, data_yaml, "word", 3, 3) +
                            " --set train.log_every=1", d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(test::read_file(d / "word/train.jsonl").find("\"kd\":{\"ce_teacher\":"),
            std::string::npos);
  r = test::run_command(kStrata + " distill kd --level sentence --teacher " + teacher +
                            " --config " + (d / "word.yaml"), d.str());
  expect_one_line_error(r, "--level must be seq, word or both, got 'sentence'");
}
