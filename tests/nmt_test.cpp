// Tests of the LibTorch side. This binary links LibTorch and SentencePiece together, which is
// what crashed with Debian's libsentencepiece0 (embedded protobuf 3.14 vs the system's 3.21).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "data/data_config.h"
#include "nmt/util/error.h"
#include "data/langs.h"
#include "data/prepare.h"
#include "data/spm.h"
#include "nmt/util/system.h"
#include "tests/test_util.h"
#include "tests/torch_test_util.h"

using namespace strata;

TEST(SpmTorchTest, RoundTripInAProcessThatUsesLibTorch) {
  test::TempDir d;
  data::DataConfig cfg;
  cfg.langs = {"en", "de", "ja"};
  cfg.out_dir = d.str();
  cfg.spm.vocab_size = 400;
  cfg.spm.sample_sentences = 600;
  std::vector<data::Row> rows;
  for (int i = 0; i < 50; ++i) {
    std::string n = std::to_string(i);
    rows.push_back({"lo-ui", {"Open file " + n, "Datei " + n + " öffnen", "ファイル" + n + "を開く"}});
  }
  data::write_split(d / "train.tsv", cfg.langs, rows);
  data::train_spm(cfg);
  data::Tokenizer tok(d / "spm.model");
  const std::string text = "Datei 42 öffnen ファイルを開く";
  std::vector<int> ids = tok.encode(text);
  ids.insert(ids.begin(), tok.piece_id(">>ja<<"));  // as the batcher prepends the tag
  torch::Tensor t = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()));  // [T] i64
  EXPECT_EQ(t.size(0), static_cast<int64_t>(ids.size()));
  EXPECT_EQ(t[0].item<int64_t>(), tok.piece_id(">>ja<<"));
  auto back = t.slice(0, 1).contiguous();
  std::vector<int> rest(back.data_ptr<int64_t>(), back.data_ptr<int64_t>() + back.numel());
  EXPECT_EQ(tok.decode(rest), text);
  EXPECT_EQ(tok.piece_id("<pad>"), data::kPadId);
  EXPECT_EQ(tok.piece_id("</s>"), data::kEosId);
}

TEST(SpmTorchTest, MissingModelIsAnErrorNamingTheFile) {
  EXPECT_THROW(data::Tokenizer("/nonexistent/spm.model"), Error);
}

TEST(SystemTest, FindsTheLoadedBlas) {
  // LibTorch links libblas.so.3; whichever alternative is selected must show up in the maps.
  torch::mm(torch::ones({4, 4}), torch::ones({4, 4}));
  EXPECT_NE(loaded_blas(), "");
  EXPECT_GE(set_threads(1), 1);
}

// ---------------------------------------------------------------------------------------------
// Model, loss, decoding, checkpoints.

#include <cmath>

#include "nmt/config.h"
#include "nmt/decode/search.h"
#include "nmt/decode/translator.h"
#include "nmt/model/checkpoint.h"
#include "nmt/model/transformer.h"
#include "nmt/train/batcher.h"
#include "nmt/train/loss.h"

using namespace strata::nmt;

namespace {

Transformer tiny_model(int64_t vocab = 40, uint64_t seed = 7) {
  torch::manual_seed(seed);
  auto m = Transformer(TransformerOptions(vocab).d_model(32).heads(4).ffn(64).encoder_layers(2)
                           .decoder_layers(2).dropout(0.0).max_positions(64));
  m->eval();
  return m;
}

std::vector<int64_t> tokens(int n, int64_t vocab, std::mt19937& rng) {
  return test::random_tokens(n, vocab, rng);
}
using test::pad_rows;

}  // namespace

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

TEST(TransformerTest, PaddedBatchLossEqualsSumOfSentenceLosses) {
  auto m = tiny_model();
  std::mt19937 rng(1);
  std::vector<std::vector<int64_t>> src, prev, tgt;
  for (int n : {3, 7, 5}) {
    src.push_back(tokens(n, 40, rng));
    auto y = tokens(n + 1, 40, rng);
    std::vector<int64_t> p = {2};
    p.insert(p.end(), y.begin(), y.end() - 1);
    prev.push_back(p);
    tgt.push_back(y);
  }
  torch::NoGradGuard ng;
  auto batch_logits = m->forward(pad_rows(src), pad_rows(prev));
  auto lp = torch::log_softmax(batch_logits, -1);
  double batch_loss =
      label_smoothed_nll(lp.view({-1, 40}), pad_rows(tgt).view(-1), 0.1, 0).loss.item<double>();
  double sum = 0;
  for (size_t i = 0; i < src.size(); ++i) {
    auto l = torch::log_softmax(m->forward(pad_rows({src[i]}), pad_rows({prev[i]})), -1);
    sum += label_smoothed_nll(l.view({-1, 40}), pad_rows({tgt[i]}).view(-1), 0.1, 0).loss.item<double>();
  }
  EXPECT_NEAR(batch_loss, sum, 1e-3 * std::abs(sum));
}

