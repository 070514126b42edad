// Tests of nmt/evaluate/score_model: the scores are the metrics of the model's translations, the
// averages are means by group, the source-use diagnostics (shuffled-source scores, off-target
// rate) are what they say, and `strata eval --model` prints and writes exactly these.
#include "nmt/evaluate/score_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "data/clean.h"
#include "data/lid.h"
#include "data/prepare.h"
#include "nmt/eval/metrics.h"
#include "nmt/util/system.h"
#include "tests/cli_test_util.h"
#include "tests/tiny_checkpoint.h"

using namespace strata;
using namespace strata::nmt;

TEST(ScoreModelTest, ScoresAreTheMetricsOfTheTranslationsAndTheCliPrintsThem) {
  set_threads(1);
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  const auto ck = test::save_tiny_checkpoint(d, data_yaml, "m", "", {"en", "de", "fr"});
  Translator tr(load_checkpoint(ck.path));
  const data::DataConfig dcfg = data::load_data_config(data_yaml, {});
  SearchOptions so = tr.default_options();
  so.beam = 1;
  const SplitScores s = score_split(tr, dcfg, "test", so, 8, 3);
  EXPECT_EQ(s.langs, (std::vector<std::string>{"en", "de", "fr"}));
  ASSERT_EQ(s.directions.size(), 6u);
  std::vector<std::string> langs;
  const auto rows = data::read_split(d / "data/test.tsv", &langs);
  for (size_t a = 0; a < 3; ++a)
    for (size_t b = 0; b < 3; ++b) {
      if (a == b) continue;
      std::vector<std::string> src, ref, hyp;
      for (const auto& r : rows) {
        if (data::count_words(r.text[0]) < dcfg.split.eval_min_words) continue;
        if (src.size() == 3) break;
        src.push_back(r.text[a]);
        ref.push_back(r.text[b]);
      }
      for (const auto& h : tr.translate(src, langs[b], so, 8, langs[a]))
        hyp.push_back(h.empty() ? "" : h[0].text);
      const DirectionScore& got = s.directions.at({langs[a], langs[b]});
      EXPECT_EQ(got.n, src.size());
      EXPECT_EQ(got.bleu,
                eval::corpus_bleu(hyp, ref, eval::default_tokenizer_for(langs[b])).score);
      EXPECT_EQ(got.chrf, eval::corpus_chrf(hyp, ref).score);
      EXPECT_EQ(got.copy_chrf, eval::corpus_chrf(src, ref).score);
    }

  // `strata eval --model` prints format_scores() and writes scores_json() per split.
  const auto r = test::run_command(std::string(STRATA_BIN) + " eval --model " + ck.path +
                                       " --split test --beam 1 --max-sentences 3 --threads 1"
                                       " --json " + (d / "s.json"),
                                   d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, format_scores(s, ck.path, 1));
  EXPECT_EQ(nlohmann::json::parse(test::read_file(d / "s.json")),
            nlohmann::json({{"test", scores_json(s)}}));
  EXPECT_NE(r.err.find("no language identifier at"), std::string::npos) << r.err;
}

TEST(ScoreModelTest, ShuffledOrderIsADeterministicDerangement) {
  EXPECT_EQ(shuffled_order(0, 1), std::vector<size_t>{});
  EXPECT_EQ(shuffled_order(1, 1), std::vector<size_t>{0});
  EXPECT_EQ(shuffled_order(2, 5), (std::vector<size_t>{1, 0}));
  for (size_t n = 2; n <= 60; ++n)
    for (uint64_t seed : {uint64_t{0}, uint64_t{1}, shuffle_seed("en", "de")}) {
      const auto p = shuffled_order(n, seed);
      EXPECT_EQ(p, shuffled_order(n, seed));
      std::vector<size_t> sorted = p;
      std::sort(sorted.begin(), sorted.end());
      for (size_t i = 0; i < n; ++i) {
        EXPECT_EQ(sorted[i], i);
        EXPECT_NE(p[i], i) << "n " << n << " seed " << seed;
      }
      size_t len = 1;  // Sattolo: one cycle through all n
      for (size_t i = p[0]; i != 0; i = p[i]) ++len;
      EXPECT_EQ(len, n);
    }
  EXPECT_NE(shuffled_order(20, shuffle_seed("en", "de")),
            shuffled_order(20, shuffle_seed("de", "en")));
}

