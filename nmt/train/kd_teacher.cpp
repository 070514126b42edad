// KdTeacher (see kd_teacher.h).
#include "nmt/train/kd_teacher.h"

#include <algorithm>

#include "nmt/util/error.h"
#include "nmt/model/checkpoint.h"

namespace strata::nmt {

KdTeacher::KdTeacher(const std::string& path, const data::Tokenizer& tok,
                     const std::string& spm_path, const std::vector<std::string>& langs) {
  Checkpoint t = load_checkpoint(path);
  if (t.spm_model != tok.serialized())
    throw Error(path + ": the teacher's SentencePiece model differs from " + spm_path);
  for (const auto& l : langs) {
    auto it = std::find(t.langs.begin(), t.langs.end(), l);
    if (it == t.langs.end()) throw Error(path + ": the teacher has no language '" + l + "'");
    lang_.push_back(it - t.langs.begin());
  }
  model_ = t.model;
  model_->eval();
  for (auto& p : model_->parameters()) p.requires_grad_(false);
}

torch::Tensor KdTeacher::lprobs(const Batch& b) {
  torch::NoGradGuard no_grad;
  LmsKeys keys;
  if (model_->options.lms().mode != LmsMode::kNone) {
    std::vector<int64_t> s, t;
    for (const auto& e : b.examples) {
      s.push_back(lang_[e.src]);
      t.push_back(lang_[e.tgt]);
    }
    keys = model_->lms_keys(torch::tensor(s, torch::kLong), torch::tensor(t, torch::kLong));
  }
  auto logits = model_->forward(b.src, b.prev, nullptr, keys);  // [B, T, V]
  return torch::log_softmax(logits, -1).view({-1, logits.size(-1)});
}

}  // namespace strata::nmt
