#pragma once
// The shared SentencePiece model of a benchmark: trained on text drawn from every language
// with temperature sampling, with the language tags ">>xx<<" as user-defined symbols.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/data_config.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace strata::data {

// Sampling probabilities p_l ∝ (n_l / Σn)^(1/T) (T = 1: proportional; T → ∞: uniform).
std::vector<double> temperature_probs(const std::vector<int64_t>& counts, double temperature);

// How many sentences to draw per language for a budget of `total` (largest remainder rounding;
// the result sums to `total`).
std::vector<int64_t> temperature_quota(const std::vector<int64_t>& counts, double temperature,
                                       int64_t total);

// Trains out_dir/spm.model (+ .vocab) from out_dir/train.tsv; prints the per-language sample.
void train_spm(const DataConfig& cfg);

// Special ids shared by every Strata SentencePiece model.
constexpr int kPadId = 0, kUnkId = 1, kBosId = 2, kEosId = 3;

// Thin wrapper: loads a model (strata::Error naming the file on failure), encodes/decodes.
class Tokenizer {
 public:
  explicit Tokenizer(const std::string& model_path);
  // From a serialized model (as stored in checkpoints); `name` is used in errors.
  static std::unique_ptr<Tokenizer> from_serialized(const std::string& proto,
                                                    const std::string& name);
  ~Tokenizer();
  std::string serialized() const;  // the model as bytes
  // Never returns a language-tag id: a ">>xx<<" inside the text is spelled out (see spm.cpp), so
  // user text cannot inject control pieces.
  std::vector<int> encode(const std::string& text) const;
  std::string decode(const std::vector<int>& ids) const;
  int piece_id(const std::string& piece) const;  // -1 when unknown
  std::string piece(int id) const;               // the piece of id (0 <= id < vocab_size())
  int vocab_size() const;

 private:
  Tokenizer();
  void find_tags();
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::vector<bool> is_tag_;  // per id: a language tag ">>xx<<" (user-defined symbol)
};

}  // namespace strata::data
