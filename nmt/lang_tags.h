#pragma once
// The target language in one place (docs/ARCHITECTURE.md "Tensors"): the ids of a model's
// `>>xx<<` tags, resolved once from the tokenizer, and the one function that lays out a batch
// for training, validation, translation and analysis:
//   source = >>t<< x_1 .. x_n </s>
//   prev   = >>t<< y_1 .. y_m      (or </s> y_1 .. y_m with model.decoder_lang_tag: false)
//   target =       y_1 .. y_m </s>
// Usage:
//   LangTags tags(tok, langs, cfg.model.decoder_lang_tag);
//   tags.require(spm_path);  // every language has its tag
//   TaggedBatch b = lay_out_batch(tags, {{&src_ids, tags.index("de"), &tgt_ids}});
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "data/spm.h"

namespace strata::nmt {

// The tag ids of a list of languages; index l is langs()[l].
class LangTags {
 public:
  // Looks up >>l<< for every language of `langs` (-1 where the vocabulary has no such piece).
  LangTags(const data::Tokenizer& tok, std::vector<std::string> langs, bool decoder_lang_tag);
  // From known ids: ids[l] is the id of >>langs[l]<<.
  LangTags(std::vector<std::string> langs, std::vector<int64_t> ids, bool decoder_lang_tag);

  // Throws strata::Error "<where>: no language tag >>l<< in the vocabulary" for the first
  // language without a tag.
  void require(const std::string& where) const;
  const std::vector<std::string>& langs() const { return langs_; }
  int64_t index(const std::string& lang) const;  // position in langs(), -1 when absent
  bool has_tag(size_t lang) const { return ids_.at(lang) >= 0; }
  int64_t tag(size_t lang) const { return ids_.at(lang); }  // id of >>langs()[lang]<< (-1: none)
  int64_t start(size_t lang) const;  // decoder start: the tag, or </s> without decoder_lang_tag
  std::vector<int64_t> known_ids() const;  // the tags the vocabulary has, in language order
  bool decoder_lang_tag() const { return decoder_lang_tag_; }

 private:
  std::vector<std::string> langs_;
  std::vector<int64_t> ids_;
  bool decoder_lang_tag_ = true;
};

// One sentence of a batch.
struct TaggedSentence {
  const std::vector<int>* src = nullptr;  // source tokens (no tag, no </s>)
  int64_t tgt_lang = 0;                   // target language: index into LangTags::langs()
  const std::vector<int>* tgt = nullptr;  // target tokens; nullptr: inference (no target)
};

// The padded tensors of a batch (pad 0).
struct TaggedBatch {
  torch::Tensor src;          // [B, S] i64
  torch::Tensor prev;         // [B, T] i64; inference: [B, 1], the decoder start tokens
  torch::Tensor target;       // [B, T] i64; undefined at inference
  int64_t target_tokens = 0;  // non-pad target tokens
  int64_t truncated = 0;      // sources cut to max_source_tokens
};

// Lays out `sentences` as above. With `max_source_tokens` > 0, longer sources keep their first
// max_source_tokens tokens (the tag and </s> are always there). Inference batches (every tgt
// nullptr) get prev = the start tokens and no target; a batch is either kind, not both.
TaggedBatch lay_out_batch(const LangTags& tags, const std::vector<TaggedSentence>& sentences,
                          int64_t max_source_tokens = 0);

}  // namespace strata::nmt
