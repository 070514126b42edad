// Tests of nmt/analysis/routing: the counts against a naive per-sentence count, the tables and the
// JSON made from them, the languages a model lacks, and bad input.
#include "nmt/analysis/routing.h"

#include <gtest/gtest.h>

#include "nmt/util/error.h"
#include "data/langs.h"
#include "data/prepare.h"
#include "tests/tiny_checkpoint.h"

using namespace strata;
using namespace strata::nmt;

TEST(RoutingTest, CountsMatchANaivePerSentenceCount) {
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  const auto ck = test::save_tiny_checkpoint(d, data_yaml, "moe", test::kSwitchEveryLayer);
  RoutingOptions opt;
  opt.max_sentences = 0;
  const RoutingReport rep = analyze_routing(ck.path, opt);
  ASSERT_EQ(rep.layers.size(), 4u);
  EXPECT_EQ(rep.layers[1].name, "enc1");
  EXPECT_EQ(rep.layers[1].prev, 0);
  EXPECT_EQ(rep.layers[2].name, "dec0");
  EXPECT_EQ(rep.layers[2].prev, -1);
  EXPECT_EQ(rep.sentences, 6u * 4);  // 6 directions × the 4 valid rows

  // Naive: every pair on its own, first choices counted by hand.
  Checkpoint model = load_checkpoint(ck.path);
  model.model->eval();
  torch::NoGradGuard ng;
  data::Tokenizer tok(d / "data/spm.model");
  std::vector<std::string> langs;
  auto rows = data::read_split(d / "data/valid.tsv", &langs);
  ASSERT_EQ(langs, rep.langs);
  std::vector<int> tags;
  for (const auto& l : langs) tags.push_back(tok.piece_id(data::lang_tag(l)));
  ParallelData pd(rows, langs, tok, 62);
  const int64_t E = 4, L = 3;
  std::vector<std::vector<double>> load(4, std::vector<double>(E, 0));
  std::vector<std::vector<std::vector<double>>> usage(
      4, std::vector<std::vector<double>>(L, std::vector<double>(E, 0)));
  std::vector<torch::Tensor> joint;  // one tensor each (copies of a Tensor share storage)
  for (int li = 0; li < 4; ++li) joint.push_back(torch::zeros({E, E}, torch::kDouble));
  int64_t pairs = 0;
  for (int a = 0; a < L; ++a)
    for (int b = 0; b < L; ++b) {
      if (a == b) continue;
      for (uint32_t r = 0; r < rows.size(); ++r, ++pairs) {
        Batch bt = make_batch(pd, {{r, a, b}}, tags, model.config.model.decoder_lang_tag);
        MoeAux aux;
        model.model->forward(bt.src, bt.prev, &aux);
        ASSERT_EQ(aux.top1.size(), 4u);
        for (int li = 0; li < 4; ++li) {
          const auto t = aux.top1[li].contiguous();
          for (int64_t i = 0; i < t.numel(); ++i) {
            const int64_t e = t[i].item<int64_t>();
            if (e < 0) continue;
            load[li][e] += 1;
            usage[li][li < 2 ? a : b][e] += 1;
            if (li % 2 == 1) {
              const int64_t p = aux.top1[li - 1][i].item<int64_t>();
              if (p >= 0) joint[li][p][e] += 1;
            }
          }
        }
      }
    }
  EXPECT_EQ(pairs, static_cast<int64_t>(rep.sentences));
  for (int li = 0; li < 4; ++li) {
    const auto& ls = rep.layers[li];
    EXPECT_EQ(ls.load, load[li]) << ls.name;
    EXPECT_EQ(ls.usage, usage[li]) << ls.name;
    if (li % 2 == 1) EXPECT_TRUE(torch::equal(ls.joint, joint[li])) << ls.name;
  }

  // The tables and the JSON say the same.
  const std::string tables = routing_tables(rep);
  double tokens = 0;
  for (double c : load[0]) tokens += c;
  EXPECT_NE(tables.find("| enc0 | " + std::to_string(static_cast<int64_t>(tokens)) + " | "),
            std::string::npos)
      << tables;
  EXPECT_NE(tables.find("dec1: expert usage by target language"), std::string::npos) << tables;
  const auto j = routing_json(rep, "x.png");
  ASSERT_EQ(j["layers"].size(), 4u);
  EXPECT_EQ(j["layers"][0]["tokens"].get<double>(), tokens);
  for (int64_t e = 0; e < E; ++e)
    EXPECT_EQ(j["layers"][0]["load"][e].get<double>(), load[0][e] / tokens);
  EXPECT_FALSE(j["layers"][0].contains("nmi"));
  EXPECT_EQ(j["layers"][1]["previous"], "enc0");
  double agree = 0;
  for (int64_t e = 0; e < E; ++e) agree += joint[1][e][e].item<double>();
  const double n = joint[1].sum().item<double>();
  EXPECT_DOUBLE_EQ(j["layers"][1]["agreement"].get<double>(), agree / n);
  EXPECT_EQ(j["heatmap"]["rows"], nlohmann::json({"en", "de", "fr"}));
  EXPECT_EQ(j["sentences"], 24);
}

TEST(RoutingTest, SkipsLanguagesTheModelLacksAndRejectsBadInput) {
  test::TempDir d;
  const std::string data_yaml = test::make_tiny_corpus(d);
  const auto ck = test::save_tiny_checkpoint(
      d, data_yaml, "moe", "moe: {type: switch, num_experts: 4, every_k_layers: 2}",
      {"en", "de"});
  RoutingOptions opt;
  opt.max_sentences = 3;
  const RoutingReport rep = analyze_routing(ck.path, opt);
  EXPECT_EQ(rep.known, (std::vector<bool>{true, true, false}));
  EXPECT_EQ(rep.sentences, 2u * 3);  // en-de, de-en; 3 each
  ASSERT_EQ(rep.layers.size(), 2u);  // enc1, dec1
  EXPECT_EQ(rep.layers[0].name, "enc1");
  for (const auto& ls : rep.layers)
    for (double c : ls.usage[2]) EXPECT_EQ(c, 0);
  EXPECT_EQ(heatmap_rows(rep), (std::vector<std::string>{"en", "de"}));
  EXPECT_EQ(routing_tables(rep).find("| fr |"), std::string::npos);
  write_routing_heatmap(rep, d / "r.png");
  EXPECT_TRUE(std::filesystem::exists(d / "r.png"));

  const auto dense = test::save_tiny_checkpoint(d, data_yaml, "dense");
  EXPECT_THROW(analyze_routing(dense.path, opt), Error);
  opt.split = "nope";
  EXPECT_THROW(analyze_routing(ck.path, opt), Error);
}
