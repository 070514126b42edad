// Tests of data/lid.h: the n-grams by hand, the labels on a tiny three-language corpus, the scores
// against a naive naive-Bayes loop, the save/load round trip, corrupt files, and `strata data lid`.
#include "data/lid.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "nmt/util/error.h"
#include "tests/test_util.h"

namespace strata::data {
namespace {

const std::vector<std::string> kLangs = {"en", "de", "ru"};

// Rows of a tiny multi-way corpus (en, de, ru), two-word phrases from a few verbs and objects.
std::vector<Row> tiny_rows() {
  const char* en[] = {"open", "close", "save", "print", "copy"};
  const char* de[] = {"öffnen", "schließen", "speichern", "drucken", "kopieren"};
  const char* ru[] = {"открыть", "закрыть", "сохранить", "печатать", "копировать"};
  const char* obj_en[] = {"the file", "the window", "the table", "the page"};
  const char* obj_de[] = {"die Datei", "das Fenster", "die Tabelle", "die Seite"};
  const char* obj_ru[] = {"файл", "окно", "таблицу", "страницу"};
  std::vector<Row> rows;
  for (int v = 0; v < 5; ++v)
    for (int o = 0; o < 4; ++o)
      rows.push_back({"lo-ui",
                      {std::string(en[v]) + " " + obj_en[o], std::string(obj_de[o]) + " " + de[v],
                       std::string(ru[v]) + " " + obj_ru[o]}});
  rows.push_back({"lo-ui", {"Quit", "", ""}});  // a missing translation is skipped
  return rows;
}

TEST(LidTest, NgramsAreLowerCasedSpacePaddedCodePoints) {
  // "Ab\t Ü" -> " ab ü ": 1-grams without the lone space, then 2-grams.
  EXPECT_EQ(lid_ngrams("Ab\t Ü", 2),
            (std::vector<std::string>{"a", "b", "ü", " a", "ab", "b ", " ü", "ü "}));
  EXPECT_EQ(lid_ngrams("ΣΟΦΟΣ", 1),  // str.lower(): final sigma
            (std::vector<std::string>{"σ", "ο", "φ", "ο", "ς"}));
  EXPECT_EQ(lid_ngrams("  ", 4), std::vector<std::string>{});
  EXPECT_EQ(lid_ngrams("", 4), std::vector<std::string>{});
  EXPECT_EQ(lid_ngrams("x", 4), (std::vector<std::string>{"x", " x", "x ", " x "}));
}

TEST(LidTest, LabelsSentencesOfATinyCorpus) {
  const LanguageIdentifier lid = train_lid(tiny_rows(), kLangs, {});
  EXPECT_EQ(lid.langs(), kLangs);
  // Unseen combinations of seen words.
  EXPECT_EQ(lid.predict("print the window").lang, "en");
  EXPECT_EQ(lid.predict("Das Fenster schließen").lang, "de");
  EXPECT_EQ(lid.predict("печатать окно").lang, "ru");
  EXPECT_EQ(lid.predict("Tabelle").lang, "de");
  EXPECT_EQ(lid.predict("страница").lang, "ru");
  const LidPrediction p = lid.predict("copy the page");
  EXPECT_EQ(p.lang, "en");
  EXPECT_GT(p.prob, 0.99);
  // No known n-gram: no label.
  EXPECT_EQ(lid.predict("").lang, "");
  EXPECT_EQ(lid.predict("日本").lang, "");
  EXPECT_EQ(lid.predict("日本").prob, 0);
  // The ranking holds every language, best first, probabilities summing to 1.
  const auto r = lid.rank("die Seite");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].lang, "de");
  double sum = 0;
  for (size_t i = 0; i < r.size(); ++i) {
    sum += r[i].prob;
    if (i) EXPECT_GE(r[i - 1].log_likelihood, r[i].log_likelihood);
  }
  EXPECT_NEAR(sum, 1.0, 1e-12);
  // No evidence: every language equally likely, in langs() order.
  const auto none = lid.rank("日本");
  EXPECT_EQ(none[0].lang, "en");
  EXPECT_DOUBLE_EQ(none[2].prob, 1.0 / 3);
}

