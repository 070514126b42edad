// strata translate: output and bad input.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "data/langs.h"
#include "kernels/precision.h"
#include "data/prepare.h"
#include "data/spm.h"
#include "nmt/config.h"
#include "nmt/decode/translator.h"
#include "nmt/model/checkpoint.h"
#include "nmt/train/batcher.h"
#include "nmt/train/loss.h"
#include "nmt/util/error.h"
#include "tests/cli_test_util.h"
#include "tests/tiny_checkpoint.h"

using namespace strata;
using namespace strata::nmt;
using test::expect_one_line_error;
using test::kStrata;
using test::make_tiny_corpus;
using test::tiny_train_config;

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

TEST(TranslateCliTest, RepetitionGuardsAndTheirBadValues) {
  test::TempDir d;
  std::string data_yaml = make_tiny_corpus(d);
  const auto ck = test::save_tiny_checkpoint(d, data_yaml, "m");
  test::write_file(d / "in.txt", "open the file\n\nsave the page\n");
  const std::string translate = kStrata + " translate -m " + ck.path + " --tgt-lang de --threads 1";
  auto r = test::run_command(translate + " --no-repeat-ngram-size 2 --repetition-penalty 1.2 < " +
                                 (d / "in.txt"), d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3);
  const std::string eval = kStrata + " eval -m " + ck.path +
                           " --split test --beam 1 --max-sentences 2 --threads 1";
  r = test::run_command(eval + " --no-repeat-ngram-size 3 --repetition-penalty 1.5", d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  for (const std::string& cmd : {translate, eval}) {
    const std::string in = cmd == translate ? " < " + (d / "in.txt") : "";
    r = test::run_command(cmd + " --no-repeat-ngram-size -1" + in, d.str());
    expect_one_line_error(r, "--no-repeat-ngram-size must be >= 0, got -1");
    for (const char* bad : {"0.5", "inf", "nan", "-2"}) {
      r = test::run_command(cmd + " --repetition-penalty " + bad + in, d.str());
      expect_one_line_error(r, "--repetition-penalty must be a finite number >= 1, got " +
                                   std::string(bad));
    }
  }
  const std::string train = kStrata + " train --config " + tiny_train_config(d, data_yaml, "x", 1, 1);
  r = test::run_command(train + " --set decode.no_repeat_ngram_size=-2", d.str());
  expect_one_line_error(r, "decode.no_repeat_ngram_size: must be >= 0, got -2");
  r = test::run_command(train + " --set decode.repetition_penalty=0.9", d.str());
  expect_one_line_error(r, "decode.repetition_penalty: must be >= 1, got 0.9");
  r = test::run_command(train + " --set decode.repetition_penalty=.inf", d.str());
  expect_one_line_error(r, "decode.repetition_penalty: must be >= 1, got inf");
}

TEST(TranslateCliTest, ComputeTypesTranslateEvaluateAndRejectUnknownNames) {
  test::TempDir d;
  std::string data_yaml = make_tiny_corpus(d);
  const auto ck = test::save_tiny_checkpoint(d, data_yaml, "m");
  test::write_file(d / "in.txt", "open the file\n\nsave the page\n");
  const std::string translate = kStrata + " translate -m " + ck.path + " --tgt-lang de --threads 1";
  for (const char* t : {"float32", "int8", "bfloat16", "int8_bfloat16"}) {
    auto r = test::run_command(translate + " --compute-type " + t + " < " + (d / "in.txt"), d.str());
    ASSERT_EQ(r.status, 0) << t << ": " << r.err;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3) << t;
  }
  auto r = test::run_command(translate + " --compute-type auto < " + (d / "in.txt"), d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  // The tiny model is d 32: auto means float32 there (kernels::kLowPrecisionMinWidth)...
  EXPECT_NE(r.err.find("[translate] compute type auto: float32"), std::string::npos) << r.err;
  // ...unless it is an int8 checkpoint loaded int8 only (no float32 weights left).
  const bool int8_here = kernels::int8_is_fast();
  r = test::run_command(kStrata + " quantize -m " + ck.path + " -o " + (d / "m.int8.pt"), d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  r = test::run_command(kStrata + " translate -m " + (d / "m.int8.pt") +
                            " --tgt-lang de --threads 1 --compute-type auto < " + (d / "in.txt"), d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3);
  EXPECT_NE(r.err.find(int8_here ? "[translate] compute type auto: int8 (this CPU has VNNI int8 dot products) (an int8 checkpoint loaded int8 only)"
                                 : "[translate] compute type auto: "), std::string::npos) << r.err;
  r = test::run_command(kStrata + " eval -m " + ck.path +
                            " --split test --beam 1 --max-sentences 2 --threads 1 --compute-type int8",
                        d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  for (const std::string& cmd : {translate + " < " + (d / "in.txt"),
                                 kStrata + " eval -m " + ck.path + " --split test"}) {
    r = test::run_command(cmd + " --compute-type int4", d.str());
    expect_one_line_error(r, "--compute-type must be auto, float32, bfloat16, int8 or int8_bfloat16, got 'int4'");
  }
}

// Vocabulary shortlists: `strata data shortlist` writes <out_dir>/shortlist.tsv; translate, eval
// and serve read it with --shortlist FILE or auto (the model's data) in every compute type; a
// list of another SentencePiece model and a broken file are one-line errors.
TEST(TranslateCliTest, ShortlistBuildsTranslatesEvaluatesAndRefusesBadFiles) {
  test::TempDir d;
  std::string data_yaml = make_tiny_corpus(d);
  const auto ck = test::save_tiny_checkpoint(d, data_yaml, "m");
  auto r = test::run_command(kStrata + " data shortlist --config " + data_yaml, d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("| de | "), std::string::npos) << r.out;
  const std::string list = d / "data/shortlist.tsv";
  ASSERT_TRUE(std::filesystem::exists(list));
  test::write_file(d / "in.txt", "open the file\n\nsave the page\n");
  const std::string translate = kStrata + " translate -m " + ck.path + " --tgt-lang de --threads 1";
  for (const std::string& how : {"--shortlist " + list, std::string("--shortlist auto")})
    for (const char* t : {"float32", "int8"}) {
      r = test::run_command(translate + " " + how + " --compute-type " + t + " < " + (d / "in.txt"), d.str());
      ASSERT_EQ(r.status, 0) << how << " " << t << ": " << r.err;
      EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3) << how << " " << t;
    }
  const std::string eval = kStrata + " eval -m " + ck.path +
                           " --split test --beam 1 --max-sentences 2 --threads 1";
  r = test::run_command(eval + " --json " + (d / "s.json"), d.str());  // --shortlist auto: the default
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("[eval] vocabulary shortlist " + list), std::string::npos) << r.err;
  EXPECT_EQ(nlohmann::json::parse(test::read_file(d / "s.json"))["test"]["shortlist"], list);
  // A list of another vocabulary (its MD5 changed), a broken one, a missing one.
  std::string text = test::read_file(list);
  const size_t md5 = text.find("spm_md5 ") + 8;
  text.replace(md5, 32, std::string(32, '0'));
  test::write_file(d / "other.tsv", text);
  r = test::run_command(translate + " --shortlist " + (d / "other.tsv") + " < " + (d / "in.txt"), d.str());
  expect_one_line_error(r, (d / "other.tsv") + ": the shortlist was built with another SentencePiece model");
  test::write_file(d / "broken.tsv", text.substr(0, text.size() / 2));
  r = test::run_command(eval + " --shortlist " + (d / "broken.tsv"), d.str());
  expect_one_line_error(r, (d / "broken.tsv") + ":");
  r = test::run_command(translate + " --shortlist " + (d / "none.tsv") + " < " + (d / "in.txt"), d.str());
  expect_one_line_error(r, (d / "none.tsv") + ": cannot open vocabulary shortlist (build it with 'strata data shortlist')");
}

TEST(TranslateCliTest, NumericOptionsOutOfRangeAreOneLineErrorsBeforeAnythingLoads) {
  // The model path does not exist: each option must be refused first, by name.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"translate -t de --beam 0", "--beam must be in [1, 1024], got 0"},
      {"translate -t de --lenpen nan", "--lenpen must be a finite number, got nan"},
      {"translate -t de --max-len-a -1", "--max-len-a must be in [0, 1000000], got -1"},
      {"translate -t de --threads -3", "--threads must be in [0, 1024], got -3"},
      {"translate -t de --batch-size 0", "--batch-size must be in [1, 1048576], got 0"},
      {"translate -t de --nbest 0", "--nbest must be in [1, 1024], got 0"},
      {"eval --beam 0", "--beam must be in [1, 1024], got 0"},
      {"eval --max-sentences -1", "--max-sentences must be in [0, 1000000000], got -1"},
      {"analyze routing --threads -1", "--threads must be in [0, 1024], got -1"},
  };
  test::TempDir d;
  for (const auto& [args, msg] : cases) {
    auto r = test::run_command(kStrata + " " + args + " -m " + (d / "missing.pt") + " < /dev/null",
                               d.str());
    expect_one_line_error(r, msg);
  }
}

