#pragma once
// Scoring a model on a benchmark split: the model translates every direction of the split between
// its languages, scored with sacreBLEU-exact BLEU and chrF (strata_eval) against the references and
// against the baseline of copying the source. `strata eval --model` prints format_scores() and
// writes scores_json().
//   Translator tr(load_checkpoint("best.pt"));
//   SplitScores s = score_split(tr, dcfg, "test", tr.default_options(), 32, 200);
//   std::cout << format_scores(s, "best.pt", 4);
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "data/data_config.h"
#include "nmt/decode/translator.h"

namespace strata::nmt {

// The scores of one direction.
struct DirectionScore {
  double bleu = 0;       // corpus BLEU (the target language's tokenizer)
  double chrf = 0;       // corpus chrF
  double copy_chrf = 0;  // corpus chrF of the sources themselves (baseline: copy the source)
  size_t n = 0;          // sentence pairs scored
};

// The mean scores of a group of directions.
struct GroupAverage {
  double bleu = 0;       // mean BLEU
  double chrf = 0;       // mean chrF
  double copy_chrf = 0;  // mean copy-source chrF
  int directions = 0;    // directions in the group
};

struct SplitScores {
  std::string split;                // split name (<out_dir>/<split>.tsv)
  std::vector<std::string> langs;   // the split's languages the model has, in split order
  std::map<std::pair<std::string, std::string>, DirectionScore> directions;  // (src, tgt)
};

// Translates (with `search`, nbest 1, `batch` sentences per batch) up to max_sentences pairs
// (0 = all) of every direction of the split whose languages the model has, keeping the rows whose
// English side has at least dcfg.split.eval_min_words words, and scores them.
SplitScores score_split(Translator& tr, const data::DataConfig& dcfg, const std::string& split,
                        const SearchOptions& search, int batch, int max_sentences);

// Mean scores of the groups "en->xx", "xx->en", "non-English" and "all" that have a direction.
std::map<std::string, GroupAverage> group_averages(const SplitScores& s);

// Directions where the model's chrF is above copying the source.
int beats_copy(const SplitScores& s);

// What `strata eval --model` prints for a split: a header naming the model, the beam and the
// metric signatures, BLEU and chrF matrices (rows source, columns target), the averages table and
// the copy-source count.
std::string format_scores(const SplitScores& s, const std::string& model_name, int beam);

// The split's entry of --json: directions, averages, beats_copy, num_directions.
nlohmann::json scores_json(const SplitScores& s);

}  // namespace strata::nmt
