// chrF / chrF++ as sacreBLEU 2.x computes them (sacrebleu/metrics/chrf.py), over Unicode code
// points, with sacreBLEU's order of floating-point operations.
#include "nmt/eval/chrf.h"

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <utility>

#include "nmt/eval/metric_helpers.h"
#include "nmt/eval/python_str.h"

namespace strata::eval {
namespace {

bool is_ascii_punct(char32_t c) {  // string.punctuation
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
         (c >= 0x7B && c <= 0x7E);
}

// CHRF._remove_punctuation(): splits one leading or trailing ASCII punctuation mark off a word.
std::vector<std::u32string> chrf_words(const std::u32string& sent) {
  std::vector<std::u32string> out;
  for (std::u32string& w : split_ws(sent)) {
    if (w.size() == 1) {
      out.push_back(std::move(w));
    } else if (is_ascii_punct(w.back())) {
      out.emplace_back(w, 0, w.size() - 1);
      out.emplace_back(1, w.back());
    } else if (is_ascii_punct(w.front())) {
      out.emplace_back(1, w.front());
      out.emplace_back(w, 1, std::u32string::npos);
    } else {
      out.push_back(std::move(w));
    }
  }
  return out;
}

// Character n-grams of orders 1..char_order followed by word n-grams of orders 1..word_order
// (CHRF._extract_reference_info / _compute_segment_statistics).
std::vector<NgramCounts> chrf_ngrams(const std::string& sent, const ChrfOptions& options) {
  std::u32string s = decode_code_points(sent);
  if (options.lowercase) s = lower(s);
  std::vector<NgramCounts> counts(options.char_order + options.word_order);
  std::u32string chars = s;
  if (!options.whitespace) {
    chars.clear();
    for (const std::u32string& w : split_ws(s)) chars += w;
  }
  for (int n = 1; n <= options.char_order; ++n) {
    const size_t order = static_cast<size_t>(n);
    for (size_t i = 0; i + order <= chars.size(); ++i) ++counts[n - 1][chars.substr(i, order)];
  }
  if (options.word_order > 0) {
    const std::vector<std::u32string> words = chrf_words(s);
    for (int n = 1; n <= options.word_order; ++n) {
      add_word_ngrams(words, n, &counts[options.char_order + n - 1]);
    }
  }
  return counts;
}

// CHRF._get_match_statistics() for every order: [hyp, ref, match] triplets.
std::vector<int64_t> chrf_stats(const std::vector<NgramCounts>& hyp,
                                const std::vector<NgramCounts>& ref) {
  std::vector<int64_t> stats;
  stats.reserve(3 * hyp.size());
  for (size_t i = 0; i < hyp.size(); ++i) {
    int64_t hyp_count = 0, ref_count = 0, match = 0;
    for (const auto& [ngram, count] : hyp[i]) {
      hyp_count += count;
      auto it = ref[i].find(ngram);
      if (it != ref[i].end()) match += std::min(count, it->second);
    }
    for (const auto& entry : ref[i]) ref_count += entry.second;
    stats.push_back(ref[i].empty() ? 0 : hyp_count);  // no hits without a reference n-gram
    stats.push_back(ref_count);
    stats.push_back(match);
  }
  return stats;
}

// CHRF._compute_f_score()
double chrf_f_score(const std::vector<int64_t>& stats, const ChrfOptions& options) {
  const double eps = 1e-16;
  const int order = options.char_order + options.word_order;
  const int factor = options.beta * options.beta;
  double score = 0.0;
  double avg_prec = 0.0, avg_rec = 0.0;
  int effective_order = 0;
  for (int i = 0; i < order; ++i) {
    const int64_t n_hyp = stats[3 * i], n_ref = stats[3 * i + 1], n_match = stats[3 * i + 2];
    const double prec =
        n_hyp > 0 ? static_cast<double>(n_match) / static_cast<double>(n_hyp) : eps;
    const double rec = n_ref > 0 ? static_cast<double>(n_match) / static_cast<double>(n_ref) : eps;
    const double denom = factor * prec + rec;
    score += denom > 0 ? (1 + factor) * prec * rec / denom : eps;
    if (n_hyp > 0 && n_ref > 0) {
      avg_prec += prec;
      avg_rec += rec;
      ++effective_order;
    }
  }
  if (options.eps_smoothing) return 100 * score / order;
  if (effective_order == 0) {
    avg_prec = avg_rec = 0.0;
  } else {
    avg_prec /= effective_order;
    avg_rec /= effective_order;
  }
  if (avg_prec + avg_rec != 0.0) {
    score = (1 + factor) * avg_prec * avg_rec;
    score /= (factor * avg_prec) + avg_rec;
    return 100 * score;
  }
  return 0.0;
}

std::string chrf_signature(const ChrfOptions& options, size_t num_refs) {
  return "nrefs:" + std::to_string(num_refs) + "|case:" + (options.lowercase ? "lc" : "mixed") +
         "|eff:" + (options.eps_smoothing ? "no" : "yes") +
         "|nc:" + std::to_string(options.char_order) +
         "|nw:" + std::to_string(options.word_order) +
         "|space:" + (options.whitespace ? "yes" : "no") + "|version:" + kSacreBleuVersion;
}

}  // namespace

std::string ChrfScore::format(int width, bool with_signature) const {
  std::string out = name;
  if (with_signature && !signature.empty()) out += "|" + signature;
  return out + " = " + format_fixed(score, width);
}

ChrfScore corpus_chrf(const std::vector<std::string>& hyps, const std::vector<std::string>& refs,
                      int word_order, int char_order, int beta) {
  ChrfOptions options;
  options.word_order = word_order;
  options.char_order = char_order;
  options.beta = beta;
  return corpus_chrf(hyps, refs, options);
}

ChrfScore corpus_chrf(const std::vector<std::string>& hyps, const std::vector<std::string>& refs,
                      const ChrfOptions& options) {
  return corpus_chrf(hyps, single_stream(hyps.size(), refs), options);
}

ChrfScore corpus_chrf(const std::vector<std::string>& hyps,
                      const std::vector<std::vector<std::string>>& ref_streams,
                      const ChrfOptions& options) {
  if (options.char_order < 0 || options.word_order < 0 ||
      options.char_order + options.word_order == 0) {
    throw std::invalid_argument("chrF needs char_order >= 0, word_order >= 0 and one of them > 0");
  }
  check_streams(hyps.size(), ref_streams);
  const size_t num_stats = 3 * static_cast<size_t>(options.char_order + options.word_order);
  std::vector<int64_t> totals(num_stats, 0);
  for (size_t i = 0; i < hyps.size(); ++i) {
    const std::vector<NgramCounts> hyp = chrf_ngrams(hyps[i], options);
    std::vector<int64_t> best;
    double best_f = -1.0;
    for (const std::vector<std::string>& stream : ref_streams) {
      std::vector<int64_t> stats = chrf_stats(hyp, chrf_ngrams(stream[i], options));
      const double f = chrf_f_score(stats, options);
      if (f > best_f) {
        best_f = f;
        best = std::move(stats);
      }
    }
    for (size_t k = 0; k < num_stats; ++k) totals[k] += best[k];
  }
  ChrfScore result;
  result.score = chrf_f_score(totals, options);
  result.name = "chrF" + std::to_string(options.beta) + std::string(options.word_order, '+');
  result.signature = chrf_signature(options, ref_streams.size());
  return result;
}

}  // namespace strata::eval
