#include "nmt/train/batcher.h"

#include <algorithm>

#include "nmt/util/error.h"

namespace strata::nmt {

ParallelData::ParallelData(const std::vector<data::Row>& rows, std::vector<std::string> langs,
                           const data::Tokenizer& tok, int max_len)
    : langs_(std::move(langs)) {
  const size_t L = langs_.size();
  ids_.resize(rows.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    ids_[r].resize(L);
    for (size_t l = 0; l < L; ++l)
      if (!rows[r].text[l].empty()) ids_[r][l] = tok.encode(rows[r].text[l]);
  }
  for (size_t a = 0; a < L; ++a)
    for (size_t b = 0; b < L; ++b) {
      if (a == b) continue;
      Direction d{static_cast<int>(a), static_cast<int>(b), {}};
      for (size_t r = 0; r < rows.size(); ++r) {
        const auto& x = ids_[r][a];
        const auto& y = ids_[r][b];
        if (x.empty() || y.empty()) continue;
        // +2: the tag and </s> on the source; +1: </s> or tag on the target side.
        if (static_cast<int>(x.size()) + 2 > max_len || static_cast<int>(y.size()) + 1 > max_len) {
          ++skipped_long_;
          continue;
        }
        d.rows.push_back(static_cast<uint32_t>(r));
      }
      if (!d.rows.empty()) directions_.push_back(std::move(d));
    }
  if (directions_.empty()) throw Error("training data: no direction has any usable pair");
}

Batch make_batch(const ParallelData& data, const std::vector<Example>& ex, const LangTags& tags) {
  std::vector<TaggedSentence> sentences;
  sentences.reserve(ex.size());
  for (const auto& e : ex)
    sentences.push_back({&data.ids(e.row, e.src), e.tgt, &data.ids(e.row, e.tgt)});
  Batch b;
  static_cast<TaggedBatch&>(b) = lay_out_batch(tags, sentences);
  b.examples = ex;
  return b;
}

Batch make_batch(const ParallelData& data, const std::vector<Example>& ex,
                 const std::vector<int>& lang_tag_ids, bool decoder_lang_tag) {
  return make_batch(data, ex,
                    LangTags(data.langs(), {lang_tag_ids.begin(), lang_tag_ids.end()},
                             decoder_lang_tag));
}

BatchSampler::BatchSampler(const ParallelData& data, double temperature, int max_tokens, int seed)
    : data_(data), max_tokens_(max_tokens), seed_(seed) {
  std::vector<int64_t> counts;
  for (const auto& d : data.directions()) counts.push_back(static_cast<int64_t>(d.rows.size()));
  probs_ = data::temperature_probs(counts, temperature);
}

void BatchSampler::seek(Position p) {
  pos_ = p;
  pool_loaded_ = -1;
}

void BatchSampler::fill_pool() {
  // A pool holds about 64 batches' worth of examples.
  std::seed_seq seq{static_cast<uint64_t>(seed_), static_cast<uint64_t>(pos_.pool), uint64_t{7}};
  std::mt19937_64 rng(seq);
  std::discrete_distribution<size_t> pick_dir(probs_.begin(), probs_.end());
  std::vector<std::pair<int64_t, Example>> ex;  // (length key, example)
  int64_t budget = 64LL * max_tokens_, used = 0;
  while (used < budget) {
    const auto& d = data_.directions()[pick_dir(rng)];
    uint32_t row = d.rows[std::uniform_int_distribution<size_t>(0, d.rows.size() - 1)(rng)];
    int64_t ls = data_.ids(row, d.src).size() + 2, lt = data_.ids(row, d.tgt).size() + 1;
    ex.push_back({(ls << 20) + lt, Example{row, d.src, d.tgt}});
    used += ls + lt;
  }
  std::stable_sort(ex.begin(), ex.end(), [](auto& a, auto& b) { return a.first < b.first; });
  pool_.clear();
  std::vector<Example> cur;
  int64_t max_s = 0, max_t = 0;
  for (auto& [key, e] : ex) {
    int64_t ls = key >> 20, lt = key & ((1 << 20) - 1);
    int64_t ms = std::max(max_s, ls), mt = std::max(max_t, lt);
    if (!cur.empty() && static_cast<int64_t>(cur.size() + 1) * (ms + mt) > max_tokens_) {
      pool_.push_back(std::move(cur));
      cur.clear();
      ms = ls;
      mt = lt;
    }
    cur.push_back(e);
    max_s = ms;
    max_t = mt;
  }
  if (!cur.empty()) pool_.push_back(std::move(cur));
  std::shuffle(pool_.begin(), pool_.end(), rng);
  pool_loaded_ = pos_.pool;
}

std::vector<Example> BatchSampler::next() {
  if (pool_loaded_ != pos_.pool) fill_pool();
  if (pos_.batch >= static_cast<int64_t>(pool_.size())) {
    pos_.pool++;
    pos_.batch = 0;
    fill_pool();
  }
  return pool_[pos_.batch++];
}

}  // namespace strata::nmt
