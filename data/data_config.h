#pragma once
// Configuration of `strata data` (configs/data/*.yaml): the language set, the sources, cleaning,
// splits and the SentencePiece model. Every field has a default; see configs/data/core8.yaml.
#include <string>
#include <vector>

#include "data/clean.h"

namespace strata::data {

struct SplitConfig {
  std::string seed = "strata";          // keys are ordered by md5(seed|key)
  int valid_size = 1000;                // number of normalised English keys in valid
  int test_size = 2000;                 // ... and in test
  int eval_min_words = 3;               // valid/test candidates have at least this many English words
  std::vector<std::string> split_langs; // rows complete in these languages are candidates (default: langs)
};

struct SpmConfig {
  int vocab_size = 8000;              // SentencePiece vocabulary size (incl. language tags)
  double temperature = 5.0;           // language sampling p_l ∝ n_l^(1/T) for the training text
  int sample_sentences = 600000;      // sentences drawn for SentencePiece training
  double character_coverage = 0.9995; // SentencePiece character coverage (CJK needs < 1)
  std::string model_type = "unigram"; // unigram | bpe
  int seed = 1;                       // sampling seed
};

struct DataConfig {
  std::string name = "core8";  // benchmark name
  std::vector<std::string> langs = {"en", "de", "fr", "ru", "ja", "zh-CN", "tr", "el"};
  std::vector<std::string> sources = {"lo-ui", "lo-help", "firefox", "gettext"};  // in-domain
  std::string ood_source = "thunderbird";  // held out whole as the out-of-domain test ("" = none)
  std::vector<std::string> gettext_packages = {"vlc-l10n",       "libgtk-3-common",
                                               "libglib2.0-data", "gimp",
                                               "inkscape",       "gnucash-common",
                                               "evolution-common", "libc-l10n"};
  std::string cache_dir = "work/cache/debs";  // downloaded .debs (reused by later runs)
  std::string out_dir = "work/data/core8";    // corpus, manifest and SentencePiece model
  bool keep_plurals = false;                  // keep plural forms (first form)
  bool dedup_across_sources = false;          // an English string seen in two in-domain sources
                                              // keeps only the first source's row
  CleanOptions clean;
  SplitConfig split;
  SpmConfig spm;
};

// Loads and validates a data config; unknown keys and wrong types are errors naming the file
// and dotted path. `overrides` are "a.b=value" strings (--set).
DataConfig load_data_config(const std::string& path, const std::vector<std::string>& overrides);

// The source names `strata data` can read.
const std::vector<std::string>& known_sources();

}  // namespace strata::data