TEST(TransformerTest, IncrementalDecodingEqualsFullRecomputation) {
  auto m = tiny_model();
  std::mt19937 rng(2);
  auto src = pad_rows({tokens(6, 40, rng), tokens(4, 40, rng)});
  auto prev = pad_rows({tokens(5, 40, rng), tokens(5, 40, rng)});
  torch::NoGradGuard ng;
  auto full = torch::log_softmax(m->forward(src, prev), -1);  // [2, 5, V]
  auto state = m->start(m->encode(src));
  for (int64_t t = 0; t < 5; ++t) {
    auto step = m->step(prev.select(1, t), state);  // [2, V]
    EXPECT_TRUE(torch::allclose(step, full.select(1, t), 1e-4, 1e-5)) << "step " << t;
  }
}

TEST(TransformerTest, BeamOneEqualsGreedyByFullRecomputation) {
  auto m = tiny_model();
  std::mt19937 rng(3);
  auto src = pad_rows({tokens(5, 40, rng), tokens(8, 40, rng), tokens(3, 40, rng)});
  SearchOptions opt;
  opt.beam = 1;
  opt.max_len_a = 1.0;
  opt.max_len_b = 4;
  opt.banned = {0, 2};
  auto hyps = beam_search(m, src, {2, 2, 2}, 3, opt);
  // Naive greedy: recompute the whole decoder for every step.
  torch::NoGradGuard ng;
  for (int64_t b = 0; b < 3; ++b) {
    auto s = src[b].unsqueeze(0);
    int64_t len = s.ne(0).sum().item<int64_t>();
    int64_t limit = len + 4;
    std::vector<int64_t> out = {2};
    double logprob = 0;
    for (int64_t t = 0; t < limit; ++t) {
      auto lp = torch::log_softmax(m->forward(s, pad_rows({out})), -1)[0][t].clone();
      lp[0] = -INFINITY;
      lp[2] = -INFINITY;
      int64_t tok = lp.argmax().item<int64_t>();
      logprob += lp[tok].item<double>();
      if (tok == 3) break;
      out.push_back(tok);
    }
    std::vector<int64_t> expect(out.begin() + 1, out.end());
    ASSERT_EQ(hyps[b].size(), 1u);
    EXPECT_EQ(hyps[b][0].tokens, expect) << "sentence " << b;
    EXPECT_NEAR(hyps[b][0].logprob, logprob, 1e-3);
  }
}

TEST(TransformerTest, BeamSearchFindsNoWorseThanGreedy) {
  auto m = tiny_model(40, 11);
  std::mt19937 rng(4);
  auto src = pad_rows({tokens(6, 40, rng), tokens(4, 40, rng)});
  SearchOptions g;
  g.beam = 1;
  g.lenpen = 0;
  g.banned = {0, 2};
  SearchOptions b4 = g;
  b4.beam = 4;
  b4.nbest = 4;
  auto hg = beam_search(m, src, {2, 2}, 3, g);
  auto hb = beam_search(m, src, {2, 2}, 3, b4);
  for (int i = 0; i < 2; ++i) {
    ASSERT_FALSE(hb[i].empty());
    EXPECT_GE(hb[i][0].score, hg[i][0].score - 1e-4);
    for (size_t k = 1; k < hb[i].size(); ++k) EXPECT_GE(hb[i][k - 1].score, hb[i][k].score);
  }
}

// ---------------------------------------------------------------------------------------------
// Checkpoints and the end-to-end commands on a tiny corpus made here.

