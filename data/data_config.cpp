#include "data/data_config.h"

#include <algorithm>
#include <set>

#include "nmt/util/error.h"
#include "nmt/util/range.h"
#include "data/langs.h"
#include "nmt/util/yaml_config.h"

namespace strata::data {

const std::vector<std::string>& known_sources() {
  static const std::vector<std::string> s = {"lo-ui", "lo-help", "firefox", "thunderbird",
                                             "gettext"};
  return s;
}

namespace {
void check_source(const std::string& s, const std::string& where) {
  const auto& k = known_sources();
  if (std::find(k.begin(), k.end(), s) != k.end()) return;
  std::string all;
  for (const auto& x : k) all += (all.empty() ? "" : " ") + x;
  throw Error(where + ": unknown source '" + s + "' (valid: " + all + ")");
}
}  // namespace

// A function-try-block: yaml-cpp exceptions that escape the strict reader (a key that is not a
// scalar, such as `[a, b]: 1`, found by fuzzing) become one-line errors naming the file and line.
DataConfig load_data_config(const std::string& path,
                            const std::vector<std::string>& overrides) try {
  YAML::Node root = load_yaml(path, overrides);
  DataConfig c;
  YamlMap m(root, path, "");
  m.read("name", c.name);
  m.read("langs", c.langs);
  m.read("sources", c.sources);
  m.read("ood_source", c.ood_source);
  m.read("gettext_packages", c.gettext_packages);
  m.read("cache_dir", c.cache_dir);
  m.read("out_dir", c.out_dir);
  m.read("keep_plurals", c.keep_plurals);
  m.read("dedup_across_sources", c.dedup_across_sources);
  {
    YamlMap k = m.child("clean");
    k.read("max_words", c.clean.max_words);
    k.read("max_chars", c.clean.max_chars);
    k.read("drop_placeholders", c.clean.drop_placeholders);
    k.finish();
  }
  {
    YamlMap s = m.child("split");
    s.read("seed", c.split.seed);
    s.read("valid_size", c.split.valid_size);
    s.read("test_size", c.split.test_size);
    s.read("eval_min_words", c.split.eval_min_words);
    s.read("split_langs", c.split.split_langs);
    s.finish();
  }
  {
    YamlMap s = m.child("spm");
    s.read("vocab_size", c.spm.vocab_size);
    s.read("temperature", c.spm.temperature);
    s.read("sample_sentences", c.spm.sample_sentences);
    s.read("character_coverage", c.spm.character_coverage);
    s.read("model_type", c.spm.model_type);
    s.read("seed", c.spm.seed);
    s.finish();
  }
  m.finish();

  // Validation: all rules, first failure reported with its dotted path.
  if (c.langs.size() < 2) throw Error(m.where("langs") + ": need at least 2 languages");
  if (std::find(c.langs.begin(), c.langs.end(), "en") == c.langs.end())
    throw Error(m.where("langs") + ": must include 'en' (segments are aligned by English)");
  std::set<std::string> seen;
  for (size_t i = 0; i < c.langs.size(); ++i) {
    check_lang(c.langs[i], m.where("langs") + "[" + std::to_string(i) + "]");
    if (!seen.insert(c.langs[i]).second)
      throw Error(m.where("langs") + ": duplicate language '" + c.langs[i] + "'");
  }
  if (c.split.split_langs.empty()) c.split.split_langs = c.langs;
  for (const auto& l : c.split.split_langs)
    if (!seen.count(l))
      throw Error(path + ": split.split_langs: '" + l + "' is not in langs");
  if (c.sources.empty()) throw Error(m.where("sources") + ": need at least one source");
  for (size_t i = 0; i < c.sources.size(); ++i)
    check_source(c.sources[i], m.where("sources") + "[" + std::to_string(i) + "]");
  if (!c.ood_source.empty()) {
    check_source(c.ood_source, m.where("ood_source"));
    if (std::find(c.sources.begin(), c.sources.end(), c.ood_source) != c.sources.end())
      throw Error(m.where("ood_source") + ": '" + c.ood_source + "' is also an in-domain source");
  }
  // Every number finite and in its range (NaN and inf included), named by its dotted path.
  auto check = [&](const char* field, double v, const Range& r) {
    if (!r.contains(v)) throw Error(path + ": " + field + ": " + r.violation(v));
  };
  check("split.valid_size", c.split.valid_size, in(0, 1e9));
  check("split.test_size", c.split.test_size, in(0, 1e9));
  check("split.eval_min_words", c.split.eval_min_words, in(0, 1e6));
  check("spm.temperature", c.spm.temperature, left_open(0, 1e6));
  check("spm.vocab_size", c.spm.vocab_size, in(100, 1 << 20));
  check("spm.sample_sentences", c.spm.sample_sentences, in(1, 1e9));
  check("spm.character_coverage", c.spm.character_coverage, left_open(0, 1));
  check("clean.max_words", c.clean.max_words, in(1, 1e6));
  check("clean.max_chars", c.clean.max_chars, in(1, 1e8));
  if (c.spm.model_type != "unigram" && c.spm.model_type != "bpe")
    throw Error(path + ": spm.model_type must be unigram or bpe, got '" + c.spm.model_type + "'");
  return c;
} catch (const YAML::Exception& e) {
  const std::string where =
      e.mark.is_null() ? path
                       : path + ":" + std::to_string(e.mark.line + 1) + ":" +
                             std::to_string(e.mark.column + 1);
  throw Error(where + ": unsupported YAML here (" + e.msg + "; keys must be plain names)");
}

}  // namespace strata::data
