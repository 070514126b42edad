// Fuzz target: the inputs of `strata eval --hyp H --ref R` (sacreBLEU-exact BLEU, chrF, chrF++ in
// nmt/eval/). The first byte picks the BLEU tokenizer; the rest is read as lines the way the eval
// command reads its files (std::getline, one trailing '\r' dropped), and the first half of the
// lines are the hypotheses, the second half the references. The scores are formatted as the
// command prints them. Only strata::Error may leave the scorers.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "nmt/eval/bleu.h"
#include "nmt/eval/chrf.h"
#include "nmt/eval/tokenizers.h"
#include "nmt/util/error.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strata::eval;
  if (size == 0) return 0;
  constexpr BleuTokenizer kTokenizers[] = {BleuTokenizer::k13a, BleuTokenizer::kZh,
                                           BleuTokenizer::kChar, BleuTokenizer::kNone,
                                           BleuTokenizer::kIntl};
  const BleuTokenizer tok = kTokenizers[data[0] % 5];
  const auto lines = strata::fuzz::getline_lines(strata::fuzz::as_view(data + 1, size - 1));
  const size_t n = lines.size() / 2;
  const std::vector<std::string> hyps(lines.begin(), lines.begin() + n);
  const std::vector<std::string> refs(lines.begin() + n, lines.begin() + 2 * n);
  try {
    corpus_bleu(hyps, refs, tok).format(2, true);
    corpus_chrf(hyps, refs, 0).format(2, true);
    corpus_chrf(hyps, refs, 2).format(2, true);
    if (!lines.empty()) default_tokenizer_for(lines[0]);  // --tgt-lang
  } catch (const strata::Error&) {
  }
  return 0;
}