namespace {

const std::string kStrata = STRATA_BIN;

using test::make_tiny_corpus;

std::string tiny_train_config(const test::TempDir& d, const std::string& data_yaml,
                              const std::string& out, int updates, int valid_every) {
  std::string p = d / (out + ".yaml");
  test::write_file(p, "model: {d_model: 32, heads: 4, ffn: 64, encoder_layers: 1, decoder_layers: 1, "
                      "dropout: 0.1, max_positions: 64}\n"
                      "train: {data: " + data_yaml + ", out_dir: " + (d / out) +
                      ", max_tokens: 200, lr: 0.003, warmup: 10, max_updates: " +
                      std::to_string(updates) + ", valid_every: " + std::to_string(valid_every) +
                      ", valid_sentences: 2, log_every: 5, max_len: 30, keep_last: 1}\n"
                      "decode: {beam: 2, batch_size: 8}\n");
  return p;
}

using test::expect_one_line_error;

}  // namespace

TEST(CheckpointTest, SaveReloadGivesIdenticalLogitsAndBadFilesAreErrors) {
  test::TempDir d;
  std::string data_yaml = make_tiny_corpus(d);
  data::Tokenizer tok(d / "data/spm.model");
  Config cfg = load_config(tiny_train_config(d, data_yaml, "m", 1, 1), {});
  torch::manual_seed(3);
  Transformer m = build_model(cfg.model, tok.vocab_size());
  m->eval();
  save_checkpoint(d / "m.pt", cfg, {"en", "de", "fr"}, tok.serialized(), m, nullptr, nullptr);
  Checkpoint back = load_checkpoint(d / "m.pt");
  back.model->eval();
  auto src = torch::tensor({{5, 6, 7, 3}}, torch::kLong);
  auto prev = torch::tensor({{2, 8, 9}}, torch::kLong);
  torch::NoGradGuard ng;
  EXPECT_TRUE(torch::equal(m->forward(src, prev), back.model->forward(src, prev)));
  EXPECT_EQ(back.langs, (std::vector<std::string>{"en", "de", "fr"}));
  EXPECT_EQ(to_yaml(back.config), to_yaml(cfg));

  std::string bytes = test::read_file(d / "m.pt");
  test::write_file(d / "cut.pt", bytes.substr(0, bytes.size() / 2));
  test::write_file(d / "junk.pt", "not a checkpoint");
  EXPECT_THROW(load_checkpoint(d / "cut.pt"), Error);
  EXPECT_THROW(load_checkpoint(d / "junk.pt"), Error);
  EXPECT_THROW(load_checkpoint(d / "missing.pt"), Error);
  // Shapes are validated: a config with another width cannot load these weights.
  Config other = cfg;
  other.model.ffn = 128;
  torch::manual_seed(3);
  Transformer m2 = build_model(other.model, tok.vocab_size());
  save_checkpoint(d / "m2.pt", cfg, {"en", "de", "fr"}, tok.serialized(), m2, nullptr, nullptr);
  try {
    load_checkpoint(d / "m2.pt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has shape"), std::string::npos) << e.what();
  }
}

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
  // A: 8 updates in one go (validates and checkpoints at 4 and 8).
  auto a = test::run_command(kStrata + " train --config " +
                                 tiny_train_config(d, data_yaml, "a", 8, 4), d.str());
  ASSERT_EQ(a.status, 0) << a.err;
  // B: stopped after 4 updates, then resumed to 8 with the same config otherwise.
  std::string cfg_b = tiny_train_config(d, data_yaml, "b", 8, 4);
  auto b1 = test::run_command(kStrata + " train --config " + cfg_b + " --set train.max_updates=4",
                              d.str());
  ASSERT_EQ(b1.status, 0) << b1.err;
  auto b2 = test::run_command(kStrata + " train --config " + cfg_b, d.str());
  ASSERT_EQ(b2.status, 0) << b2.err;
  EXPECT_NE(b2.err.find("resumed from"), std::string::npos) << b2.err;
  Checkpoint ca = load_checkpoint(d / "a/last.pt"), cb = load_checkpoint(d / "b/last.pt");
  ASSERT_TRUE(ca.trainer && cb.trainer);
  EXPECT_EQ(ca.trainer->updates, 8);
  EXPECT_EQ(cb.trainer->updates, 8);
  auto pa = ca.model->named_parameters(), pb = cb.model->named_parameters();
  for (const auto& p : pa)
    EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
  // The JSON-lines log has train and valid events.
  std::string log = test::read_file(d / "a/train.jsonl");
  EXPECT_NE(log.find("\"event\":\"valid\""), std::string::npos);
  EXPECT_NE(log.find("\"event\":\"train\""), std::string::npos);
}

