#include "nmt/decode/search.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace strata::nmt {

namespace {
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// The index of elements (rows[i], toks[i]) of a 2-D tensor. A c10::List, not a vector of
// TensorIndex: copying a TensorIndex made from a tensor reads its uninitialised bool member
// (LibTorch 1.13's header; UBSan reports it), and a vector copies from its initializer list.
c10::List<c10::optional<torch::Tensor>> pair_index(const std::vector<int64_t>& rows,
                                                   const std::vector<int64_t>& toks,
                                                   const torch::Tensor& of) {
  const auto on = of.options().dtype(torch::kLong);
  c10::List<c10::optional<torch::Tensor>> index;
  index.push_back(torch::tensor(rows, on));
  index.push_back(torch::tensor(toks, on));
  return index;
}

// Columns of the scores: token id -> its column (-1: not scored) under a shortlist, else the
// identity.
struct Columns {
  std::vector<int64_t> of;  // empty: identity
  int64_t operator()(int64_t tok) const { return of.empty() ? tok : of[static_cast<size_t>(tok)]; }
};

// Repetition penalty (CTRL, Keskar et al. 2019), as CTranslate2 applies it: for each row r of
// logits [R, V] and each distinct token u of seqs[r], logits[r][u] /= θ if positive, *= θ if not.
void apply_repetition_penalty(torch::Tensor& logits, const std::vector<std::vector<int64_t>>& seqs,
                              double theta, const Columns& col) {
  std::vector<int64_t> rows, toks;
  for (size_t r = 0; r < seqs.size(); ++r) {
    std::vector<int64_t> seen;
    for (int64_t tok : seqs[r])
      if (col(tok) >= 0) seen.push_back(col(tok));
    std::sort(seen.begin(), seen.end());
    seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
    rows.insert(rows.end(), seen.size(), static_cast<int64_t>(r));
    toks.insert(toks.end(), seen.begin(), seen.end());
  }
  if (rows.empty()) return;
  const auto index = pair_index(rows, toks, logits);
  auto prev = logits.index(index);
  const float th = static_cast<float>(theta);
  logits.index_put_(index, torch::where(prev < 0, prev * th, prev / th));
}

// No repeated n-gram (fairseq's --no-repeat-ngram-size): for each row r of lprobs [R, V], every
// token that follows an earlier occurrence of seqs[r]'s last n-1 tokens gets -inf, so no n-gram
// occurs twice. One scan of the history per row and step, O(t·n) (as CTranslate2 does).
void ban_repeated_ngrams(torch::Tensor& lprobs, const std::vector<std::vector<int64_t>>& seqs,
                         int64_t n, const Columns& col) {
  std::vector<int64_t> rows, toks;
  for (size_t r = 0; r < seqs.size(); ++r) {
    const auto& s = seqs[r];
    const int64_t L = static_cast<int64_t>(s.size());
    if (L < n) continue;
    const auto suffix = s.end() - (n - 1);  // the n-1 tokens the next one would extend
    for (int64_t i = 0; i + n <= L; ++i)
      if (std::equal(s.begin() + i, s.begin() + i + n - 1, suffix) && col(s[i + n - 1]) >= 0) {
        rows.push_back(static_cast<int64_t>(r));
        toks.push_back(col(s[i + n - 1]));
      }
  }
  if (rows.empty()) return;
  lprobs.index_put_(pair_index(rows, toks, lprobs),
                    torch::scalar_tensor(-std::numeric_limits<float>::infinity(), lprobs.options()));
}
}  // namespace

