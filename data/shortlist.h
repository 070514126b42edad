#pragma once
// Vocabulary shortlists (issue 18): for each language, the SentencePiece pieces that occur in
// that language's side of the training data. Decoding into L then computes the output layer
// over L's pieces only (nmt/decode/search.h, SearchOptions::output): fewer columns in a step's
// largest product, its log-softmax and its top-k, and no piece that L's training text never
// used. `strata data shortlist` builds the file from train.tsv with the benchmark's
// SentencePiece model; the file names that model's MD5, so a model with another vocabulary is
// refused when it is loaded.
//   VocabShortlist s = build_shortlist(rows, langs, tokenizer, {});
//   s.save("work/data/core8/shortlist.tsv");
//   VocabShortlist back = VocabShortlist::load("work/data/core8/shortlist.tsv");
//   const std::vector<int64_t>* de = back.ids("de");  // sorted ids; null when de is not listed
#include <cstdint>
#include <string>
#include <vector>

#include "data/data_config.h"
#include "data/prepare.h"
#include "data/spm.h"

namespace strata::data {

struct ShortlistOptions {
  // A piece joins L's list when it occurs at least this often in L's training text (default 1:
  // every piece L ever used).
  int64_t min_count = 1;
};

class VocabShortlist {
 public:
  VocabShortlist() = default;

  const std::vector<std::string>& langs() const { return langs_; }
  // L's ids, ascending (always with </s> and <unk>); null when L has no list.
  const std::vector<int64_t>* ids(const std::string& lang) const;
  int64_t vocab_size() const { return vocab_; }
  const std::string& spm_md5() const { return spm_md5_; }
  int64_t min_count() const { return min_count_; }

  // strata::Error (naming `what`, e.g. the shortlist's file) unless `tok` is the SentencePiece
  // model the list was built with (same MD5 of the serialized model, same vocabulary size).
  void check_tokenizer(const Tokenizer& tok, const std::string& what) const;

  // Text: "strata-shortlist 1", "spm_md5 <hex>", "vocab <V>", "min_count <n>", "langs <k>",
  // then one line per language "<lang>\t<count>\t<id> <id> ...", then "end". Written atomically.
  void save(const std::string& path) const;
  // Validates everything (ids in range and ascending, counts, the end line); one-line
  // strata::Error naming the file and line.
  static VocabShortlist load(const std::string& path);

  friend VocabShortlist build_shortlist(const std::vector<Row>& rows,
                                        const std::vector<std::string>& langs,
                                        const Tokenizer& tok, const ShortlistOptions& opt);

 private:
  std::vector<std::string> langs_;
  std::vector<std::vector<int64_t>> ids_;  // per language, ascending
  int64_t vocab_ = 0;
  int64_t min_count_ = 1;
  std::string spm_md5_;
};

// The MD5 of a tokenizer's serialized model (what a shortlist records).
std::string tokenizer_md5(const Tokenizer& tok);

// Per language l (langs[i] is rows' text[i]): every id of tok.encode(text[i]) over the rows,
// kept when it occurs >= opt.min_count times, plus </s> and <unk>.
VocabShortlist build_shortlist(const std::vector<Row>& rows, const std::vector<std::string>& langs,
                               const Tokenizer& tok, const ShortlistOptions& opt);

// `strata data shortlist`: builds it from <out_dir>/train.tsv with <out_dir>/spm.model, writes
// `path` (default <out_dir>/shortlist.tsv) and prints each language's size.
void prepare_shortlist(const DataConfig& cfg, const std::string& path, const ShortlistOptions& opt);

}  // namespace strata::data
