#pragma once
// Scoring a model on a benchmark split: the model translates every direction of the split between
// its languages, scored with sacreBLEU-exact BLEU and chrF (strata_eval) against the references and
// against the baseline of copying the source, and (issue 17) two source-use diagnostics: the score
// of the translations of the direction's sources shuffled among its sentences (the gap to the real
// score is what the source contributes) and the off-target rate (outputs that the language
// identifier data/lid.h puts in another language than the target). `strata eval --model` prints
// format_scores() and writes scores_json().
//   Translator tr(load_checkpoint("best.pt"));
//   data::LanguageIdentifier lid = data::LanguageIdentifier::load("work/data/core8/lid.model");
//   SplitScores s = score_split(tr, dcfg, "test", tr.default_options(), 32, 200, {true, &lid});
//   std::cout << format_scores(s, "best.pt", 4);
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "data/data_config.h"
#include "data/lid.h"
#include "nmt/decode/translator.h"

namespace strata::nmt {

// The scores of one direction.
struct DirectionScore {
  double bleu = 0;       // corpus BLEU (the target language's tokenizer)
  double chrf = 0;       // corpus chrF
  double copy_chrf = 0;  // corpus chrF of the sources themselves (baseline: copy the source)
  size_t n = 0;          // sentence pairs scored
  // With SourceUseOptions::shuffled: the scores of the translations of the sources in
  // shuffled_order(n, ...) against the references in their own order.
  double shuffled_bleu = 0;
  double shuffled_chrf = 0;
  // With a language identifier: the share (0..1) of the outputs it identifies whose language is
  // not the target; outputs it cannot label (empty, or no known n-gram) are left out of both
  // counts. ref_off_target is the same for the references (the identifier's own error here).
  double off_target = 0;
  size_t identified = 0;  // outputs labelled
  double ref_off_target = 0;
  // With score_split's `nll`: the teacher-forced nll of the references, summed over their tokens.
  double nll_sum = 0;
  int64_t nll_tokens = 0;
};

// The mean scores of a group of directions.
struct GroupAverage {
  double bleu = 0;       // mean BLEU
  double chrf = 0;       // mean chrF
  double copy_chrf = 0;  // mean copy-source chrF
  int directions = 0;    // directions in the group
  double shuffled_bleu = 0;  // mean shuffled-source BLEU
  double shuffled_chrf = 0;  // mean shuffled-source chrF
  double off_target = 0;     // mean of the directions' off-target rates (0..1)
  double nll = 0;            // nll per reference token over the group's tokens (with `nll`)
};

struct SplitScores {
  std::string split;                // split name (<out_dir>/<split>.tsv)
  std::vector<std::string> langs;   // the split's languages the model has, in split order
  std::map<std::pair<std::string, std::string>, DirectionScore> directions;  // (src, tgt)
  bool has_shuffled = false;    // the shuffled_* fields were measured
  bool has_off_target = false;  // the off-target fields were measured
  bool has_nll = false;         // the nll fields were measured
  std::string lid_name;         // the identifier's file, for the printed note
};

// The source-use diagnostics score_split adds.
struct SourceUseOptions {
  bool shuffled = true;                           // score the shuffled-source translations
  const data::LanguageIdentifier* lid = nullptr;  // off-target rate when set (not owned)
  std::string lid_name;                           // its file, printed with the table
};

// A fixed permutation of 0..n-1 for the shuffled-source score: Sattolo's algorithm (Sattolo 1986,
// "An algorithm to generate a random cyclic permutation") driven by splitmix64 from `seed`, so it
// is one n-cycle: a derangement for n >= 2 (no sentence keeps its own source), the same on every
// platform. score_split seeds it with shuffle_seed(src, tgt).
std::vector<size_t> shuffled_order(size_t n, uint64_t seed);
// The seed of a direction's permutation: FNV-1a (64 bit) of "<src>-<tgt>".
uint64_t shuffle_seed(const std::string& src, const std::string& tgt);

// Translates (with `search`, nbest 1, `batch` sentences per batch) up to max_sentences pairs
// (0 = all) of every direction of the split whose languages the model has, keeping the rows whose
// English side has at least dcfg.split.eval_min_words words, and scores them (with the
// diagnostics `use` asks for); with `nll`, also the teacher-forced nll of the same references
// (Translator::score_nll): how likely the model finds them, without decoding's noise.
SplitScores score_split(Translator& tr, const data::DataConfig& dcfg, const std::string& split,
                        const SearchOptions& search, int batch, int max_sentences,
                        const SourceUseOptions& use = {}, bool nll = false);

// Mean scores of the groups "en->xx", "xx->en", "non-English" and "all" that have a direction.
std::map<std::string, GroupAverage> group_averages(const SplitScores& s);

// Directions where the model's chrF is above copying the source.
int beats_copy(const SplitScores& s);

// What `strata eval --model` prints for a split: a header naming the model, the beam and the
// metric signatures, BLEU and chrF matrices (rows source, columns target), the averages table and
// the copy-source count; then, when measured, the shuffled-source chrF and off-target matrices and
// the source-use table (chrF, shuffled chrF, gap, off-target % per group).
std::string format_scores(const SplitScores& s, const std::string& model_name, int beam);

// The split's entry of --json: directions, averages, beats_copy, num_directions.
nlohmann::json scores_json(const SplitScores& s);

}  // namespace strata::nmt
