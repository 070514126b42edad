#include "nmt/decode/translator.h"

#include <algorithm>
#include <numeric>

#include "nmt/util/error.h"
#include "data/langs.h"

namespace strata::nmt {

SearchOptions search_options(const DecodeConfig& d, const data::Tokenizer& tok,
                             const std::vector<std::string>& langs) {
  SearchOptions o;
  o.beam = d.beam;
  o.lenpen = d.lenpen;
  o.max_len_a = d.max_len_a;
  o.max_len_b = d.max_len_b;
  o.nbest = d.nbest;
  o.banned = {data::kPadId, data::kBosId};
  for (const auto& l : langs) {
    int id = tok.piece_id(data::lang_tag(l));
    if (id >= 0) o.banned.push_back(id);
  }
  return o;
}

int64_t start_token(bool decoder_lang_tag, const data::Tokenizer& tok, const std::string& tgt) {
  if (!decoder_lang_tag) return data::kEosId;
  int id = tok.piece_id(data::lang_tag(tgt));
  if (id < 0) throw Error("the model's vocabulary has no tag " + data::lang_tag(tgt));
  return id;
}

Translator::Translator(Checkpoint ckpt) : ckpt_(std::move(ckpt)) {
  tok_ = checkpoint_tokenizer(ckpt_);
  ckpt_.model->eval();
}

SearchOptions Translator::default_options() const {
  return search_options(ckpt_.config.decode, *tok_, ckpt_.langs);
}

std::vector<std::vector<Hypothesis>> Translator::translate_ids(
    const std::vector<std::vector<int>>& src, const std::string& tgt_lang,
    const SearchOptions& opt, int batch_size, const std::string& src_lang) {
  std::string all;
  for (const auto& l : langs()) all += (all.empty() ? "" : " ") + l;
  if (std::find(langs().begin(), langs().end(), tgt_lang) == langs().end())
    throw Error("--tgt-lang: the model does not translate into '" + tgt_lang +
                "' (its languages: " + all + ")");
  // LMS models: every sentence of this call has the same direction.
  const bool lms = ckpt_.config.model.lms.enabled();
  int64_t src_index = 0;
  const int64_t tgt_index = std::find(langs().begin(), langs().end(), tgt_lang) - langs().begin();
  if (lms && !lms_shared_) {
    if (src_lang.empty())
      throw Error("--src-lang is required: this is an LMS model (model.lms.mode=" +
                  enum_name(names_of(ckpt_.config.model.lms.mode), ckpt_.config.model.lms.mode) +
                  "), whose weights depend on the source language");
    auto it = std::find(langs().begin(), langs().end(), src_lang);
    if (it == langs().end())
      throw Error("--src-lang: the model does not translate from '" + src_lang +
                  "' (its languages: " + all + ")");
    src_index = it - langs().begin();
  }
  const int64_t tag = tok_->piece_id(data::lang_tag(tgt_lang));
  const int64_t first = start_token(ckpt_.config.model.decoder_lang_tag, *tok_, tgt_lang);
  const int64_t limit = ckpt_.config.model.max_positions - 2;
  std::vector<size_t> order;  // non-empty inputs, longest first
  for (size_t i = 0; i < src.size(); ++i)
    if (!src[i].empty()) order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return src[a].size() > src[b].size(); });
  std::vector<std::vector<Hypothesis>> out(src.size());
  for (size_t start = 0; start < order.size(); start += batch_size) {
    size_t end = std::min(order.size(), start + batch_size);
    int64_t S = 0;
    for (size_t i = start; i < end; ++i)
      S = std::max<int64_t>(S, std::min<int64_t>(src[order[i]].size(), limit) + 2);
    auto batch = torch::full({static_cast<int64_t>(end - start), S}, data::kPadId, torch::kLong);
    auto* p = batch.data_ptr<int64_t>();
    for (size_t i = start; i < end; ++i) {
      const auto& x = src[order[i]];
      int64_t n = std::min<int64_t>(x.size(), limit);
      if (n < static_cast<int64_t>(x.size())) ++truncated_;
      int64_t* row = p + (i - start) * S;
      row[0] = tag;
      for (int64_t j = 0; j < n; ++j) row[j + 1] = x[j];
      row[n + 1] = data::kEosId;
    }
    std::vector<int64_t> firsts(end - start, first);
    LmsKeys keys;
    if (lms) {
      const int64_t B = static_cast<int64_t>(end - start);
      keys = ckpt_.model->lms_keys(torch::full({B}, src_index, torch::kLong),
                                   torch::full({B}, tgt_index, torch::kLong), lms_shared_);
    }
    auto hyps = beam_search(ckpt_.model, batch, firsts, data::kEosId, opt, keys);
    for (size_t i = start; i < end; ++i) out[order[i]] = std::move(hyps[i - start]);
  }
  return out;
}

std::vector<std::vector<Translation>> Translator::translate(const std::vector<std::string>& lines,
                                                            const std::string& tgt_lang,
                                                            const SearchOptions& opt,
                                                            int batch_size,
                                                            const std::string& src_lang) {
  std::vector<std::vector<int>> ids(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) ids[i] = tok_->encode(lines[i]);
  auto hyps = translate_ids(ids, tgt_lang, opt, batch_size, src_lang);
  std::vector<std::vector<Translation>> out(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    if (ids[i].empty()) {
      out[i].push_back({"", 0.0});
      continue;
    }
    for (const auto& h : hyps[i]) {
      std::vector<int> t(h.tokens.begin(), h.tokens.end());
      out[i].push_back({tok_->decode(t), h.score});
    }
  }
  return out;
}

}  // namespace strata::nmt
