// LangTags and the batch layout (see lang_tags.h).
#include "nmt/lang_tags.h"

#include <algorithm>

#include "nmt/util/error.h"
#include "data/langs.h"

namespace strata::nmt {

LangTags::LangTags(const data::Tokenizer& tok, std::vector<std::string> langs,
                   bool decoder_lang_tag)
    : langs_(std::move(langs)), decoder_lang_tag_(decoder_lang_tag) {
  for (const auto& l : langs_) ids_.push_back(tok.piece_id(data::lang_tag(l)));
}

LangTags::LangTags(std::vector<std::string> langs, std::vector<int64_t> ids, bool decoder_lang_tag)
    : langs_(std::move(langs)), ids_(std::move(ids)), decoder_lang_tag_(decoder_lang_tag) {
  TORCH_CHECK(ids_.size() == langs_.size(), "LangTags: expected one id per language, got ",
              ids_.size(), " ids for ", langs_.size(), " languages");
}

void LangTags::require(const std::string& where) const {
  for (size_t l = 0; l < langs_.size(); ++l)
    if (ids_[l] < 0)
      throw Error(where + ": no language tag " + data::lang_tag(langs_[l]) + " in the vocabulary");
}

int64_t LangTags::index(const std::string& lang) const {
  auto it = std::find(langs_.begin(), langs_.end(), lang);
  return it == langs_.end() ? -1 : it - langs_.begin();
}

int64_t LangTags::start(size_t lang) const {
  return decoder_lang_tag_ ? ids_.at(lang) : static_cast<int64_t>(data::kEosId);
}

std::vector<int64_t> LangTags::known_ids() const {
  std::vector<int64_t> out;
  for (int64_t id : ids_)
    if (id >= 0) out.push_back(id);
  return out;
}

TaggedBatch lay_out_batch(const LangTags& tags, const std::vector<TaggedSentence>& sentences,
                          int64_t max_source_tokens) {
  const int64_t B = static_cast<int64_t>(sentences.size());
  const bool inference = B > 0 && sentences[0].tgt == nullptr;
  auto src_len = [&](const TaggedSentence& s) {
    const int64_t n = static_cast<int64_t>(s.src->size());
    return max_source_tokens > 0 ? std::min(n, max_source_tokens) : n;
  };
  int64_t S = 0, T = inference ? 1 : 0;
  for (const auto& s : sentences) {
    TORCH_CHECK((s.tgt == nullptr) == inference,
                "lay_out_batch: a batch is for inference (no targets) or not, not both");
    S = std::max<int64_t>(S, src_len(s) + 2);
    if (!inference) T = std::max<int64_t>(T, static_cast<int64_t>(s.tgt->size()) + 1);
  }
  TaggedBatch b;
  b.src = torch::full({B, S}, data::kPadId, torch::kLong);
  b.prev = torch::full({B, T}, data::kPadId, torch::kLong);
  if (!inference) b.target = torch::full({B, T}, data::kPadId, torch::kLong);
  int64_t* s = b.src.data_ptr<int64_t>();
  int64_t* p = b.prev.data_ptr<int64_t>();
  int64_t* t = inference ? nullptr : b.target.data_ptr<int64_t>();
  for (int64_t i = 0; i < B; ++i) {
    const TaggedSentence& sent = sentences[i];
    const auto& x = *sent.src;
    const int64_t n = src_len(sent);
    if (n < static_cast<int64_t>(x.size())) ++b.truncated;
    int64_t* si = s + i * S;
    si[0] = tags.tag(sent.tgt_lang);
    for (int64_t j = 0; j < n; ++j) si[j + 1] = x[j];
    si[n + 1] = data::kEosId;
    int64_t* pi = p + i * T;
    pi[0] = tags.start(sent.tgt_lang);
    if (inference) continue;
    const auto& y = *sent.tgt;
    int64_t* ti = t + i * T;
    for (size_t j = 0; j < y.size(); ++j) {
      pi[j + 1] = y[j];
      ti[j] = y[j];
    }
    ti[y.size()] = data::kEosId;
    b.target_tokens += static_cast<int64_t>(y.size()) + 1;
  }
  return b;
}

}  // namespace strata::nmt
