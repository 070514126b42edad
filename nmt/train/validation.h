#pragma once
// Validation during training: on the first train.valid_sentences rows of every validation
// direction, the per-token nll (and, with Fuse Distillation, the shared slot's), greedy BLEU and
// chrF per direction, and expert usage per language (MoE models); one "valid" log record.
// Usage:
//   Validator validator(cfg, tok, valid_data, tags);
//   double nll = validator.run(whole_model, lms, state.updates, log, progress);
#include <cstdio>
#include <ostream>
#include <vector>

#include "data/spm.h"
#include "nmt/config.h"
#include "nmt/decode/search.h"
#include "nmt/lang_tags.h"
#include "nmt/model/transformer.h"
#include "nmt/train/batcher.h"
#include "nmt/train/lms_languages.h"

namespace strata::nmt {

class Validator {
 public:
  // `valid` indexes the validation split's languages; `train_tags`: the training languages'
  // tags (never generated). The references stay with the caller and must outlive the Validator.
  Validator(const Config& cfg, const data::Tokenizer& tok, const ParallelData& valid,
            const LangTags& train_tags);
  // Validates `model` (the whole model: every expert), appends the "valid" record for `update`
  // to `log` and prints a summary to `progress`. Returns the nll per target token.
  double run(Transformer& model, const LmsLanguages& lms, int64_t update, std::ostream& log,
             FILE* progress) const;

 private:
  const Config& cfg_;
  const data::Tokenizer& tok_;
  const ParallelData& valid_;
  LangTags tags_;        // the validation languages' tags (the batch layout)
  SearchOptions search_;  // greedy, 1-best
  std::vector<Example> examples_;  // every direction, sorted by source length
};

}  // namespace strata::nmt
