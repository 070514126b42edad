#pragma once
// LMS models (model.lms): the per-sentence bank indices of a batch, from its examples' languages.
// Training examples index the training languages; validation examples index the validation
// split's languages and are mapped to the training ones by name.
// Usage:
//   LmsLanguages lms(langs, valid_langs, valid_tsv);
//   auto logits = model->forward(b.src, b.prev, &aux, lms.keys(model, b.examples, false, false));
#include <string>
#include <vector>

#include "nmt/model/transformer.h"
#include "nmt/train/batcher.h"

namespace strata::nmt {

class LmsLanguages {
 public:
  // `valid_path` names the validation split in errors.
  LmsLanguages(const std::vector<std::string>& langs, const std::vector<std::string>& valid_langs,
               std::string valid_path);
  // The keys of `ex` for `model` (empty keys for a model without LMS layers); `valid`: the
  // examples index the validation languages; `shared`: the fused shared slot.
  LmsKeys keys(const Transformer& model, const std::vector<Example>& ex, bool valid,
               bool shared) const;

 private:
  std::vector<int64_t> valid_to_train_;  // validation language index -> training index (-1: none)
  std::string valid_path_;
};

}  // namespace strata::nmt
