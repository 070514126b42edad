#pragma once
// From aligned rows to padded tensors: tokenises every row once, samples directions with
// temperature, groups examples of similar length into token-budget batches. The tensors are laid
// out by nmt/lang_tags.h (the one layout of source tags and decoder start tokens).
#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "data/prepare.h"
#include "data/spm.h"
#include "nmt/lang_tags.h"

namespace strata::nmt {

// Token ids of every row and language, and the rows usable for each direction.
class ParallelData {
 public:
  ParallelData(const std::vector<data::Row>& rows, std::vector<std::string> langs,
               const data::Tokenizer& tok, int max_len);
  const std::vector<std::string>& langs() const { return langs_; }
  // ids(r, l): tokens of row r in language l (no tags, no eos); empty when missing.
  const std::vector<int>& ids(size_t row, size_t lang) const { return ids_[row][lang]; }
  size_t num_rows() const { return ids_.size(); }
  struct Direction {
    int src, tgt;               // language indices
    std::vector<uint32_t> rows; // rows with both sides within max_len
  };
  const std::vector<Direction>& directions() const { return directions_; }
  int64_t skipped_long() const { return skipped_long_; }

 private:
  std::vector<std::string> langs_;
  std::vector<std::vector<std::vector<int>>> ids_;
  std::vector<Direction> directions_;
  int64_t skipped_long_ = 0;
};

struct Example {
  uint32_t row;
  int src, tgt;  // language indices
};

// src [B, S], prev [B, T], target [B, T] i64 and the non-pad target tokens (TaggedBatch).
struct Batch : TaggedBatch {
  std::vector<Example> examples;
};

// Builds the padded tensors of a list of examples (`tags` over data.langs()).
Batch make_batch(const ParallelData& data, const std::vector<Example>& ex, const LangTags& tags);
// The same with `lang_tag_ids[l]` the id of >>l<< (the older form, kept for callers with ids).
Batch make_batch(const ParallelData& data, const std::vector<Example>& ex,
                 const std::vector<int>& lang_tag_ids, bool decoder_lang_tag);

// Deterministic, resumable batch stream: pool k is drawn from an RNG seeded by (seed, k), sorted
// by length, cut into batches of at most max_tokens (padded source + target), and shuffled. The
// position (pool, batch) is all the state there is.
class BatchSampler {
 public:
  BatchSampler(const ParallelData& data, double temperature, int max_tokens, int seed);
  std::vector<Example> next();
  struct Position {
    int64_t pool = 0, batch = 0;
  };
  Position position() const { return pos_; }
  void seek(Position p);
  const std::vector<double>& direction_probs() const { return probs_; }

 private:
  void fill_pool();
  const ParallelData& data_;
  std::vector<double> probs_;
  int max_tokens_;
  int seed_;
  Position pos_;
  std::vector<std::vector<Example>> pool_;  // batches of the current pool
  int64_t pool_loaded_ = -1;
};

}  // namespace strata::nmt