TEST(TranslateCliTest, CataloguesInAndOut) {
  test::TempDir d;
  std::string data_yaml = make_tiny_corpus(d);
  const auto ck = test::save_tiny_checkpoint(d, data_yaml, "m");
  const std::string translate = kStrata + " translate -m " + ck.path + " --tgt-lang de --threads 1";
  test::write_file(d / "app.pot",
                   "msgid \"\"\nmsgstr \"\"\n\"Content-Type: text/plain; charset=CHARSET\\n\"\n"
                   "\"Plural-Forms: nplurals=INTEGER; plural=EXPRESSION;\\n\"\n\n"
                   "#, c-format\nmsgid \"open the file\"\nmsgstr \"\"\n\n"
                   "#, c-format\nmsgid \"%s: %d\"\nmsgstr \"\"\n");
  test::write_file(d / "in.txt", "open the file\n");
  auto plain = test::run_command(translate + " < " + (d / "in.txt"), d.str());
  ASSERT_EQ(plain.status, 0) << plain.err;
  auto r = test::run_command(translate + " -i " + (d / "app.pot") + " -o " + (d / "de.po"), d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("app.pot: 2 entries: "), std::string::npos) << r.err;
  const std::string po = test::read_file(d / "de.po");
  EXPECT_NE(po.find("\"Language: de\\n\""), std::string::npos) << po;
  EXPECT_NE(po.find("msgid \"%s: %d\"\nmsgstr \"%s: %d\""), std::string::npos) << po;
  // The string's translation is the model's translation of the same text, or it is flagged.
  std::string want = plain.out.substr(0, plain.out.size() - 1);
  const bool translated = po.find("msgid \"open the file\"\nmsgstr \"" + want + "\"") != std::string::npos;
  const bool flagged = po.find("# strata: not translated") != std::string::npos;
  EXPECT_TRUE(translated || flagged) << po;
  EXPECT_EQ(std::system(("msgfmt --check --use-fuzzy -o /dev/null " + (d / "de.po") + " 2>/dev/null").c_str()), 0);
  // stdin and stdout with --format; errors are one line.
  r = test::run_command(translate + " --format po < " + (d / "app.pot"), d.str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, po);
  test::write_file(d / "bad.po", "msgid \"a\"\nmsgstr \"b\n");
  expect_one_line_error(test::run_command(translate + " -i " + (d / "bad.po"), d.str()),
                        "bad.po:2: string not closed (a '\"' is missing)");
  expect_one_line_error(test::run_command(translate + " --format xml < " + (d / "app.pot"), d.str()),
                        "--format: expected text, po, ftl or properties, not 'xml'");
  expect_one_line_error(test::run_command(translate + " -i " + (d / "app.pot") + " -o " + (d / "no/such/de.po"), d.str()),
                        "no/such/de.po");
}
