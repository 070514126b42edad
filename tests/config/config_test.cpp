// nmt/config.cpp: every numeric field has a range checked at load (NaN, inf and out-of-range
// values are one-line errors naming the dotted path), duplicate keys are errors, the rules between
// fields hold, and to_yaml/parse_config round-trip.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "nmt/config.h"
#include "nmt/util/error.h"
#include "tests/test_util.h"

using namespace strata;
using namespace strata::nmt;

namespace {

// The message of the strata::Error that parsing `yaml` throws ("" if it parses).
std::string error_of(const std::string& yaml) {
  try {
    parse_config(yaml, "c.yaml");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Every numeric scalar of the default config's YAML, as dotted paths (walked from the YAML, not
// from the field table: a field added without a range still shows up here).
void numeric_paths(const YAML::Node& n, const std::string& prefix, std::vector<std::string>& out) {
  for (const auto& kv : n) {
    std::string path = (prefix.empty() ? "" : prefix + ".") + kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (v.IsMap()) {
      numeric_paths(v, path, out);
    } else if (v.IsScalar()) {
      double x;
      bool b;
      if (YAML::convert<double>::decode(v, x) && !YAML::convert<bool>::decode(v, b))
        out.push_back(path);
    }
  }
}

// The default config's YAML with `path` set to `value`.
std::string with(const std::string& path, const std::string& value) {
  YAML::Node root = YAML::Load(to_yaml(Config{}));
  std::vector<std::string> parts;
  for (size_t a = 0, b; a <= path.size(); a = b + 1) {
    b = path.find('.', a);
    if (b == std::string::npos) b = path.size();
    parts.push_back(path.substr(a, b - a));
  }
  YAML::Node cur = root;
  std::function<void(YAML::Node, size_t)> set = [&](YAML::Node node, size_t i) {
    if (i + 1 == parts.size()) node[parts[i]] = YAML::Load(value);
    else set(node[parts[i]], i + 1);
  };
  set(cur, 0);
  YAML::Emitter e;
  e << root;
  return e.c_str();
}

}  // namespace

TEST(ConfigTest, DefaultConfigRoundTrips) {
  Config c = parse_config(to_yaml(Config{}), "default");
  EXPECT_EQ(to_yaml(c), to_yaml(Config{}));
}

TEST(ConfigTest, EveryNumericFieldRejectsNanAndInfinityNamingItsPath) {
  std::vector<std::string> paths;
  numeric_paths(YAML::Load(to_yaml(Config{})), "", paths);
  ASSERT_GT(paths.size(), 50u);  // model, model.moe, model.lms, train, decode
  for (const auto& p : paths) {
    for (const char* bad : {".nan", ".inf", "-.inf"}) {
      std::string err = error_of(with(p, bad));
      // Integer fields refuse the value as a type error, the others by their range; a default of
      // 0 does not tell which a field is, so either one-line error naming the path passes.
      const bool named = err.find("c.yaml: " + p + ": must be ") == 0 ||
                         err == "c.yaml: " + p + ": expected an integer, got '" + bad + "'";
      EXPECT_TRUE(named)
          << p << " = " << bad << " gave: '" << err << "'";
      EXPECT_EQ(err.find('\n'), std::string::npos) << err;
    }
  }
}

TEST(ConfigTest, OutOfRangeValuesFromTheHostileInputRunAreErrors) {
  // Each was accepted before (the reliability issue's list) and led to NaN losses, dropped
  // tokens, runs that never end or a "best" model with nll 0.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"train.lr", "0"},                  {"train.lr", "-1"},
      {"train.label_smoothing", "1"},     {"model.moe.aux_loss_weight", "-0.1"},
      {"train.valid_sentences", "0"},     {"train.max_updates", "-1"},
      {"train.log_every", "0"},           {"model.dropout", "1.5"},
      {"train.clip_norm", "-1"},          {"train.warmup_init_lr", "-1"},
      {"train.adam_beta1", "1.5"},        {"train.adam_beta2", "1"},
      {"train.adam_eps", "0"},            {"train.temperature", "0"},
      {"train.threads", "-2"},            {"decode.beam", "0"},
      {"decode.max_len_a", "-1"},         {"decode.max_len_b", "-1"},
      {"decode.repetition_penalty", "0.5"}, {"model.d_model", "0"},
      {"model.d_model", "100000000"},     {"model.max_positions", "1"},
      {"train.max_tokens", "8"},          {"train.max_minutes", "-5"},
      {"model.moe.eom", "1"},             {"model.lms.rank", "0"},
  };
  for (const auto& [path, value] : cases) {
    std::string err = error_of(with(path, value));
    EXPECT_NE(err.find("c.yaml: " + path + ": must be "), std::string::npos)
        << path << " = " << value << " gave: '" << err << "'";
  }
  // The edges that are allowed stay allowed.
  for (const auto& [path, value] : std::vector<std::pair<std::string, std::string>>{
           {"train.clip_norm", "0"}, {"train.max_updates", "0"}, {"model.dropout", "0"},
           {"train.kd_weight", "1"}, {"decode.repetition_penalty", "1"},
           {"model.moe.capacity_factor", "-1"}, {"decode.lenpen", "-0.5"}})
    EXPECT_EQ(error_of(with(path, value)), "") << path << " = " << value;
  EXPECT_EQ(error_of(with("train.lr", "0.5")), "");
}

TEST(ConfigTest, RulesBetweenFields) {
  EXPECT_NE(error_of(with("model.heads", "3")).find("model.heads: must divide model.d_model=512"),
            std::string::npos);
  EXPECT_NE(error_of(with("decode.nbest", "5")).find("decode.nbest: must be in [1, decode.beam=4]"),
            std::string::npos);
  EXPECT_NE(error_of(with("train.max_len", "1023")).find("train.max_len: must be <= "),
            std::string::npos);
  // SMoE's stratum LayerNorms can be switched off only where there are strata.
  EXPECT_NE(error_of(with("model.moe.stratum_norms", "false"))
                .find("model.moe.stratum_norms: only applies to model.moe.type: smoe"),
            std::string::npos);
}

TEST(ConfigTest, ControlCharactersInTextFieldsAreErrors) {
  // Found by fuzzing (train_config): "data: x.yaml\r\r" loaded with the carriage returns in the
  // path, and the stored config lost one of them on every reading. A CRLF file is fine.
  EXPECT_EQ(error_of("train:\n  data: x.yaml\r\r\n"),
            "c.yaml: train.data: contains a control character (0x0d at byte 6)");
  EXPECT_EQ(error_of("train: {out_dir: \"a\\tb\"}\n"),
            "c.yaml: train.out_dir: contains a control character (0x09 at byte 1)");
  EXPECT_EQ(parse_config("train:\r\n  data: x.yaml\r\n", "crlf").train.data, "x.yaml");
}

TEST(ConfigTest, DuplicateKeysAreErrorsWithBothLines) {
  EXPECT_EQ(error_of("train:\n  lr: 0.1\n  lr: 0.2\n"),
            "c.yaml: train.lr: duplicate key (lines 2 and 3)");
  EXPECT_EQ(error_of("train: {lr: 0.1}\ntrain: {lr: 0.2}\n"),
            "c.yaml: train: duplicate key (lines 1 and 2)");
  EXPECT_EQ(error_of("model:\n  moe:\n    top_k: 1\n    top_k: 2\n"),
            "c.yaml: model.moe.top_k: duplicate key (lines 3 and 4)");
}

TEST(ConfigTest, OverridesAreCheckedLikeTheFile) {
  test::TempDir d;
  test::write_file(d / "c.yaml", "train: {lr: 0.001}\n");
  EXPECT_NO_THROW(load_config(d / "c.yaml", {"train.lr=0.002"}));
  try {
    load_config(d / "c.yaml", {"train.lr=.nan"});
    FAIL() << "train.lr=.nan accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), (d / "c.yaml") + ": train.lr: must be in (0, 10], got nan");
  }
}

TEST(ConfigTest, EveryConfigInTheRepoLoads) {
  // The ranges and the duplicate-key check must accept every shipped config (run from the repo
  // root, as ctest does).
  int n = 0;
  for (const auto& dir : {"configs", "configs/experiments"})
    for (const auto& e : std::filesystem::directory_iterator(dir))
      if (e.path().extension() == ".yaml") {
        EXPECT_NO_THROW(load_config(e.path().string(), {})) << e.path();
        ++n;
      }
  EXPECT_GE(n, 12);
}