TEST(TranslateCliTest, TranslatesAndRejectsBadInput) {
  test::TempDir d;
  std::string data_yaml = make_tiny_corpus(d);
  auto r = test::run_command(kStrata + " train --config " +
                                 tiny_train_config(d, data_yaml, "t", 4, 4), d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  std::string model = d / "t/best.pt";
  test::write_file(d / "in.txt", "open the file\n\nsave the page\n");
  r = test::run_command(kStrata + " translate -m " + model + " --tgt-lang de < " + (d / "in.txt"),
                        d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3);  // one line per input, empty kept
  r = test::run_command(kStrata + " translate -m " + model + " --tgt-lang de --nbest 2 < " +
                            (d / "in.txt"), d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("0\t", 0), 0u) << r.out;
  r = test::run_command(kStrata + " translate -m " + model + " --tgt-lang ja < " + (d / "in.txt"),
                        d.str());
  expect_one_line_error(r, "the model does not translate into 'ja' (its languages: en de fr)");
  test::write_file(d / "bad.txt", "fine\nbad \xff\xfe here\n");
  r = test::run_command(kStrata + " translate -m " + model + " --tgt-lang de < " + (d / "bad.txt"),
                        d.str());
  expect_one_line_error(r, "<stdin>:2: invalid UTF-8 at byte 5");
  test::write_file(d / "junk.pt", "junk");
  r = test::run_command(kStrata + " translate -m " + (d / "junk.pt") + " --tgt-lang de < " +
                            (d / "in.txt"), d.str());
  expect_one_line_error(r, "junk.pt: corrupt or truncated checkpoint");
  r = test::run_command(kStrata + " train --config " + tiny_train_config(d, data_yaml, "x", 1, 1) +
                            " --set model.d_modle=3", d.str());
  expect_one_line_error(r, "model.d_modle: unknown key");
  r = test::run_command(kStrata + " train --config " + tiny_train_config(d, data_yaml, "x", 1, 1) +
                            " --set model.heads=5", d.str());
  expect_one_line_error(r, "model.heads: must divide model.d_model=32, got 5");
  r = test::run_command(kStrata + " train --config " + tiny_train_config(d, data_yaml, "x", 1, 1) +
                            " --set model.moe.type=smoe2", d.str());
  expect_one_line_error(r, "model.moe.type: must be none, switch, gshard or smoe, got 'smoe2'");
  r = test::run_command(kStrata + " train --config " + tiny_train_config(d, data_yaml, "x", 1, 1) +
                            " --set model.moe.type=smoe --set model.moe.num_experts=4"
                            " --set 'model.moe.strata=[2, 1]'", d.str());
  expect_one_line_error(r, "model.moe.strata: must list experts per stratum summing to "
                           "model.moe.num_experts=4");
  r = test::run_command(kStrata + " train --config " + tiny_train_config(d, data_yaml, "x", 1, 1) +
                            " --set model.moe.experts=4", d.str());
  expect_one_line_error(r, "model.moe.experts: unknown key");
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

// ---------------------------------------------------------------------------------------------
// Issue 7: the newer routers end to end, and `strata analyze routing`.

#include <png.h>

#include <cstring>

namespace {

// A PNG decoded with libpng, a bad CRC in any chunk being an error.
struct DecodedPng {
  png_uint_32 width = 0, height = 0;  // pixels
  int bit_depth = 0, color_type = 0;  // IHDR fields
  size_t rowbytes = 0;                // bytes per decoded row (without the filter byte)
  std::vector<unsigned char> pixels;  // [height][rowbytes]
  std::vector<png_bytep> rows;        // row pointers into pixels
  const std::string* bytes = nullptr;
  size_t at = 0;                      // read position in *bytes
};

void read_from_memory(png_structp p, png_bytep out, png_size_t n) {
  auto* d = static_cast<DecodedPng*>(png_get_io_ptr(p));
  if (d->at + n > d->bytes->size()) png_error(p, "truncated");
  std::memcpy(out, d->bytes->data() + d->at, n);
  d->at += n;
}

// False when libpng rejects `bytes` (bad signature, bad CRC, short or corrupt image data).
bool decode_png(const std::string& bytes, DecodedPng* d) {
  png_structp p = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(p);
  d->bytes = &bytes;
  d->at = 0;
  if (setjmp(png_jmpbuf(p))) {
    png_destroy_read_struct(&p, &info, nullptr);
    return false;
  }
  png_set_read_fn(p, d, read_from_memory);
  png_set_crc_action(p, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
  png_read_info(p, info);
  d->width = png_get_image_width(p, info);
  d->height = png_get_image_height(p, info);
  d->bit_depth = png_get_bit_depth(p, info);
  d->color_type = png_get_color_type(p, info);
  d->rowbytes = png_get_rowbytes(p, info);
  d->pixels.assign(d->height * d->rowbytes, 0);
  d->rows.clear();
  for (png_uint_32 y = 0; y < d->height; ++y) d->rows.push_back(&d->pixels[y * d->rowbytes]);
  png_read_image(p, d->rows.data());
  png_read_end(p, nullptr);
  png_destroy_read_struct(&p, &info, nullptr);
  return true;
}

}  // namespace

TEST(AnalyzeCliTest, RoutingTablesHeatMapAgreementLogAndBadInput) {
  test::TempDir d;
  std::string data_yaml = make_tiny_corpus(d);
  // An Omni-router AC model with two MoE layers per stack trains and logs the agreement.
  auto r = test::run_command(
      kStrata + " train --config " + tiny_train_config(d, data_yaml, "ac", 5, 5) +
          " --set model.moe.type=switch --set model.moe.router=ac --set model.moe.shared_router=true"
          " --set model.moe.num_experts=4 --set model.moe.every_k_layers=1"
          " --set model.encoder_layers=2 --set model.decoder_layers=2",
      d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  std::string log = test::read_file(d / "ac/train.jsonl");
  EXPECT_NE(log.find("\"agreement\":"), std::string::npos) << log;
  Checkpoint ck = load_checkpoint(d / "ac/best.pt");
  EXPECT_EQ(ck.config.model.moe.router, "ac");
  EXPECT_TRUE(ck.model->shared_router);
  r = test::run_command(kStrata + " analyze routing -m " + (d / "ac/best.pt") +
                            " --split valid --out " + (d / "an"), d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* row : {"| enc0 |", "| enc1 |", "| dec0 |", "| dec1 |", "| NMI |", "| de |"})
    EXPECT_NE(r.out.find(row), std::string::npos) << row << "\n" << r.out;
  std::string json = test::read_file(d / "an/routing.json");
  EXPECT_NE(json.find("\"nmi\""), std::string::npos) << json;
  // The PNG: signature, IHDR (4 layers × 4 experts + 3 gaps, 12 px cells; 3 language rows),
  // chunk CRCs (libpng checks every one as it reads), and IDAT inflating to height rows of
  // 1 + 3·width bytes (a filter byte and 8-bit RGB).
  std::string png = test::read_file(d / "an/routing.png");
  ASSERT_GT(png.size(), 33u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  auto u32 = [&](size_t at) {
    return (uint32_t(uint8_t(png[at])) << 24) | (uint32_t(uint8_t(png[at + 1])) << 16) |
           (uint32_t(uint8_t(png[at + 2])) << 8) | uint32_t(uint8_t(png[at + 3]));
  };
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  const uint32_t width = u32(16), height = u32(20);
  EXPECT_EQ(width, 12u * (4 * 4 + 3));
  EXPECT_EQ(height, 12u * 3);
  DecodedPng img;
  ASSERT_TRUE(decode_png(png, &img));
  EXPECT_EQ(img.width, width);
  EXPECT_EQ(img.height, height);
  EXPECT_EQ(img.bit_depth, 8);
  EXPECT_EQ(img.color_type, PNG_COLOR_TYPE_RGB);
  EXPECT_EQ(img.rowbytes, 3u * width);
  std::string bad_crc = png;
  bad_crc.back() ^= 1;  // IEND's CRC
  EXPECT_FALSE(decode_png(bad_crc, &img));

  // Bad input: a dense model, an unknown analysis, a missing split.
  Config dense = load_config(tiny_train_config(d, data_yaml, "dense", 1, 1), {});
  data::Tokenizer tok(d / "data/spm.model");
  Transformer m = build_model(dense.model, tok.vocab_size());
  save_checkpoint(d / "dense.pt", dense, {"en", "de", "fr"}, tok.serialized(), m, nullptr, nullptr);
  r = test::run_command(kStrata + " analyze routing -m " + (d / "dense.pt") + " --split valid", d.str());
  expect_one_line_error(r, "not an MoE model");
  r = test::run_command(kStrata + " analyze experts -m " + (d / "ac/best.pt"), d.str());
  expect_one_line_error(r, "unknown analysis 'experts'");
  r = test::run_command(kStrata + " analyze routing -m " + (d / "ac/best.pt") + " --split nope", d.str());
  expect_one_line_error(r, "no such split");
}
