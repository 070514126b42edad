#pragma once
// Language identification by character n-grams: a multinomial naive Bayes classifier over the
// 1..max_n-grams of a lower-cased, space-padded string, as langid.py (Lui & Baldwin 2012,
// "langid.py: An Off-the-shelf Language Identification Tool") uses, with the per-language top-K
// feature selection of Cavnar & Trenkle 1994 ("N-Gram-Based Text Categorization") instead of
// langid.py's information-gain selection. Trained on a benchmark's own train.tsv (both sides of
// every row, each with its language); `strata data lid` trains and scores it, `strata eval --model`
// uses it for the off-target rate, and the server's `source: auto` / `/detect` will use it.
//   LanguageIdentifier lid = train_lid(rows, langs, {});
//   lid.save("work/data/core8/lid.model");
//   LanguageIdentifier back = LanguageIdentifier::load("work/data/core8/lid.model");
//   LidPrediction p = back.predict("Die Datei wurde gespeichert");  // {"de", 0.99...}
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "data/data_config.h"
#include "data/prepare.h"

namespace strata::data {

struct LidOptions {
  int max_n = 4;       // n-gram orders 1..max_n over code points (default 4)
  int top_k = 8000;    // features kept per language, by count (the vocabulary is their union)
  double alpha = 0.5;  // additive (Lidstone) smoothing of P(n-gram | language) (default 0.5)
};

// One language of a ranking.
struct LidScore {
  std::string lang;
  double log_likelihood = 0;  // sum over the text's known n-grams of log P(n-gram | lang)
  double prob = 0;            // posterior under a uniform prior (the ranking's probs sum to 1)
};

// The best language and its posterior; lang is empty when no n-gram of the text is known (empty
// or unseen text), with prob 0.
struct LidPrediction {
  std::string lang;
  double prob = 0;
};

// The n-grams of `text` that the identifier counts, in order: code points lower-cased (Python's
// str.lower per code point), every run of white space one space, one space padded at each end,
// then every 1..max_n-gram of that sequence except the lone padding space, as UTF-8. Exposed for
// the tests.
std::vector<std::string> lid_ngrams(std::string_view text, int max_n);

class LanguageIdentifier {
 public:
  LanguageIdentifier() = default;

  // All languages ranked by posterior (ties: in langs() order). With no known n-gram every
  // language has prob 1/L.
  std::vector<LidScore> rank(std::string_view text) const;
  // The first of rank(), or {"", 0} without a known n-gram.
  LidPrediction predict(std::string_view text) const;

  const std::vector<std::string>& langs() const { return langs_; }
  size_t num_features() const { return features_.size(); }
  const LidOptions& options() const { return opt_; }

  // Text format, version 1: "strata-lid 1", "max_n N", "top_k K", "alpha A", "langs L l1 ... lL",
  // "features V", then V lines "<n-gram>\t<lang index>:<count> ..." (sorted by n-gram), "end".
  void save(const std::string& path) const;
  // Throws strata::Error "<path>: ..." (one line) on a missing, truncated or malformed file.
  static LanguageIdentifier load(const std::string& path);

  // Builds from per-language n-gram counts (pruning as `opt` says); used by train_lid and tests.
  static LanguageIdentifier from_counts(
      const std::vector<std::string>& langs,
      const std::vector<std::unordered_map<std::string, int64_t>>& counts, const LidOptions& opt);

 private:
  struct Entry {
    uint32_t lang;
    int64_t count;
  };
  // Computes index_ and log_prob_ from the counts.
  void finish();
  // rank(); *known = the number of the text's n-grams in the vocabulary.
  std::vector<LidScore> rank_counting(std::string_view text, size_t* known) const;

  LidOptions opt_;
  std::vector<std::string> langs_;
  std::unordered_map<std::string, uint32_t> index_;  // n-gram -> row of log_prob_/entries_
  std::vector<std::string> features_;                // sorted n-grams
  std::vector<std::vector<Entry>> entries_;          // per feature: its non-zero counts
  std::vector<double> log_prob_;                     // [V, L] log P(feature | lang)
};

// Trains on every non-empty text of `rows` (columns indexed like `langs`) with its language.
LanguageIdentifier train_lid(const std::vector<Row>& rows, const std::vector<std::string>& langs,
                             const LidOptions& opt);

// Accuracy on a split: every non-empty text of `rows` labelled with its column's language.
struct LidAccuracy {
  struct Cell {
    int64_t correct = 0, total = 0;
  };
  std::vector<std::string> langs;                 // the split's languages
  std::vector<Cell> by_lang;                      // indexed like langs
  std::vector<std::string> bucket_names;          // code-point length buckets
  std::vector<Cell> by_length;                    // indexed like bucket_names
  std::vector<std::vector<Cell>> by_lang_length;  // [lang][bucket]
  std::vector<std::vector<int64_t>> confusion;    // [true lang][predicted lang]; last col = none
  Cell overall;
};
LidAccuracy lid_accuracy(const LanguageIdentifier& lid, const std::vector<Row>& rows,
                         const std::vector<std::string>& langs);
// Markdown tables: accuracy per language and overall, by length bucket, and the most common
// confusions.
std::string format_lid_accuracy(const LidAccuracy& a, const std::string& title);

// `strata data lid`: trains on <out_dir>/train.tsv, saves to `path` (empty: <out_dir>/lid.model),
// prints the accuracy on valid.tsv and test.tsv to stdout and progress to stderr.
void prepare_lid(const DataConfig& cfg, const std::string& path, const LidOptions& opt);

}  // namespace strata::data
