#pragma once
// Translator facade: text in, text out. Tokenises, sorts by length, batches, runs beam search,
// detokenises and restores the input order. No training code.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "data/shortlist.h"
#include "data/spm.h"
#include "kernels/precision.h"
#include "nmt/decode/search.h"
#include "nmt/lang_tags.h"
#include "nmt/model/checkpoint.h"

namespace strata::nmt {

class ExpertPrefetcher;  // nmt/decode/expert_prefetch.h

struct Translation {
  std::string text;
  double score = 0;
};

class Translator {
 public:
  // Takes a loaded checkpoint (inference: eval mode, no gradients).
  explicit Translator(Checkpoint ckpt);

  // n-best translations of each line into `tgt_lang` (empty lines give empty translations).
  // Throws strata::Error listing the model's languages when tgt_lang is not one of them.
  // `src_lang`: the input's language; needed by LMS models (their language-specific side) unless
  // use_lms_shared(true), ignored by other models.
  std::vector<std::vector<Translation>> translate(const std::vector<std::string>& lines,
                                                  const std::string& tgt_lang,
                                                  const SearchOptions& opt, int batch_size,
                                                  const std::string& src_lang = "");
  // Same on token ids (without tags/eos); used by validation.
  std::vector<std::vector<Hypothesis>> translate_ids(const std::vector<std::vector<int>>& src,
                                                     const std::string& tgt_lang,
                                                     const SearchOptions& opt, int batch_size,
                                                     const std::string& src_lang = "");
  // Teacher-forced log-loss of references: the nll summed over the target tokens (and </s>) of
  // every pair (src[i], tgt[i]) into tgt_lang, and the number of those tokens. Pairs whose source
  // or target does not fit the position table are skipped (counted in `skipped`).
  struct Nll {
    double sum = 0;
    int64_t tokens = 0;
    int64_t skipped = 0;
  };
  Nll score_nll(const std::vector<std::vector<int>>& src, const std::vector<std::vector<int>>& tgt,
                const std::string& tgt_lang, int batch_size, const std::string& src_lang = "");
  // LMS models: translate with the fused shared slot (what `distill condense` keeps) instead of
  // the language-specific banks.
  void use_lms_shared(bool on) { lms_shared_ = on; }

  // Inference compute type (kernels/precision.h; auto is resolved for the model's width: float32
  // below kernels::kLowPrecisionMinWidth unless its weights were loaded int8-only): packs the model's linear,
  // expert and output weights for it (int8: per-row scales; bf16) and decodes under it. float32
  // (the default) decodes with the checkpoint's own weights.
  void set_compute_type(kernels::ComputeType t);
  // Moves the model to `device` (kernels/device.h; before set_compute_type). Batches are built on
  // the CPU and move with the model's inputs.
  void to(const torch::Device& device) {
    ckpt_.model->to(device);
    output_rows_.clear();  // made on the old device
  }
  kernels::ComputeType compute_type() const { return compute_type_; }
  // Experts restored on dispatch (issue 22): before each batch decodes, `p` starts bringing in
  // the next batch's predicted experts (nmt/decode/expert_prefetch.h); null: none. The output
  // does not change.
  void set_prefetcher(std::shared_ptr<ExpertPrefetcher> p) { prefetcher_ = std::move(p); }
  const ExpertPrefetcher* prefetcher() const { return prefetcher_.get(); }
  // SiDA mode (needs a prefetcher): the routers are bypassed as ExpertPrefetcher::sida_routing
  // says, so each batch uses only its predicted experts; the output depends on the predictor.
  void set_sida(bool on);
  // A vocabulary shortlist (data/shortlist.h): each call decodes into its target language over
  // that language's pieces (a language the list lacks: the whole vocabulary). Throws
  // strata::Error naming `name` when the list was built with another SentencePiece model. Null:
  // off (the default).
  void set_shortlist(std::shared_ptr<const data::VocabShortlist> list, const std::string& name);
  const data::VocabShortlist* shortlist() const { return shortlist_.get(); }

  const std::vector<std::string>& langs() const { return ckpt_.langs; }
  const Config& config() const { return ckpt_.config; }
  const Checkpoint& checkpoint() const { return ckpt_; }
  Transformer& model() { return ckpt_.model; }
  const data::Tokenizer& tokenizer() const { return *tok_; }
  const LangTags& tags() const { return tags_; }  // the model's language tags
  SearchOptions default_options() const;  // from the checkpoint's decode config
  int64_t truncated() const { return truncated_; }
  // Wall seconds of each batch of the last translate()/translate_ids() call, in decoding order
  // (laying out the next batch included): per-sentence latency at batch size 1.
  const std::vector<double>& batch_seconds() const { return batch_seconds_; }

 private:
  std::pair<int64_t, int64_t> direction(const std::string& tgt_lang, const std::string& src_lang) const;
  Checkpoint ckpt_;
  std::unique_ptr<data::Tokenizer> tok_;
  LangTags tags_;  // resolved once, here
  int64_t truncated_ = 0;
  std::vector<double> batch_seconds_;
  bool lms_shared_ = false;
  kernels::ComputeType compute_type_ = kernels::ComputeType::kFloat32;
  bool sida_ = false;
  std::shared_ptr<const data::VocabShortlist> shortlist_;
  // The output layer's rows per target language, made for compute_type_ (cleared when it changes).
  std::map<std::string, std::shared_ptr<const OutputRows>> output_rows_;
  std::shared_ptr<ExpertPrefetcher> prefetcher_;  // last: destroyed (its thread joined) first
};

// Search options for a model: decode config plus the ids never generated (pad, bos, tags).
SearchOptions search_options(const DecodeConfig& d, const LangTags& tags);

}  // namespace strata::nmt
