// BLEU as sacreBLEU 2.x computes it (sacrebleu/metrics/bleu.py), over Unicode code points.
// Floating-point expressions are evaluated in the order sacreBLEU evaluates them so that scores
// agree to the last bit or so (Python <= 3.11 sums floats left to right; 3.12's compensated sum()
// may differ in the last ulp).
#include "nmt/eval/bleu.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <utility>

#include "nmt/eval/metric_helpers.h"
#include "nmt/eval/python_str.h"

namespace strata::eval {
namespace {

constexpr int kBleuOrder = 4;

struct BleuRefInfo {
  NgramCounts ngrams;            // maximum count over the references
  std::vector<int64_t> lengths;  // token count of every reference
};

std::vector<std::u32string> bleu_tokens(const std::string& sent, const BleuOptions& options) {
  std::u32string s = decode_code_points(sent);
  if (options.lowercase) s = lower(s);
  return split_ws(tokenize_code_points(rstrip_ws(std::move(s)), options.tokenizer));
}

// helpers.extract_all_word_ngrams(line, 1, 4), one Counter for all orders.
NgramCounts all_word_ngrams(const std::vector<std::u32string>& tokens) {
  NgramCounts counts;
  for (int n = 1; n <= kBleuOrder; ++n) add_word_ngrams(tokens, n, &counts);
  return counts;
}

double smooth_value_or_default(const BleuOptions& options) {
  if (options.smooth_value) return *options.smooth_value;
  return options.smoothing == BleuSmoothing::kAddK ? 1.0 : 0.1;
}

std::string bleu_signature(const BleuOptions& options, size_t num_refs) {
  std::string smooth;
  switch (options.smoothing) {
    case BleuSmoothing::kExp:
      smooth = "exp";
      break;
    case BleuSmoothing::kNone:
      smooth = "none";
      break;
    case BleuSmoothing::kFloor:
      smooth = "floor[" + format_fixed(smooth_value_or_default(options), 2) + "]";
      break;
    case BleuSmoothing::kAddK:
      smooth = "add-k[" + format_fixed(smooth_value_or_default(options), 2) + "]";
      break;
  }
  return "nrefs:" + std::to_string(num_refs) + "|case:" + (options.lowercase ? "lc" : "mixed") +
         "|eff:" + (options.effective_order ? "yes" : "no") +
         "|tok:" + tokenizer_name(options.tokenizer) + "|smooth:" + smooth +
         "|version:" + kSacreBleuVersion;
}

// BLEU.compute_bleu()
BleuScore compute_bleu(const std::array<int64_t, 4>& correct, const std::array<int64_t, 4>& total,
                       int64_t sys_len, int64_t ref_len, const BleuOptions& options) {
  BleuScore result;
  result.counts = correct;
  result.totals = total;
  result.sys_len = sys_len;
  result.ref_len = ref_len;
  result.ratio = ref_len != 0 ? static_cast<double>(sys_len) / static_cast<double>(ref_len) : 0.0;
  result.bp = 1.0;
  if (sys_len < ref_len) {
    result.bp = sys_len > 0
                    ? std::exp(1.0 - static_cast<double>(ref_len) / static_cast<double>(sys_len))
                    : 0.0;
  }
  if (std::all_of(correct.begin(), correct.end(), [](int64_t c) { return c == 0; })) {
    return result;  // no match at all: 0 (sacreBLEU #141)
  }
  const double smooth_value = smooth_value_or_default(options);
  double smooth_mteval = 1.0;
  int eff_order = kBleuOrder;
  for (int n = 1; n <= kBleuOrder; ++n) {
    double c = static_cast<double>(correct[n - 1]);
    double t = static_cast<double>(total[n - 1]);
    if (options.smoothing == BleuSmoothing::kAddK && n > 1) {
      c += smooth_value;
      t += smooth_value;
    }
    if (t == 0.0) break;
    if (options.effective_order) eff_order = n;
    double& p = result.precisions[n - 1];
    if (c == 0.0) {
      if (options.smoothing == BleuSmoothing::kExp) {
        smooth_mteval *= 2;
        p = 100.0 / (smooth_mteval * t);
      } else if (options.smoothing == BleuSmoothing::kFloor) {
        p = 100.0 * smooth_value / t;
      }
    } else {
      p = 100.0 * c / t;
    }
  }
  double log_sum = 0.0;
  for (int n = 0; n < eff_order; ++n) {
    const double p = result.precisions[n];
    log_sum += p == 0.0 ? -9999999999.0 : std::log(p);  // utils.my_log()
  }
  result.score = result.bp * std::exp(log_sum / eff_order);
  return result;
}

}  // namespace

std::string BleuScore::format(int width, bool with_signature) const {
  std::string out = "BLEU";
  if (with_signature && !signature.empty()) out += "|" + signature;
  out += " = " + format_fixed(score, width) + " ";
  for (size_t i = 0; i < precisions.size(); ++i) {
    if (i > 0) out += "/";
    out += format_fixed(precisions[i], 1);
  }
  out += " (BP = " + format_fixed(bp, 3) + " ratio = " + format_fixed(ratio, 3) +
         " hyp_len = " + std::to_string(sys_len) + " ref_len = " + std::to_string(ref_len) + ")";
  return out;
}

BleuScore corpus_bleu(const std::vector<std::string>& hyps, const std::vector<std::string>& refs,
                      BleuTokenizer tokenizer) {
  BleuOptions options;
  options.tokenizer = tokenizer;
  return corpus_bleu(hyps, refs, options);
}

BleuScore corpus_bleu(const std::vector<std::string>& hyps, const std::vector<std::string>& refs,
                      const BleuOptions& options) {
  return corpus_bleu(hyps, single_stream(hyps.size(), refs), options);
}

BleuScore corpus_bleu(const std::vector<std::string>& hyps,
                      const std::vector<std::vector<std::string>>& ref_streams,
                      const BleuOptions& options) {
  check_streams(hyps.size(), ref_streams);
  std::array<int64_t, 4> correct{}, total{};
  int64_t sys_len = 0, ref_len = 0;
  for (size_t i = 0; i < hyps.size(); ++i) {
    // BLEU._extract_reference_info(): n-gram counts maxed over the references.
    BleuRefInfo ref_info;
    for (const std::vector<std::string>& stream : ref_streams) {
      const std::vector<std::u32string> tokens = bleu_tokens(stream[i], options);
      ref_info.lengths.push_back(static_cast<int64_t>(tokens.size()));
      for (const auto& [ngram, count] : all_word_ngrams(tokens)) {
        int64_t& slot = ref_info.ngrams[ngram];
        slot = std::max(slot, count);
      }
    }
    // BLEU._compute_segment_statistics()
    const std::vector<std::u32string> hyp_tokens = bleu_tokens(hyps[i], options);
    const int64_t hyp_len = static_cast<int64_t>(hyp_tokens.size());
    int64_t closest_diff = -1, closest_len = -1;  // BLEU._get_closest_ref_len()
    for (int64_t len : ref_info.lengths) {
      const int64_t diff = std::llabs(hyp_len - len);
      if (closest_diff == -1 || diff < closest_diff) {
        closest_diff = diff;
        closest_len = len;
      } else if (diff == closest_diff && len < closest_len) {
        closest_len = len;
      }
    }
    for (const auto& [ngram, count] : all_word_ngrams(hyp_tokens)) {
      // The order of an n-gram is one more than its number of separating spaces.
      const auto n = static_cast<size_t>(std::count(ngram.begin(), ngram.end(), U' '));
      total[n] += count;
      auto it = ref_info.ngrams.find(ngram);
      if (it != ref_info.ngrams.end()) correct[n] += std::min(count, it->second);
    }
    sys_len += hyp_len;
    ref_len += closest_len;
  }
  BleuScore result = compute_bleu(correct, total, sys_len, ref_len, options);
  result.signature = bleu_signature(options, ref_streams.size());
  return result;
}

}  // namespace strata::eval