TEST(ScoreModelTest, SourceUseDiagnosticsAreTheScoresOfShuffledSourcesAndTheLidCounts) {
  set_threads(1);
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  // A briefly trained tiny model, so that the outputs hold words of the corpus.
  const auto trained = test::run_command(
      test::kStrata + " train --config " + test::tiny_train_config(d, data_yaml, "t", 400, 400),
      d.str());
  ASSERT_EQ(trained.status, 0) << trained.err;
  const std::string model = d / "t/best.pt";
  Translator tr(load_checkpoint(model));
  const data::DataConfig dcfg = data::load_data_config(data_yaml, {});
  std::vector<std::string> langs;
  const auto train = data::read_split(d / "data/train.tsv", &langs);
  const data::LanguageIdentifier lid = data::train_lid(train, langs, {});
  const std::string lid_path = d / "lid.model";
  lid.save(lid_path);
  // An identifier with the languages' names permuted: its labels are wrong, so off-target > 0.
  const data::LanguageIdentifier wrong = data::train_lid(train, {"de", "fr", "en"}, {});
  SearchOptions so = tr.default_options();
  so.beam = 1;
  const SplitScores plain = score_split(tr, dcfg, "test", so, 8, 4, {false, nullptr, ""});
  const SplitScores s = score_split(tr, dcfg, "test", so, 8, 4, {true, &lid, lid_path});
  const SplitScores s_wrong = score_split(tr, dcfg, "test", so, 8, 4, {false, &wrong, "w"});
  EXPECT_FALSE(plain.has_shuffled || plain.has_off_target);
  EXPECT_TRUE(s.has_shuffled && s.has_off_target);
  ASSERT_EQ(s.directions.size(), 6u);
  size_t labelled = 0, varied = 0, shuffle_matters = 0, off_target_seen = 0;
  const auto rows = data::read_split(d / "data/test.tsv", &langs);
  for (size_t a = 0; a < 3; ++a)
    for (size_t b = 0; b < 3; ++b) {
      if (a == b) continue;
      std::vector<std::string> src, ref, shuffled_src, hyp, shuffled_hyp;
      for (const auto& r : rows) {
        if (data::count_words(r.text[0]) < dcfg.split.eval_min_words) continue;
        if (src.size() == 4) break;
        src.push_back(r.text[a]);
        ref.push_back(r.text[b]);
      }
      const auto perm = shuffled_order(src.size(), shuffle_seed(langs[a], langs[b]));
      for (size_t i = 0; i < src.size(); ++i) shuffled_src.push_back(src[perm[i]]);
      // A second, real decoding of the shuffled sources (score_split reuses the translations).
      for (const auto& h : tr.translate(shuffled_src, langs[b], so, 8, langs[a]))
        shuffled_hyp.push_back(h.empty() ? "" : h[0].text);
      for (const auto& h : tr.translate(src, langs[b], so, 8, langs[a]))
        hyp.push_back(h.empty() ? "" : h[0].text);
      varied += std::set<std::string>(hyp.begin(), hyp.end()).size() > 1;
      const DirectionScore& got = s.directions.at({langs[a], langs[b]});
      const DirectionScore& before = plain.directions.at({langs[a], langs[b]});
      EXPECT_EQ(got.bleu, before.bleu);  // the scores themselves do not change
      EXPECT_EQ(got.chrf, before.chrf);
      EXPECT_EQ(got.copy_chrf, before.copy_chrf);
      EXPECT_EQ(got.shuffled_chrf, eval::corpus_chrf(shuffled_hyp, ref).score);
      shuffle_matters += got.shuffled_chrf != got.chrf;
      EXPECT_EQ(got.shuffled_bleu,
                eval::corpus_bleu(shuffled_hyp, ref, eval::default_tokenizer_for(langs[b])).score);
      for (const auto* id : {&lid, &wrong}) {
        const DirectionScore& g = id == &lid ? got : s_wrong.directions.at({langs[a], langs[b]});
        size_t identified = 0, off = 0, ref_off = 0;
        for (const auto& h : hyp) {
          const std::string l = id->predict(h).lang;
          if (l.empty()) continue;
          ++identified;
          off += l != langs[b];
        }
        for (const auto& t : ref) ref_off += id->predict(t).lang != langs[b];
        EXPECT_EQ(g.identified, identified);
        EXPECT_DOUBLE_EQ(g.off_target, identified ? static_cast<double>(off) / identified : 0.0);
        EXPECT_DOUBLE_EQ(g.ref_off_target, static_cast<double>(ref_off) / ref.size());
        (id == &lid ? labelled : off_target_seen) += id == &lid ? identified : off;
      }
    }

  // Not vacuous: outputs differ between sentences, the shuffle changes scores, outputs get labels.
  EXPECT_GT(varied, 2u);
  EXPECT_GT(shuffle_matters, 2u);
  EXPECT_GT(labelled, 6u);
  EXPECT_GT(off_target_seen, 6u);
  const std::string t = format_scores(s, "m.pt", 1);
  EXPECT_EQ(t.rfind(format_scores(plain, "m.pt", 1), 0), 0u);  // the old output, then the new
  EXPECT_NE(t.find("| source use | directions | chrF | shuffled chrF | gap | off-target % |"),
            std::string::npos) << t;
  const auto j = scores_json(s);
  EXPECT_TRUE(j["directions"]["en-de"].contains("shuffled_chrf"));
  EXPECT_TRUE(j["averages"]["all"].contains("off_target"));
  EXPECT_FALSE(scores_json(plain)["directions"]["en-de"].contains("shuffled_chrf"));

  // `strata eval --model` with --lid, and with --no-shuffled and no identifier (the old output).
  auto r = test::run_command(std::string(STRATA_BIN) + " eval --model " + model +
                                 " --split test --beam 1 --max-sentences 4 --threads 1 --lid " +
                                 lid_path,
                             d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, format_scores(s, model, 1));
  r = test::run_command(std::string(STRATA_BIN) + " eval --model " + model +
                            " --split test --beam 1 --max-sentences 4 --threads 1 --no-shuffled",
                        d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, format_scores(plain, model, 1));
  r = test::run_command(std::string(STRATA_BIN) + " eval --model " + model +
                            " --split test --max-sentences 1 --lid " + (d / "nope.model"),
                        d.str());
  test::expect_one_line_error(r, d / "nope.model");
}