// The reference: multinomial naive Bayes written as the formula, over the n-grams each language's
// top-k keeps (ties by n-gram), P(g | l) = (c(g, l) + alpha) / (sum_vocab c(., l) + alpha |V|).
std::map<std::string, double> naive_log_likelihood(const std::vector<Row>& rows,
                                                   const std::string& text, const LidOptions& opt) {
  std::vector<std::map<std::string, int64_t>> counts(kLangs.size());
  for (const auto& r : rows)
    for (size_t l = 0; l < kLangs.size(); ++l)
      if (!r.text[l].empty())
        for (const auto& g : lid_ngrams(r.text[l], opt.max_n)) counts[l][g]++;
  std::set<std::string> vocab;
  for (const auto& c : counts) {
    std::vector<std::pair<int64_t, std::string>> v;
    for (const auto& [g, n] : c) v.emplace_back(-n, g);
    std::sort(v.begin(), v.end());
    for (size_t i = 0; i < v.size() && i < static_cast<size_t>(opt.top_k); ++i)
      vocab.insert(v[i].second);
  }
  std::map<std::string, double> out;
  for (size_t l = 0; l < kLangs.size(); ++l) {
    double total = 0;
    for (const auto& g : vocab) total += counts[l].count(g) ? counts[l].at(g) : 0;
    double ll = 0;
    for (const auto& g : lid_ngrams(text, opt.max_n)) {
      if (!vocab.count(g)) continue;
      const double c = counts[l].count(g) ? counts[l].at(g) : 0;
      ll += std::log((c + opt.alpha) / (total + opt.alpha * vocab.size()));
    }
    out[kLangs[l]] = ll;
  }
  return out;
}

TEST(LidTest, MatchesANaiveNaiveBayes) {
  for (int top_k : {100000, 25, 3}) {
    LidOptions opt;
    opt.top_k = top_k;
    opt.max_n = 3;
    opt.alpha = 0.7;
    const LanguageIdentifier lid = train_lid(tiny_rows(), kLangs, opt);
    for (const char* text : {"save the table", "die Datei öffnen", "сохранить файл", "Tabelle x",
                             "fenster window окно"}) {
      const auto want = naive_log_likelihood(tiny_rows(), text, opt);
      const auto got = lid.rank(text);
      double z = 0, mx = -1e300;
      for (const auto& [l, ll] : want) mx = std::max(mx, ll);
      for (const auto& [l, ll] : want) z += std::exp(ll - mx);
      for (const LidScore& s : got) {
        EXPECT_NEAR(s.log_likelihood, want.at(s.lang), 1e-9) << text << " " << s.lang;
        EXPECT_NEAR(s.prob, std::exp(want.at(s.lang) - mx) / z, 1e-12) << text << " " << s.lang;
      }
    }
  }
}

TEST(LidTest, KeepsTheTopKNgramsPerLanguage) {
  LidOptions opt;
  opt.top_k = 5;
  const LanguageIdentifier lid = train_lid(tiny_rows(), kLangs, opt);
  EXPECT_LE(lid.num_features(), 15u);
  EXPECT_GE(lid.num_features(), 5u);
}

TEST(LidTest, SaveLoadRoundTripGivesIdenticalPredictions) {
  test::TempDir d;
  const LanguageIdentifier lid = train_lid(tiny_rows(), kLangs, {});
  lid.save(d / "lid.model");
  const LanguageIdentifier back = LanguageIdentifier::load(d / "lid.model");
  EXPECT_EQ(back.langs(), lid.langs());
  EXPECT_EQ(back.num_features(), lid.num_features());
  EXPECT_EQ(back.options().alpha, lid.options().alpha);
  for (const char* text : {"save the table", "die Datei öffnen", "сохранить", "Quit", "", "zz"}) {
    const auto a = lid.rank(text), b = back.rank(text);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].lang, b[i].lang);
      EXPECT_EQ(a[i].log_likelihood, b[i].log_likelihood);
      EXPECT_EQ(a[i].prob, b[i].prob);
    }
  }
  back.save(d / "again.model");
  EXPECT_EQ(test::read_file(d / "again.model"), test::read_file(d / "lid.model"));
}

