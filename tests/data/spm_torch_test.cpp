// SentencePiece in a process that uses LibTorch: the crash of Debian's libsentencepiece0 (embedded
// protobuf 3.14 vs the system's 3.21) stays fixed.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "data/spm.h"
#include "nmt/util/error.h"
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