TEST(ScoreModelTest, AveragesByGroupAndCopyBaseline) {
  SplitScores s;
  s.split = "x";
  s.langs = {"en", "de", "fr"};
  s.directions[{"en", "de"}] = {10, 40, 30, 5};
  s.directions[{"en", "fr"}] = {20, 50, 60, 5};
  s.directions[{"de", "en"}] = {30, 60, 20, 5};
  s.directions[{"de", "fr"}] = {4, 20, 10, 5};
  const auto avg = group_averages(s);
  EXPECT_EQ(avg.at("en->xx").directions, 2);
  EXPECT_DOUBLE_EQ(avg.at("en->xx").bleu, 15);
  EXPECT_DOUBLE_EQ(avg.at("en->xx").copy_chrf, 45);
  EXPECT_EQ(avg.at("xx->en").directions, 1);
  EXPECT_EQ(avg.at("non-English").directions, 1);
  EXPECT_EQ(avg.at("all").directions, 4);
  EXPECT_DOUBLE_EQ(avg.at("all").chrf, 42.5);
  EXPECT_EQ(beats_copy(s), 3);  // en-fr is below copying
  const std::string t = format_scores(s, "m.pt", 4);
  EXPECT_NE(t.find("| en->xx | 2 | 15.00 | 45.00 | 45.00 |"), std::string::npos) << t;
  EXPECT_NE(t.find("| fr | - | - | - |"), std::string::npos) << t;
  EXPECT_NE(t.find("chrF above copying the source in 3 of 4 directions"), std::string::npos) << t;
  const auto j = scores_json(s);
  EXPECT_EQ(j["num_directions"], 4);
  EXPECT_EQ(j["directions"]["de-fr"]["sentences"], 5);
  EXPECT_FALSE(j["averages"].contains("xx->xx"));
  EXPECT_EQ(t.find("source use"), std::string::npos);  // not measured: not printed

  // The source-use table: group means of chrF, shuffled chrF, their gap, off-target %.
  s.has_shuffled = s.has_off_target = true;
  s.lid_name = "lid.model";
  s.directions[{"en", "de"}].shuffled_chrf = 10;
  s.directions[{"en", "fr"}].shuffled_chrf = 30;
  s.directions[{"en", "de"}].off_target = 0.5;
  s.directions[{"en", "fr"}].off_target = 0.1;
  const auto avg2 = group_averages(s);
  EXPECT_DOUBLE_EQ(avg2.at("en->xx").shuffled_chrf, 20);
  EXPECT_DOUBLE_EQ(avg2.at("en->xx").off_target, 0.3);
  const std::string t2 = format_scores(s, "m.pt", 4);
  EXPECT_NE(t2.find("| en->xx | 2 | 45.00 | 20.00 | 25.00 | 30.0 |"), std::string::npos) << t2;
  EXPECT_NE(t2.find("| en | - | 50.0 | 10.0 |"), std::string::npos) << t2;  // off-target matrix
  EXPECT_NE(t2.find("by lid.model"), std::string::npos) << t2;
  EXPECT_DOUBLE_EQ(scores_json(s)["averages"]["en->xx"]["chrf_gap"].get<double>(), 25);
}