TEST(LidTest, CorruptOrTruncatedFilesThrowNamingTheFile) {
  test::TempDir d;
  train_lid(tiny_rows(), kLangs, {}).save(d / "lid.model");
  const std::string good = test::read_file(d / "lid.model");
  auto expect_error = [&](const std::string& text, const std::string& needle) {
    const std::string path = d / "bad.model";
    test::write_file(path, text);
    try {
      LanguageIdentifier::load(path);
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.rfind(path, 0), 0u) << what;
      EXPECT_NE(what.find(needle), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  };
  expect_error("", "truncated");
  expect_error("hello\n", "not a Strata language-identifier model");
  expect_error("strata-lid 2\n", "unsupported");
  expect_error(good.substr(0, good.size() / 2), "");           // cut in the middle of the features
  expect_error(good.substr(0, good.size() - 4), "truncated");  // "end" lost
  std::string bad_count = good;
  bad_count.replace(bad_count.find("\t") + 1, 1, "9");  // language index 9 of 3
  expect_error(bad_count, "bad count");
  std::string bad_langs = good;
  bad_langs.replace(bad_langs.find("langs 3"), 7, "langs 4");
  expect_error(bad_langs, "expected 4 language codes");
  expect_error(good + "more\n", "after 'end'");
  try {
    LanguageIdentifier::load(d / "missing.model");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(d / "missing.model", 0), 0u) << e.what();
  }
}

TEST(LidTest, AccuracyCountsByLanguageAndLength) {
  const LanguageIdentifier lid = train_lid(tiny_rows(), kLangs, {});
  std::vector<Row> test = {{"x", {"print the page", "die Seite drucken", "окно"}},
                           {"x", {"Fenster", "", "日本"}}};  // en "Fenster" wrong, "日本" no label
  const LidAccuracy a = lid_accuracy(lid, test, kLangs);
  EXPECT_EQ(a.overall.total, 5);
  EXPECT_EQ(a.overall.correct, 3);
  EXPECT_EQ(a.by_lang[0].total, 2);
  EXPECT_EQ(a.by_lang[0].correct, 1);
  EXPECT_EQ(a.by_lang[2].correct, 1);
  EXPECT_EQ(a.confusion[0][1], 1);     // en -> de
  EXPECT_EQ(a.confusion[2][3], 1);     // ru -> none
  EXPECT_EQ(a.by_length[0].total, 2);  // "окно", "日本": 1-4 code points
  EXPECT_EQ(a.by_length[1].total, 1);  // "Fenster"
  const std::string t = format_lid_accuracy(a, "test");
  EXPECT_NE(t.find("| all | 5 | 60.0 |"), std::string::npos) << t;
  EXPECT_NE(t.find("en->de 1"), std::string::npos) << t;
}

TEST(LidTest, CliTrainsSavesAndPrintsAccuracy) {
  test::TempDir d;
  const auto rows = tiny_rows();
  std::filesystem::create_directories(d / "data");
  write_split(d / "data/train.tsv", kLangs, rows);
  write_split(d / "data/valid.tsv", kLangs, std::vector<Row>(rows.begin(), rows.begin() + 4));
  test::write_file(d / "data.yaml", "langs: [en, de, ru]\nout_dir: " + (d / "data") + "\n");
  auto r = test::run_command(std::string(STRATA_BIN) + " data lid --config " + (d / "data.yaml"),
                             d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("valid: accuracy"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| all | 12 | 100.0 |"), std::string::npos) << r.out;
  const LanguageIdentifier lid = LanguageIdentifier::load(d / "data/lid.model");
  EXPECT_EQ(lid.predict("die Datei").lang, "de");
  r = test::run_command(std::string(STRATA_BIN) + " data lid --config " + (d / "data.yaml") +
                            " -o " + (d / "x.model") + " --top-k 0",
                        d.str());
  test::expect_one_line_error(r, "--top-k");
}

}  // namespace
}  // namespace strata::data
