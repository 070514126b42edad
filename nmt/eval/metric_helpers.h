#pragma once
// What BLEU and chrF share, as in sacreBLEU's metrics/helpers.py and metrics/base.py: word n-gram
// counts, the checks of the reference streams, fixed-point formatting of scores, and the
// sacreBLEU version their signatures name.
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace strata::eval {

// The sacreBLEU release whose numbers and signatures nmt/eval reproduces.
inline constexpr char kSacreBleuVersion[] = "2.6.0";

// n-gram (code points; words joined by single spaces) -> count.
using NgramCounts = std::unordered_map<std::u32string, int64_t>;

// printf("%.*f", decimals, value)
std::string format_fixed(double value, int decimals);

// Throws std::invalid_argument when there is no reference stream or one's length differs from
// num_hyps (the message names both counts).
void check_streams(size_t num_hyps, const std::vector<std::vector<std::string>>& ref_streams);

// `refs` as the only reference stream, after the same length check.
std::vector<std::vector<std::string>> single_stream(size_t num_hyps,
                                                    const std::vector<std::string>& refs);

// Adds the counts of ' '.join(words[i:i+n]) (helpers.extract_word_ngrams).
void add_word_ngrams(const std::vector<std::u32string>& words, int n, NgramCounts* counts);

}  // namespace strata::eval