// The teacher-forced nll of score_split(nll=true) equals a second path: each reference fed token by
// token through the incremental decoder (start/step), one sentence at a time; the averages are
// token-weighted, and `--nll` puts them in the JSON.
TEST(ScoreModelTest, NllIsTheIncrementalDecodersLogLossOfTheReferences) {
  set_threads(1);
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  const auto ck = test::save_tiny_checkpoint(d, data_yaml, "m", test::kSwitchEveryLayer);
  Translator tr(load_checkpoint(ck.path));
  const data::DataConfig dcfg = data::load_data_config(data_yaml, {});
  SearchOptions so = tr.default_options();
  so.beam = 1;
  const SplitScores s = score_split(tr, dcfg, "test", so, 8, 3, {false, nullptr, ""}, true);
  ASSERT_TRUE(s.has_nll);
  std::vector<std::string> langs;
  const auto rows = data::read_split(d / "data/test.tsv", &langs);
  const data::Tokenizer& tok = tr.tokenizer();
  Transformer& m = tr.model();
  torch::NoGradGuard no_grad;
  double all_sum = 0;
  int64_t all_tokens = 0;
  for (size_t a = 0; a < 3; ++a)
    for (size_t b = 0; b < 3; ++b) {
      if (a == b) continue;
      double sum = 0;
      int64_t tokens = 0, n = 0;
      for (const auto& r : rows) {
        if (data::count_words(r.text[0]) < dcfg.split.eval_min_words) continue;
        if (n++ == 3) break;
        std::vector<int> src = tok.encode(r.text[a]), tgt = tok.encode(r.text[b]);
        TaggedBatch one = lay_out_batch(tr.tags(), {{&src, tr.tags().index(langs[b]), &tgt}});
        DecoderState st = m->start(m->encode(one.src));
        for (int64_t t = 0; t < one.target.size(1); ++t) {
          auto lp = m->step(one.prev.select(1, t), st);  // [1, V]
          sum -= lp[0][one.target[0][t].item<int64_t>()].item<double>();
          ++tokens;
        }
      }
      const DirectionScore& got = s.directions.at({langs[a], langs[b]});
      EXPECT_EQ(got.nll_tokens, tokens);
      EXPECT_NEAR(got.nll_sum, sum, 1e-3 * tokens) << langs[a] << "-" << langs[b];
      all_sum += sum;
      all_tokens += tokens;
    }
  EXPECT_NEAR(group_averages(s).at("all").nll, all_sum / all_tokens, 1e-4);
  EXPECT_GT(all_sum / all_tokens, 1.0);  // an untrained model: far from certain

  const auto r = test::run_command(std::string(STRATA_BIN) + " eval --model " + ck.path +
                                       " --split test --beam 1 --max-sentences 3 --threads 1 --nll"
                                       " --no-shuffled --json " + (d / "n.json"),
                                   d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("teacher-forced nll per reference token: en->xx"), std::string::npos) << r.out;
  const auto j = nlohmann::json::parse(test::read_file(d / "n.json"));
  EXPECT_NEAR(j["test"]["averages"]["all"]["nll"].get<double>(), all_sum / all_tokens, 1e-4);
}
