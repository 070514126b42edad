#include "nmt/decode/translator.h"

#include "nmt/decode/expert_prefetch.h"
#include "moe/expert_store.h"
#include "moe/routing_override.h"

#include <algorithm>
#include <chrono>
#include <numeric>

#include "nmt/util/error.h"
#include "data/langs.h"
#include "kernels/linear.h"

namespace strata::nmt {

SearchOptions search_options(const DecodeConfig& d, const LangTags& tags) {
  SearchOptions o;
  o.beam = d.beam;
  o.lenpen = d.lenpen;
  o.max_len_a = d.max_len_a;
  o.max_len_b = d.max_len_b;
  o.nbest = d.nbest;
  o.no_repeat_ngram_size = d.no_repeat_ngram_size;
  o.repetition_penalty = d.repetition_penalty;
  o.banned = {data::kPadId, data::kBosId};
  for (int64_t id : tags.known_ids()) o.banned.push_back(id);
  return o;
}

Translator::Translator(Checkpoint ckpt)
    : ckpt_(std::move(ckpt)),
      tok_(checkpoint_tokenizer(ckpt_)),
      tags_(*tok_, ckpt_.langs, ckpt_.config.model.decoder_lang_tag) {
  ckpt_.model->eval();
}

void Translator::set_compute_type(kernels::ComputeType t) {
  compute_type_ = kernels::resolve_compute_type(t, ckpt_.config.model.d_model);
  // An int8 checkpoint loaded int8-only (LoadOptions::int8_only) has no float32 weights left.
  if (t == kernels::ComputeType::kAuto && kernels::weight_format(compute_type_) == kernels::WeightFormat::kNone &&
      kernels::is_released(ckpt_.model->embed->weight))
    compute_type_ = kernels::resolve_compute_type(t);
  kernels::pack_weights(*ckpt_.model, compute_type_);
  output_rows_.clear();
}

void Translator::set_shortlist(std::shared_ptr<const data::VocabShortlist> list,
                               const std::string& name) {
  if (list) {
    list->check_tokenizer(*tok_, name);
    if (list->vocab_size() != ckpt_.model->options.vocab_size())
      throw Error(name + ": the shortlist's vocabulary has " + std::to_string(list->vocab_size()) +
                  " pieces, the model's output layer " +
                  std::to_string(ckpt_.model->options.vocab_size()));
  }
  shortlist_ = std::move(list);
  output_rows_.clear();
}

SearchOptions Translator::default_options() const {
  return search_options(ckpt_.config.decode, tags_);
}

// The direction's language indices, with one-line errors for languages the model lacks.
std::pair<int64_t, int64_t> Translator::direction(const std::string& tgt_lang,
                                                  const std::string& src_lang) const {
  std::string all;
  for (const auto& l : langs()) all += (all.empty() ? "" : " ") + l;
  const int64_t tgt_index = tags_.index(tgt_lang);
  if (tgt_index < 0)
    throw Error("--tgt-lang: the model does not translate into '" + tgt_lang +
                "' (its languages: " + all + ")");
  if (!tags_.has_tag(tgt_index))
    throw Error("the model's vocabulary has no tag " + data::lang_tag(tgt_lang));
  // LMS models: every sentence of this call has the same direction.
  const bool lms = ckpt_.config.model.lms.enabled();
  int64_t src_index = 0;
  if (lms && !lms_shared_) {
    if (src_lang.empty())
      throw Error("--src-lang is required: this is an LMS model (model.lms.mode=" +
                  enum_name(names_of(ckpt_.config.model.lms.mode), ckpt_.config.model.lms.mode) +
                  "), whose weights depend on the source language");
    src_index = tags_.index(src_lang);
    if (src_index < 0)
      throw Error("--src-lang: the model does not translate from '" + src_lang +
                  "' (its languages: " + all + ")");
  }
  return {src_index, tgt_index};
}

std::vector<std::vector<Hypothesis>> Translator::translate_ids(
    const std::vector<std::vector<int>>& src, const std::string& tgt_lang,
    const SearchOptions& opt, int batch_size, const std::string& src_lang) {
  // Not a structured binding: C++17 lambdas cannot capture those (clang refuses; gcc allows).
  const auto dir = direction(tgt_lang, src_lang);
  const int64_t src_index = dir.first, tgt_index = dir.second;
  const bool lms = ckpt_.config.model.lms.enabled();
  const int64_t limit = ckpt_.config.model.max_positions - 2;
  SearchOptions search = opt;
  if (shortlist_ && !search.output && shortlist_->ids(tgt_lang)) {
    auto& rows = output_rows_[tgt_lang];
    if (!rows) {
      kernels::ComputeTypeGuard compute(compute_type_);
      rows = std::make_shared<const OutputRows>(
          ckpt_.model->output_rows(torch::tensor(*shortlist_->ids(tgt_lang), torch::kLong)));
    }
    search.output = rows;
  }
  std::vector<size_t> order;  // non-empty inputs, longest first
  for (size_t i = 0; i < src.size(); ++i)
    if (!src[i].empty()) order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return src[a].size() > src[b].size(); });
  std::vector<std::vector<Hypothesis>> out(src.size());
  const auto lay_out = [&](size_t start) {
    std::vector<TaggedSentence> sentences;
    for (size_t i = start; i < std::min(order.size(), start + batch_size); ++i)
      sentences.push_back({&src[order[i]], tgt_index});
    TaggedBatch b = lay_out_batch(tags_, sentences, limit);
    // With a prefetcher each batch is laid out one ahead and its experts brought in meanwhile.
    if (prefetcher_) prefetcher_->start(b.src, compute_type_);
    return b;
  };
  TaggedBatch next;
  batch_seconds_.clear();
  if (!order.empty()) next = lay_out(0);
  for (size_t start = 0; start < order.size(); start += batch_size) {
    const auto t0 = std::chrono::steady_clock::now();
    if (ckpt_.expert_cache) ckpt_.expert_cache->begin_batch();  // before the next one's prefetch
    size_t end = std::min(order.size(), start + batch_size);
    TaggedBatch batch = std::move(next);
    if (end < order.size()) next = lay_out(end);
    truncated_ += batch.truncated;
    const int64_t* first = batch.prev.data_ptr<int64_t>();  // [B, 1]: the start tokens
    std::vector<int64_t> firsts(first, first + batch.prev.size(0));
    LmsKeys keys;
    if (lms) {
      const int64_t B = static_cast<int64_t>(end - start);
      keys = ckpt_.model->lms_keys(torch::full({B}, src_index, torch::kLong),
                                   torch::full({B}, tgt_index, torch::kLong), lms_shared_);
    }
    kernels::ComputeTypeGuard compute(compute_type_);
    moe::RoutingOverride sida;  // SiDA mode: the predictor routes
    if (sida_) sida = prefetcher_->sida_routing(batch.src);
    moe::RoutingOverrideGuard route(sida_ ? &sida : moe::routing_override());
    auto hyps = beam_search(ckpt_.model, batch.src, firsts, data::kEosId, search, keys);
    for (size_t i = start; i < end; ++i) out[order[i]] = std::move(hyps[i - start]);
    batch_seconds_.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  if (prefetcher_) prefetcher_->wait();
  return out;
}

