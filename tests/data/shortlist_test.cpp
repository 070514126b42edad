// data/shortlist: each language's list against a brute-force count of the pieces its training text
// uses; the file round trip; a list built with another SentencePiece model is refused; every
// malformed file is a one-line error naming the file and line.
#include "data/shortlist.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include "nmt/util/error.h"
#include "tests/test_util.h"

using namespace strata;
using namespace strata::data;

namespace {

std::vector<Row> rows_of_three_languages() {
  std::vector<Row> rows;
  for (int i = 0; i < 60; ++i) {
    const std::string n = std::to_string(i);
    rows.push_back({"lo-ui", {"Open file " + n, "Datei " + n + " öffnen", "ファイル" + n + "を開く"}});
  }
  rows.push_back({"lo-ui", {"Close the window", "", "ウィンドウを閉じる"}});  // no German
  rows.push_back({"lo-ui", {"Quit", "Beenden", ""}});
  return rows;
}

// Trains a SentencePiece model of `vocab` pieces on the rows in d.
std::unique_ptr<Tokenizer> train_tokenizer(const test::TempDir& d, const std::vector<Row>& rows,
                                           int vocab) {
  DataConfig cfg;
  cfg.langs = {"en", "de", "ja"};
  cfg.out_dir = d.str();
  cfg.spm.vocab_size = vocab;
  cfg.spm.sample_sentences = 600;
  write_split(d / "train.tsv", cfg.langs, rows);
  train_spm(cfg);
  return std::make_unique<Tokenizer>(d / "spm.model");
}

}  // namespace

TEST(ShortlistTest, EachLanguageKeepsThePiecesItsTextUsesAndTheSpecials) {
  test::TempDir d;
  const auto rows = rows_of_three_languages();
  const auto tok = train_tokenizer(d, rows, 400);
  const std::vector<std::string> langs = {"en", "de", "ja"};
  for (int64_t min_count : {1, 2, 5}) {
    const VocabShortlist s = build_shortlist(rows, langs, *tok, {min_count});
    EXPECT_EQ(s.vocab_size(), tok->vocab_size());
    for (size_t l = 0; l < langs.size(); ++l) {
      std::map<int64_t, int64_t> count;  // brute force
      for (const Row& r : rows)
        for (int id : tok->encode(r.text[l])) ++count[id];
      std::set<int64_t> want = {kEosId, kUnkId};
      for (auto [id, c] : count)
        if (c >= min_count) want.insert(id);
      const auto* got = s.ids(langs[l]);
      ASSERT_NE(got, nullptr);
      EXPECT_EQ(std::vector<int64_t>(want.begin(), want.end()), *got)
          << langs[l] << " min_count " << min_count;
    }
  }
  const VocabShortlist s = build_shortlist(rows, langs, *tok, {});
  EXPECT_EQ(s.ids("fr"), nullptr);
  // The Japanese pieces are not English ones: the lists differ and are each well under the vocabulary.
  EXPECT_NE(*s.ids("en"), *s.ids("ja"));
  for (const auto& l : langs) EXPECT_LT(s.ids(l)->size(), static_cast<size_t>(tok->vocab_size())) << l;
  EXPECT_THROW(build_shortlist(rows, langs, *tok, {0}), Error);
}

TEST(ShortlistTest, FileRoundTripAndAnotherModelIsRefused) {
  test::TempDir d, other;
  const auto rows = rows_of_three_languages();
  const auto tok = train_tokenizer(d, rows, 400);
  const VocabShortlist s = build_shortlist(rows, {"en", "de", "ja"}, *tok, {2});
  s.save(d / "shortlist.tsv");
  const VocabShortlist back = VocabShortlist::load(d / "shortlist.tsv");
  EXPECT_EQ(back.langs(), s.langs());
  EXPECT_EQ(back.vocab_size(), s.vocab_size());
  EXPECT_EQ(back.min_count(), 2);
  EXPECT_EQ(back.spm_md5(), tokenizer_md5(*tok));
  for (const auto& l : s.langs()) EXPECT_EQ(*back.ids(l), *s.ids(l)) << l;
  EXPECT_NO_THROW(back.check_tokenizer(*tok, "list"));
  // The same text with another vocabulary size: another model.
  const auto tok2 = train_tokenizer(other, rows, 420);
  try {
    back.check_tokenizer(*tok2, "list.tsv");
    ADD_FAILURE() << "a list of another SentencePiece model was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("list.tsv: the shortlist was built with another SentencePiece model", 0), 0u)
        << e.what();
  }
}

TEST(ShortlistTest, MalformedFilesAreOneLineErrorsNamingTheLine) {
  test::TempDir d;
  const std::string md5(32, 'a');
  const std::string head = "strata-shortlist 1\nspm_md5 " + md5 + "\nvocab 10\nmin_count 1\n";
  const std::string ok = head + "langs 2\nen\t3\t1 3 7\nde\t2\t3 9\nend\n";
  test::write_file(d / "ok.tsv", ok);
  const VocabShortlist s = VocabShortlist::load(d / "ok.tsv");
  EXPECT_EQ(*s.ids("de"), (std::vector<int64_t>{3, 9}));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"strata-lid 1\n", ":1: not a Strata vocabulary shortlist"},
      {"strata-shortlist 2\n", ":1: not a Strata vocabulary shortlist"},
      {"strata-shortlist 1\nspm_md5 xyz\n", ":2: 'spm_md5' must be 32 lowercase hex digits"},
      {"strata-shortlist 1\nspm_md5 " + md5 + "\nvocab ten\n", ":3: 'vocab' must be an integer"},
      {head + "langs 0\n", ":5: 'langs' must be an integer in [1, 4096]"},
      {head + "langs 1\nen 3 1 3 7\n", ":6: expected '<lang>\\t<count>\\t<ids>'"},
      {head + "langs 1\nen\t3\t1 7 3\n", ":6: ids must be strictly ascending"},
      {head + "langs 1\nen\t3\t1 3 10\n", ":6: id '10' is not in [0, 10)"},
      {head + "langs 1\nen\t3\t1 3 -1\n", ":6: id '-1' is not in [0, 10)"},
      {head + "langs 1\nen\t4\t1 3 7\n", ":6: 'en' lists 3 ids, its count says 4"},
      {head + "langs 1\nen\t2\t1 7\n", ":6: 'en' lacks </s> (id 3)"},
      {head + "langs 2\nen\t1\t3\nen\t1\t3\n", ":7: language 'en' listed twice"},
      {head + "langs 1\nen\t1\t3\nmore\n", ":7: expected 'end'"},
      {head + "langs 2\nen\t1\t3\n", "truncated vocabulary shortlist (expected language 2 of 2 after line 6)"},
  };
  for (const auto& [text, want] : cases) {
    test::write_file(d / "bad.tsv", text);
    try {
      VocabShortlist::load(d / "bad.tsv");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind(d / "bad.tsv", 0), 0u) << msg;
      EXPECT_NE(msg.find(want), std::string::npos) << msg << "\nwanted: " << want;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
  }
  EXPECT_THROW(VocabShortlist::load(d / "missing.tsv"), Error);
}
