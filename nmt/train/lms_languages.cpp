// LmsLanguages (see lms_languages.h).
#include "nmt/train/lms_languages.h"

#include <algorithm>

#include "nmt/util/error.h"

namespace strata::nmt {

LmsLanguages::LmsLanguages(const std::vector<std::string>& langs,
                           const std::vector<std::string>& valid_langs, std::string valid_path)
    : valid_to_train_(valid_langs.size(), -1), valid_path_(std::move(valid_path)) {
  for (size_t i = 0; i < valid_langs.size(); ++i) {
    auto it = std::find(langs.begin(), langs.end(), valid_langs[i]);
    if (it != langs.end()) valid_to_train_[i] = it - langs.begin();
  }
}

LmsKeys LmsLanguages::keys(const Transformer& model, const std::vector<Example>& ex, bool valid,
                           bool shared) const {
  if (model->options.lms().mode == LmsMode::kNone) return LmsKeys();
  std::vector<int64_t> s, t;
  for (const auto& e : ex) {
    s.push_back(valid ? valid_to_train_[e.src] : e.src);
    t.push_back(valid ? valid_to_train_[e.tgt] : e.tgt);
    if (s.back() < 0 || t.back() < 0)
      throw Error(valid_path_ + ": a language not in the training data");
  }
  return model->lms_keys(torch::tensor(s, torch::kLong), torch::tensor(t, torch::kLong), shared);
}

}  // namespace strata::nmt
