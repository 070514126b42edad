#pragma once
// Greedy and beam search over a Transformer with incremental decoding.
#include <torch/torch.h>

#include <memory>
#include <vector>

#include "nmt/model/transformer.h"

namespace strata::nmt {

struct SearchOptions {
  int beam = 4;            // 1 = greedy
  double lenpen = 1.0;     // final score = log p / length^lenpen (length includes </s>)
  double max_len_a = 1.5;  // output length limit a·src_len + b tokens (</s> forced there)
  int max_len_b = 10;
  int nbest = 1;
  std::vector<int64_t> banned;  // ids never generated (pad, bos, language tags)
  // Repetition guards (issue 17); both see only the tokens a hypothesis generated (not its start
  // token), are applied per hypothesis and travel with it through beam reordering.
  // N > 0: a hypothesis never generates a token that would complete an n-gram of N tokens it
  // already contains (fairseq's --no-repeat-ngram-size, CTranslate2's no_repeat_ngram_size);
  // 0 = off.
  int no_repeat_ngram_size = 0;
  // θ >= 1: before the log-softmax, the logit of each token the hypothesis already generated is
  // divided by θ if positive and multiplied by θ if negative (CTRL, Keskar et al. 2019;
  // CTranslate2's repetition_penalty); 1 = off.
  double repetition_penalty = 1.0;
  // A vocabulary shortlist (data/shortlist.h; Transformer::output_rows): only these pieces are
  // scored and generated; the log-softmax normalises over them. Null: the whole vocabulary.
  std::shared_ptr<const OutputRows> output;
};

struct Hypothesis {
  std::vector<int64_t> tokens;  // without the start token and without </s>
  double score = 0;             // length-normalised log-probability
  double logprob = 0;           // sum of token log-probabilities (incl. </s>)
};

// src [B, S] (padded with pad id), first[b] = the decoder's start token for sentence b; lms: the
// sentences' LMS bank indices [B] (models with LMS layers). Returns the n-best hypotheses per
// sentence, best first. Runs under NoGradGuard, eval mode.
std::vector<std::vector<Hypothesis>> beam_search(Transformer& model, const torch::Tensor& src,
                                                 const std::vector<int64_t>& first, int64_t eos,
                                                 const SearchOptions& opt, const LmsKeys& lms = {});

}  // namespace strata::nmt