void Translator::set_sida(bool on) {
  if (on && !prefetcher_) throw Error("sida mode needs an expert predictor (--expert-predictor)");
  sida_ = on;
}

Translator::Nll Translator::score_nll(const std::vector<std::vector<int>>& src,
                                      const std::vector<std::vector<int>>& tgt,
                                      const std::string& tgt_lang, int batch_size,
                                      const std::string& src_lang) {
  TORCH_CHECK(src.size() == tgt.size(), "score_nll: ", src.size(), " sources, ", tgt.size(), " targets");
  const auto [src_index, tgt_index] = direction(tgt_lang, src_lang);
  const int64_t limit = ckpt_.config.model.max_positions;
  Nll out;
  std::vector<size_t> order;  // pairs that fit, longest source first (less padding)
  for (size_t i = 0; i < src.size(); ++i) {
    if (static_cast<int64_t>(src[i].size()) + 2 > limit || static_cast<int64_t>(tgt[i].size()) + 1 > limit)
      ++out.skipped;
    else
      order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return src[a].size() > src[b].size(); });
  torch::NoGradGuard no_grad;
  kernels::ComputeTypeGuard compute(compute_type_);
  for (size_t start = 0; start < order.size(); start += batch_size) {
    const size_t end = std::min(order.size(), start + batch_size);
    std::vector<TaggedSentence> sentences;
    for (size_t i = start; i < end; ++i) sentences.push_back({&src[order[i]], tgt_index, &tgt[order[i]]});
    TaggedBatch b = lay_out_batch(tags_, sentences);
    LmsKeys keys;
    if (ckpt_.config.model.lms.enabled()) {
      const int64_t B = static_cast<int64_t>(end - start);
      keys = ckpt_.model->lms_keys(torch::full({B}, src_index, torch::kLong),
                                   torch::full({B}, tgt_index, torch::kLong), lms_shared_);
    }
    auto lp = torch::log_softmax(ckpt_.model->forward(b.src, b.prev, nullptr, keys).to(torch::kFloat), -1);
    auto target = b.target.to(lp.device());
    auto token_nll = -lp.gather(-1, target.unsqueeze(-1)).squeeze(-1);
    out.sum += token_nll.masked_fill(target == data::kPadId, 0).sum().item<double>();
    out.tokens += b.target_tokens;
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
