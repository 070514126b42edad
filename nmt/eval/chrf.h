#pragma once
// Corpus-level chrF and chrF++ (Popović, 2015 and 2017) as sacreBLEU 2.x computes them with its
// defaults (metric_helpers.h's kSacreBleuVersion): effective-order averaging, optional eps
// smoothing, signature strings.
#include <string>
#include <vector>

namespace strata::eval {

// Options of corpus_chrf(); the defaults are sacreBLEU's CHRF() defaults (chrF2).
struct ChrfOptions {
  int char_order = 6;
  int word_order = 0;          // 2 for chrF++
  int beta = 2;
  bool lowercase = false;      // Python str.lower() on hypotheses and references
  bool whitespace = false;     // keep whitespace inside character n-grams
  bool eps_smoothing = false;  // chrF++.py-style smoothing instead of sacreBLEU's effective order
};

// A chrF result.
struct ChrfScore {
  double score = 0.0;      // 0..100
  std::string name;        // "chrF2", "chrF2++" (one '+' per word order)
  std::string signature;   // e.g. "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:..."

  // sacreBLEU's score line, e.g. "chrF2 = 71.42" or, with_signature, "chrF2|<signature> = 71.42".
  std::string format(int width = 2, bool with_signature = false) const;
};

// Corpus chrF (word_order 0) or chrF++ (word_order 2) against one reference per segment.
// Character and word n-gram statistics are summed over the corpus before the F-score is taken.
// Throws std::invalid_argument when the counts differ.
ChrfScore corpus_chrf(const std::vector<std::string>& hyps, const std::vector<std::string>& refs,
                      int word_order = 0, int char_order = 6, int beta = 2);

// Corpus chrF with explicit options, one reference per segment.
ChrfScore corpus_chrf(const std::vector<std::string>& hyps, const std::vector<std::string>& refs,
                      const ChrfOptions& options);

// Corpus chrF against several reference streams (layout as for corpus_bleu); per segment the
// reference with the best chrF is used, as sacreBLEU does.
ChrfScore corpus_chrf(const std::vector<std::string>& hyps,
                      const std::vector<std::vector<std::string>>& ref_streams,
                      const ChrfOptions& options);

}  // namespace strata::eval
