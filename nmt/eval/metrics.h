#pragma once
// Corpus-level BLEU and chrF / chrF++ that reproduce sacreBLEU 2.x (the version in
// kSacreBleuVersion) with its defaults, including its tokenizers (13a, zh, char, none, intl), BLEU
// smoothing and brevity penalty, chrF's effective-order averaging and sacreBLEU's signature
// strings. Plain C++17, no dependencies: the Unicode data that Python's str.split()/str.lower()
// and the `regex` module use is embedded in metrics.cpp.
//
// Text is UTF-8. Bytes that are not valid UTF-8 are kept as they are and behave like Python's
// "surrogateescape" code points (one character each, neither space, letter nor punctuation).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strata::eval {

// The sacreBLEU release whose numbers and signatures this file reproduces.
inline constexpr char kSacreBleuVersion[] = "2.6.0";

// BLEU tokenizers, named as in sacreBLEU's `-tok` option.
enum class BleuTokenizer {
  k13a,   // "13a": mteval-v13a.pl (the default)
  kZh,    // "zh": every CJK character is a token, the rest as 13a's regular expressions
  kChar,  // "char": every non-space character is a token
  kNone,  // "none": whitespace split only
  kIntl,  // "intl": mteval-v14.pl international tokenization (Unicode punctuation and symbols)
};

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

// The tokenizer for a target language code (BCP 47 or ISO 639, case-insensitive): zh, zho, chi,
// cmn, yue (any region or script subtag) -> kZh; ja, jpn -> kChar (sacreBLEU would pick ja-mecab,
// which needs MeCab); everything else -> k13a.
BleuTokenizer default_tokenizer_for(const std::string& target_lang);

// sacreBLEU's name of a tokenizer ("13a", "zh", "char", "none", "intl").
std::string tokenizer_name(BleuTokenizer tokenizer);

// The tokenizer called `name` (as tokenizer_name() spells it); throws std::invalid_argument for
// any other name.
BleuTokenizer parse_tokenizer(const std::string& name);

// What sacreBLEU's tokenizer object returns for `line` (tokens joined by single spaces; the char
// tokenizer joins every character, spaces included, with a space, exactly as sacreBLEU does).
std::string tokenize(std::string_view line, BleuTokenizer tokenizer);

// Python's str.lower() (full Unicode lower-case mapping, final sigma included).
std::string unicode_lower(std::string_view text);

}  // namespace strata::eval
