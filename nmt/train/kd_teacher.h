#pragma once
// Word-level KD's teacher (train.kd_teacher; Hinton et al. 2015, Kim & Rush 2016): a frozen
// model with the student's SentencePiece model that gives its distributions for a batch.
// Usage:
//   KdTeacher teacher(cfg.train.kd_teacher, tok, spm_path, langs);
//   torch::Tensor lt = teacher.lprobs(batch);  // [B·T, V] f32, no gradient
#include <string>
#include <vector>

#include "data/spm.h"
#include "nmt/model/transformer.h"
#include "nmt/train/batcher.h"

namespace strata::nmt {

class KdTeacher {
 public:
  // Loads `path` (eval mode, no gradients). Throws strata::Error when its SentencePiece model
  // differs from `tok` (read from `spm_path`) or it lacks one of the training languages `langs`.
  KdTeacher(const std::string& path, const data::Tokenizer& tok, const std::string& spm_path,
            const std::vector<std::string>& langs);
  // The teacher's log-probabilities for the batch's target positions: [B·T, V] f32.
  torch::Tensor lprobs(const Batch& b);
  // Moves the teacher to the student's device (train.device).
  void to(const torch::Device& device) { model_->to(device); }

 private:
  Transformer model_{nullptr};
  std::vector<int64_t> lang_;  // training language index -> the teacher's
};

}  // namespace strata::nmt
