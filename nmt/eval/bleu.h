#pragma once
// Corpus-level BLEU as sacreBLEU 2.x computes it with its defaults (metric_helpers.h's
// kSacreBleuVersion): its tokenizers, smoothing (Chen and Cherry, 2014), brevity penalty and
// signature strings.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nmt/eval/tokenizers.h"

namespace strata::eval {

// BLEU smoothing methods (Chen and Cherry, 2014), named as in sacreBLEU's `-s` option.
enum class BleuSmoothing {
  kExp,    // "exp": NIST geometric sequence smoothing (the default)
  kNone,   // "none"
  kFloor,  // "floor": zero precisions replaced by smooth_value (default 0.1) / total
  kAddK,   // "add-k": smooth_value (default 1) added to counts and totals of orders 2..4
};

// Options of corpus_bleu(); the defaults are sacreBLEU's BLEU() defaults.
struct BleuOptions {
  BleuTokenizer tokenizer = BleuTokenizer::k13a;
  BleuSmoothing smoothing = BleuSmoothing::kExp;
  std::optional<double> smooth_value;  // unset: 0.1 for floor, 1 for add-k
  bool lowercase = false;              // Python str.lower() on hypotheses and references
  bool effective_order = false;        // true for sentence-level BLEU; corpus BLEU uses false
};

// A BLEU result with its sufficient statistics.
struct BleuScore {
  double score = 0.0;                       // 0..100
  std::array<double, 4> precisions{};       // n-gram precisions in percent, after smoothing
  std::array<int64_t, 4> counts{};          // clipped n-gram matches (before any add-k)
  std::array<int64_t, 4> totals{};          // hypothesis n-grams (before any add-k)
  double bp = 0.0;                          // brevity penalty
  double ratio = 0.0;                       // sys_len / ref_len (0 when ref_len is 0)
  int64_t sys_len = 0;                      // hypothesis tokens
  int64_t ref_len = 0;                      // closest reference tokens
  std::string signature;                    // e.g. "nrefs:1|case:mixed|eff:no|tok:13a|..."

  // sacreBLEU's score line, e.g. "BLEU = 48.89 85.7/66.7/40.0/25.0 (BP = 1.000 ratio = 1.000
  // hyp_len = 7 ref_len = 7)"; `width` decimals for the score; with_signature inserts
  // "|<signature>" after "BLEU" as the sacrebleu command line does.
  std::string format(int width = 2, bool with_signature = false) const;
};

// Corpus BLEU of `hyps` against one reference per segment, with sacreBLEU's defaults and the
// given tokenizer. Throws std::invalid_argument when the counts differ. An empty corpus or empty
// hypotheses score 0.
BleuScore corpus_bleu(const std::vector<std::string>& hyps, const std::vector<std::string>& refs,
                      BleuTokenizer tokenizer = BleuTokenizer::k13a);

// Corpus BLEU with explicit options, one reference per segment.
BleuScore corpus_bleu(const std::vector<std::string>& hyps, const std::vector<std::string>& refs,
                      const BleuOptions& options);

// Corpus BLEU against several reference streams (sacreBLEU's `refs` layout: ref_streams[k][i] is
// the k-th reference of segment i). Throws std::invalid_argument when there is no stream or a
// stream's length differs from the hypotheses'.
BleuScore corpus_bleu(const std::vector<std::string>& hyps,
                      const std::vector<std::vector<std::string>>& ref_streams,
                      const BleuOptions& options);

}  // namespace strata::eval
