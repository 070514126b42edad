// What BLEU and chrF share (metric_helpers.h).
#include "nmt/eval/metric_helpers.h"

#include <cstdio>
#include <stdexcept>

namespace strata::eval {

std::string format_fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, value);
  return buf;
}

void check_streams(size_t num_hyps, const std::vector<std::vector<std::string>>& ref_streams) {
  if (ref_streams.empty()) throw std::invalid_argument("no reference stream given");
  for (size_t k = 0; k < ref_streams.size(); ++k) {
    if (ref_streams[k].size() != num_hyps) {
      throw std::invalid_argument(
          "hypotheses and references differ in length: " + std::to_string(num_hyps) +
          " hypotheses, " + std::to_string(ref_streams[k].size()) + " references" +
          (ref_streams.size() > 1 ? " in reference stream " + std::to_string(k) : ""));
    }
  }
}

std::vector<std::vector<std::string>> single_stream(size_t num_hyps,
                                                    const std::vector<std::string>& refs) {
  if (num_hyps != refs.size()) {
    throw std::invalid_argument("hypotheses and references differ in length: " +
                                std::to_string(num_hyps) + " hypotheses, " +
                                std::to_string(refs.size()) + " references");
  }
  return std::vector<std::vector<std::string>>{refs};
}

void add_word_ngrams(const std::vector<std::u32string>& words, int n, NgramCounts* counts) {
  const size_t order = static_cast<size_t>(n);
  for (size_t i = 0; i + order <= words.size(); ++i) {
    std::u32string key = words[i];
    for (size_t k = 1; k < order; ++k) {
      key.push_back(U' ');
      key += words[i + k];
    }
    ++(*counts)[key];
  }
}

}  // namespace strata::eval