std::vector<std::vector<Hypothesis>> beam_search(Transformer& model, const torch::Tensor& src,
                                                 const std::vector<int64_t>& first, int64_t eos,
                                                 const SearchOptions& opt, const LmsKeys& lms) {
  torch::NoGradGuard no_grad;
  model->eval();
  const int64_t B = src.size(0);
  const int64_t K = opt.beam;
  const int64_t pad = model->options.pad_id();
  TORCH_CHECK(static_cast<int64_t>(first.size()) == B, "beam_search: need one start token per sentence");
  TORCH_CHECK(opt.no_repeat_ngram_size >= 0, "beam_search: no_repeat_ngram_size must be >= 0");
  TORCH_CHECK(std::isfinite(opt.repetition_penalty) && opt.repetition_penalty >= 1,
              "beam_search: repetition_penalty must be a finite number >= 1");
  const int64_t ngram = opt.no_repeat_ngram_size;
  const bool penalize = opt.repetition_penalty != 1.0;

  // Per-sentence length limits from the unpadded source length.
  auto src_len = src.ne(pad).sum(1).cpu();  // [B]
  std::vector<int64_t> max_len(B);
  for (int64_t b = 0; b < B; ++b)
    max_len[b] = std::min<int64_t>(
        static_cast<int64_t>(opt.max_len_a * src_len[b].item<int64_t>() + opt.max_len_b),
        model->options.max_positions() - 1);

  // B·K decoder rows. The encoder output stays at B rows, each serving its sentence's K beams
  // (DecoderState::group); LMS models expand it to B·K rows (their keys are per decoder row).
  // The first step runs one row per sentence (its K beams would be identical) and then expands
  // to K (as CTranslate2); LMS models start with all K.
  DecoderState state = model->start(model->encode(src, nullptr, lms));
  int64_t R = lms.defined() ? K : 1;  // decoder rows per active sentence at this step
  if (lms.defined())
    state.select(torch::arange(B, torch::kLong).repeat_interleave(K));  // [B·K]
  else
    state.group = R;

  std::vector<std::vector<Hypothesis>> finished(B);
  std::vector<int64_t> active(B);  // sentence id of each active block of R rows
  for (int64_t b = 0; b < B; ++b) active[b] = b;
  // Per active row: tokens so far and cumulative score.
  std::vector<std::vector<int64_t>> seqs(B * R);
  std::vector<double> scores(B * R, kNegInf);
  std::vector<int64_t> input(B * R);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t k = 0; k < R; ++k) {
      input[b * R + k] = first[b];
      scores[b * R + k] = k == 0 ? 0.0 : kNegInf;  // identical beams: keep only the first
    }
  // A shortlist: the step scores its pieces only; column c is token ids[c].
  Columns col;
  std::vector<int64_t> ids;
  if (opt.output) {
    const auto cpu = opt.output->ids.cpu().contiguous();
    ids.assign(cpu.data_ptr<int64_t>(), cpu.data_ptr<int64_t>() + cpu.numel());
    col.of.assign(static_cast<size_t>(model->options.vocab_size()), -1);
    for (size_t c = 0; c < ids.size(); ++c) col.of.at(static_cast<size_t>(ids[c])) = static_cast<int64_t>(c);
    TORCH_CHECK(col(eos) >= 0, "beam_search: the shortlist lacks </s>");
    state.output = opt.output;
  }
  const auto token_of = [&](int64_t c) { return ids.empty() ? c : ids[static_cast<size_t>(c)]; };
  torch::Tensor banned;
  std::vector<int64_t> banned_cols;
  for (int64_t tok : opt.banned)
    if (tok >= 0 && tok < model->options.vocab_size() && col(tok) >= 0) banned_cols.push_back(col(tok));
  if (!banned_cols.empty()) banned = torch::tensor(banned_cols, torch::kLong).to(model->device());

  for (int64_t t = 0; !active.empty(); ++t) {
    const int64_t A = static_cast<int64_t>(active.size());
    const auto tokens = torch::tensor(input, torch::kLong);
    // NOTE: as fairseq, banned tokens get -inf after the log-softmax (the others' log-probabilities
    // are not renormalised).
    torch::Tensor lprobs;  // [A·R, V]
    if (penalize) {
      auto logits = model->step_logits(tokens, state);
      apply_repetition_penalty(logits, seqs, opt.repetition_penalty, col);
      lprobs = torch::log_softmax(logits, -1);
    } else {
      lprobs = model->step(tokens, state);  // off: exactly the unguarded search
    }
    if (banned.defined()) lprobs.index_fill_(1, banned, -std::numeric_limits<float>::infinity());
    if (ngram > 0) ban_repeated_ngrams(lprobs, seqs, ngram, col);
    const int64_t V = lprobs.size(1);
    // Top 2K per sentence so that K non-EOS continuations always exist: each row's top 2K
    // log-probabilities plus the row's score, then the sentence's top 2K of those R·2K (the same
    // candidates as the top 2K of all R·V, without adding the score to all of them).
    const int64_t c = std::min<int64_t>(2 * K, V);
    auto row_top = lprobs.topk(c, 1);  // [A·R, c]
    auto cand = std::get<0>(row_top) + torch::tensor(scores, torch::kDouble).to(lprobs.options()).unsqueeze(1);
    auto top = cand.view({A, R * c}).topk(std::min<int64_t>(2 * K, R * c), 1);
    auto top_values = std::get<0>(top);
    auto pick = std::get<1>(top);                    // [A, 2K] into each sentence's R·c
    auto beam_of = pick.div(c, "floor");             // its row within the sentence
    auto rows = beam_of + torch::arange(A, pick.options()).unsqueeze(1) * R;
    auto top_idx = beam_of * V + std::get<1>(row_top).index({rows, pick.remainder(c)});  // beam·V + column
    auto top_scores = top_values.to(torch::kDouble).cpu().contiguous();  // read here
    top_idx = top_idx.cpu().contiguous();
    const double* ts = top_scores.data_ptr<double>();
    const int64_t* ti = top_idx.data_ptr<int64_t>();
    const int64_t C = top_idx.size(1);

    std::vector<int64_t> keep_rows, next_active;
    std::vector<std::vector<int64_t>> next_seqs;
    std::vector<double> next_scores;
    std::vector<int64_t> next_input;
    for (int64_t a = 0; a < A; ++a) {
      const int64_t b = active[a];
      const bool at_limit = t + 1 >= max_len[b];
      std::vector<int64_t> rows;
      std::vector<std::vector<int64_t>> s_new;
      std::vector<double> sc_new;
      std::vector<int64_t> in_new;
      for (int64_t c = 0; c < C && static_cast<int64_t>(rows.size()) < K; ++c) {
        double s = ts[a * C + c];
        if (s == kNegInf) break;
        int64_t beam = ti[a * C + c] / V, tok = token_of(ti[a * C + c] % V);
        int64_t row = a * R + beam;
        if (tok == eos) {
          if (c < K) {  // only EOS among the top K candidates ends a hypothesis (as fairseq)
            Hypothesis h;
            h.tokens = seqs[row];
            h.logprob = s;
            h.score = s / std::pow(static_cast<double>(h.tokens.size() + 1), opt.lenpen);
            finished[b].push_back(std::move(h));
          }
          continue;
        }
        if (at_limit) {
          // Forced end: the hypothesis ends here with </s>'s probability.
          Hypothesis h;
          h.tokens = seqs[row];
          h.tokens.push_back(tok);
          h.logprob = s;
          h.score = s / std::pow(static_cast<double>(h.tokens.size() + 1), opt.lenpen);
          finished[b].push_back(std::move(h));
          continue;
        }
        rows.push_back(row);
        auto sq = seqs[row];
        sq.push_back(tok);
        s_new.push_back(std::move(sq));
        sc_new.push_back(s);
        in_new.push_back(tok);
      }
      const bool done = static_cast<int64_t>(finished[b].size()) >= K || at_limit || rows.empty();
      if (done) continue;
      while (static_cast<int64_t>(rows.size()) < K) {  // pad with dead beams
        rows.push_back(rows.back());
        s_new.push_back(s_new.back());
        sc_new.push_back(kNegInf);
        in_new.push_back(in_new.back());
      }
      next_active.push_back(b);
      for (int64_t k = 0; k < K; ++k) {
        keep_rows.push_back(rows[k]);
        next_seqs.push_back(std::move(s_new[k]));
        next_scores.push_back(sc_new[k]);
        next_input.push_back(in_new[k]);
      }
    }
    // Blocks of K rows stay with their sentence; if no sentence finished, each new row has the
    // same source as the old row at its index and the source-side caches need no reordering.
    const bool same_sources = next_active.size() == active.size();
    active = std::move(next_active);
    if (active.empty()) break;
    state.select(torch::tensor(keep_rows, torch::kLong), same_sources, R == K ? 0 : K);  // R rows -> K
    R = K;
    seqs = std::move(next_seqs);
    scores = std::move(next_scores);
    input = std::move(next_input);
  }
  for (auto& f : finished) {
    std::stable_sort(f.begin(), f.end(), [](const Hypothesis& x, const Hypothesis& y) {
      return x.score > y.score;
    });
    if (static_cast<int>(f.size()) > opt.nbest) f.resize(opt.nbest);
  }
  return finished;
}

}  // namespace strata::nmt
