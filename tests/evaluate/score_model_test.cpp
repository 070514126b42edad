// Tests of nmt/evaluate/score_model: the scores are the metrics of the model's translations, the
// averages are means by group, and `strata eval --model` prints and writes exactly these.
#include "nmt/evaluate/score_model.h"

#include <gtest/gtest.h>

#include "data/clean.h"
#include "data/prepare.h"
#include "nmt/eval/metrics.h"
#include "nmt/util/system.h"
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
}
