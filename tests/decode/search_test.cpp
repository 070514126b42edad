// nmt/decode/search: the repetition guards (no_repeat_ngram_size, repetition_penalty) against a
// naive beam search that recomputes the whole decoder every step and checks the constraint by
// brute force over the full history; the constraint on outputs; off = the unguarded search, bit
// for bit; batch invariance.
#include "nmt/decode/search.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <set>
#include <tuple>

#include "kernels/linear.h"
#include "nmt/model/transformer.h"
#include "tests/torch_test_util.h"

using namespace strata;
using namespace strata::nmt;
using test::pad_rows;

namespace {

constexpr int64_t kVocab = 40, kBos = 2, kEos = 3;

Transformer tiny_model(uint64_t seed = 7) {
  torch::manual_seed(seed);
  auto m = Transformer(TransformerOptions(kVocab).d_model(32).heads(4).ffn(64).encoder_layers(2)
                           .decoder_layers(2).dropout(0.0).max_positions(64));
  m->eval();
  return m;
}

std::vector<std::vector<int64_t>> sources(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::vector<int64_t>> out;
  for (int i = 0; i < n; ++i) out.push_back(test::random_tokens(3 + i % 6, kVocab, rng));
  return out;
}

SearchOptions options(int beam, int ngram, double penalty) {
  SearchOptions o;
  o.beam = beam;
  o.nbest = beam;
  o.max_len_a = 1.5;
  o.max_len_b = 6;
  o.banned = {0, kBos};
  o.no_repeat_ngram_size = ngram;
  o.repetition_penalty = penalty;
  return o;
}

// True when some n-gram of size n occurs twice in s (every pair of positions compared).
bool has_repeated_ngram(const std::vector<int64_t>& s, int n) {
  const int64_t L = static_cast<int64_t>(s.size());
  for (int64_t i = 0; i + n <= L; ++i)
    for (int64_t j = i + 1; j + n <= L; ++j)
      if (std::equal(s.begin() + i, s.begin() + i + n, s.begin() + j)) return true;
  return false;
}

struct NaiveHyp {
  std::vector<int64_t> tokens;
  double logprob = 0;
};

// Log-probabilities of the next token after `tokens` by full recomputation, with the guards
// written out: the penalty on each distinct earlier token's logit, then every token whose
// appending would make an n-gram occur twice banned. A shortlist (o.output): the tokens outside
// it get -inf before the log-softmax, which so normalises over the shortlist.
torch::Tensor naive_lprobs(Transformer& m, const torch::Tensor& src,
                           const std::vector<int64_t>& tokens, const SearchOptions& o) {
  std::vector<int64_t> prev = {kBos};
  prev.insert(prev.end(), tokens.begin(), tokens.end());
  auto z = m->forward(src, pad_rows({prev}))[0][static_cast<int64_t>(tokens.size())].clone();
  const float theta = static_cast<float>(o.repetition_penalty);
  for (int64_t u : std::set<int64_t>(tokens.begin(), tokens.end())) {
    float v = z[u].item<float>();
    z[u] = v < 0 ? v * theta : v / theta;
  }
  if (o.output) {
    auto keep = torch::zeros({kVocab}, torch::kBool);
    keep.index_fill_(0, o.output->ids, true);
    z.masked_fill_(keep.logical_not(), -INFINITY);
  }
  auto lp = torch::log_softmax(z, -1);
  for (int64_t b : o.banned) lp[b] = -INFINITY;
  if (o.no_repeat_ngram_size > 0)
    for (int64_t v = 0; v < kVocab; ++v) {
      auto s = tokens;
      s.push_back(v);
      if (has_repeated_ngram(s, o.no_repeat_ngram_size)) lp[v] = -INFINITY;
    }
  return lp;
}

// Beam search on one unpadded source [1, S] with search.cpp's rules (top 2K candidates, EOS ends a
// hypothesis only among the top K, forced end at the length limit), one hypothesis at a time.
std::vector<NaiveHyp> naive_beam(Transformer& m, const std::vector<int64_t>& src_row,
                                 const SearchOptions& o) {
  torch::NoGradGuard ng;
  auto src = pad_rows({src_row});
  const int64_t K = o.beam;
  const int64_t max_len = std::min<int64_t>(
      static_cast<int64_t>(o.max_len_a * src_row.size() + o.max_len_b), 63);
  std::vector<NaiveHyp> live = {NaiveHyp{}}, finished;
  for (int64_t t = 0;; ++t) {
    const bool at_limit = t + 1 >= max_len;
    std::vector<std::tuple<double, size_t, int64_t>> cand;  // (score, hypothesis, token)
    for (size_t h = 0; h < live.size(); ++h) {
      auto lp = naive_lprobs(m, src, live[h].tokens, o);
      for (int64_t v = 0; v < kVocab; ++v) {
        double s = lp[v].item<double>();
        if (std::isfinite(s)) cand.emplace_back(live[h].logprob + s, h, v);
      }
    }
    std::stable_sort(cand.begin(), cand.end(),
                     [](const auto& x, const auto& y) { return std::get<0>(x) > std::get<0>(y); });
    cand.resize(std::min<size_t>(cand.size(), 2 * K));
    std::vector<NaiveHyp> next;
    for (size_t c = 0; c < cand.size() && static_cast<int64_t>(next.size()) < K; ++c) {
      auto [s, h, v] = cand[c];
      NaiveHyp n{live[h].tokens, s};
      if (v == kEos) {
        if (static_cast<int64_t>(c) < K) finished.push_back(n);
        continue;
      }
      n.tokens.push_back(v);
      (at_limit ? finished : next).push_back(n);
    }
    if (static_cast<int64_t>(finished.size()) >= K || at_limit || next.empty()) break;
    live = std::move(next);
  }
  auto score = [&](const NaiveHyp& h) {
    return h.logprob / std::pow(static_cast<double>(h.tokens.size() + 1), o.lenpen);
  };
  std::stable_sort(finished.begin(), finished.end(),
                   [&](const NaiveHyp& x, const NaiveHyp& y) { return score(x) > score(y); });
  if (static_cast<int64_t>(finished.size()) > o.nbest) finished.resize(o.nbest);
  return finished;
}

std::vector<std::vector<Hypothesis>> search(Transformer& m,
                                            const std::vector<std::vector<int64_t>>& src,
                                            const SearchOptions& o) {
  return beam_search(m, pad_rows(src), std::vector<int64_t>(src.size(), kBos), kEos, o);
}

}  // namespace

TEST(SearchTest, GuardsMatchNaiveBeamSearch) {
  auto m = tiny_model();
  const auto src = sources(4, 1);
  for (int beam : {1, 3})
    for (auto [ngram, penalty] : {std::pair{2, 1.0}, std::pair{0, 1.5}, std::pair{3, 1.3},
                                  std::pair{1, 1.0}, std::pair{0, 1.0}}) {
      const auto o = options(beam, ngram, penalty);
      const auto got = search(m, src, o);
      for (size_t b = 0; b < src.size(); ++b) {
        const auto want = naive_beam(m, src[b], o);
        const std::string what = "beam " + std::to_string(beam) + " ngram " +
                                 std::to_string(ngram) + " penalty " + std::to_string(penalty) +
                                 " sentence " + std::to_string(b);
        ASSERT_EQ(got[b].size(), want.size()) << what;
        for (size_t k = 0; k < want.size(); ++k) {
          EXPECT_EQ(got[b][k].tokens, want[k].tokens) << what << " hypothesis " << k;
          EXPECT_NEAR(got[b][k].logprob, want[k].logprob, 1e-3) << what << " hypothesis " << k;
        }
      }
    }
}

TEST(SearchTest, OutputsHaveNoRepeatedNgram) {
  auto m = tiny_model(11);
  const auto src = sources(8, 2);
  for (int beam : {1, 4}) {
    auto o = options(beam, 0, 1.0);
    o.max_len_a = 3;  // long outputs: the untrained model loops
    int repeats = 0;
    for (const auto& hyps : search(m, src, o))
      for (const auto& h : hyps) repeats += has_repeated_ngram(h.tokens, 2);
    EXPECT_GT(repeats, 0) << "beam " << beam << ": the unguarded search should repeat bigrams";
    for (int n : {1, 2, 3, 4}) {
      o.no_repeat_ngram_size = n;
      for (const auto& hyps : search(m, src, o)) {
        ASSERT_FALSE(hyps.empty());
        for (const auto& h : hyps)
          EXPECT_FALSE(has_repeated_ngram(h.tokens, n)) << "beam " << beam << " n " << n;
      }
    }
  }
}

TEST(SearchTest, GuardsOffAreTheUnguardedSearchBitForBit) {
  auto m = tiny_model();
  const auto src = sources(5, 3);
  // The logits path (taken when the penalty is on) is the same computation as step().
  {
    torch::NoGradGuard ng;
    auto s1 = m->start(m->encode(pad_rows(src)));
    auto s2 = m->start(m->encode(pad_rows(src)));
    auto tok = torch::full({static_cast<int64_t>(src.size())}, kBos, torch::kLong);
    for (int t = 0; t < 3; ++t) {
      auto lp = m->step(tok, s1);
      EXPECT_TRUE(torch::equal(torch::log_softmax(m->step_logits(tok, s2), -1), lp)) << t;
      tok = lp.argmax(-1);
    }
  }
  for (int beam : {1, 4}) {
    const auto off = search(m, src, options(beam, 0, 1.0));
    // An n-gram size longer than any output never binds.
    const auto never = search(m, src, options(beam, 64, 1.0));
    for (size_t b = 0; b < src.size(); ++b) {
      ASSERT_EQ(off[b].size(), never[b].size());
      for (size_t k = 0; k < off[b].size(); ++k) {
        EXPECT_EQ(off[b][k].tokens, never[b][k].tokens);
        EXPECT_EQ(off[b][k].score, never[b][k].score);
        EXPECT_EQ(off[b][k].logprob, never[b][k].logprob);
      }
    }
  }
}

TEST(SearchTest, GuardsAreBatchInvariant) {
  auto m = tiny_model(5);
  const auto src = sources(5, 4);
  for (int beam : {1, 3}) {
    auto o = options(beam, 3, 1.3);
    o.max_len_a = 3;
    const auto both = search(m, src, o);
    for (size_t b = 0; b < src.size(); ++b) {
      const auto alone = search(m, {src[b]}, o);
      ASSERT_EQ(both[b].size(), alone[0].size()) << "sentence " << b;
      for (size_t k = 0; k < alone[0].size(); ++k) {
        EXPECT_EQ(both[b][k].tokens, alone[0][k].tokens) << "beam " << beam << " sentence " << b;
        EXPECT_NEAR(both[b][k].score, alone[0][k].score, 1e-4);
      }
    }
  }
}

// Compute types (kernels/precision.h): with the weights packed, a sentence alone decodes as in a
// batch of 32, token for token, and incremental decoding equals full recomputation. int8 rows are
// quantized one by one and summed exactly, so both hold up to the attention's fp32 rounding.
// bfloat16 (checked where the CPU has native bf16) rounds the attention products' outputs to bf16
// in full recomputation and in the padded encoder, while one-query decoding attends in fp32: the
// same tokens, scores and log-probabilities equal to bf16 rounding (measured on Zen 4: scores
// within 1.1e-3 for bfloat16 and 5.7e-3 for int8_bfloat16, step log-probabilities within 0.015
// and 0.033; a wrong cache or position moves them by more than 1).
TEST(SearchTest, EveryComputeTypeIsBatchInvariantAndIncremental) {
  std::vector<kernels::ComputeType> types = {kernels::ComputeType::kFloat32, kernels::ComputeType::kInt8};
  if (kernels::bf16_is_fast())
    types.insert(types.end(), {kernels::ComputeType::kBfloat16, kernels::ComputeType::kInt8Bfloat16});
  for (auto type : types) {
    const bool bf16 = kernels::precision_of(type) == kernels::Precision::kBf16;
    const double score_tol = bf16 ? 2e-2 : 1e-4, step_atol = bf16 ? 0.1 : 1e-4, step_rtol = bf16 ? 0 : 1e-3;
    auto m = tiny_model(9);
    kernels::pack_weights(*m, type);
    kernels::ComputeTypeGuard g(type);
    const auto src = sources(32, 7);
    for (int beam : {1, 4}) {
      auto o = options(beam, 0, 1.0);
      o.nbest = 1;
      const auto all = search(m, src, o);
      for (size_t b : {0, 5, 17, 31}) {
        const auto alone = search(m, {src[b]}, o);
        EXPECT_EQ(all[b][0].tokens, alone[0][0].tokens)
            << enum_name(kernels::names_of(type), type) << " beam " << beam << " sentence " << b;
        EXPECT_NEAR(all[b][0].score, alone[0][0].score, score_tol);
      }
    }
    torch::NoGradGuard ng;
    auto s = pad_rows({src[3], src[8]}), prev = pad_rows({src[4], src[9]}).slice(1, 0, 5);
    auto full = torch::log_softmax(m->forward(s, prev), -1);  // [2, 5, V]
    auto state = m->start(m->encode(s));
    for (int64_t t = 0; t < prev.size(1); ++t)
      EXPECT_TRUE(torch::allclose(m->step(prev.select(1, t), state), full.select(1, t), step_rtol, step_atol))
          << enum_name(kernels::names_of(type), type) << " step " << t;
  }
}

// Vocabulary shortlists (data/shortlist.h): the search over a shortlist is the naive search whose
// log-softmax runs over the shortlist's pieces only, guards included; nothing outside it is
// generated; the whole vocabulary as a shortlist is the full search bit for bit; in int8 the
// shortlist's logits are exactly the full output layer's columns; batch invariance holds.
namespace {
std::shared_ptr<const OutputRows> rows_of(Transformer& m, const std::vector<int64_t>& ids) {
  return std::make_shared<const OutputRows>(m->output_rows(torch::tensor(ids, torch::kLong)));
}
const std::vector<int64_t> kList = {1, kEos, 4, 5, 7, 8, 11, 12, 13, 17, 20, 21, 25, 30, 31, 39};
}  // namespace

TEST(SearchTest, ShortlistMatchesNaiveSearchOverItsPieces) {
  auto m = tiny_model(13);
  const auto src = sources(4, 21);
  for (int beam : {1, 3})
    for (auto [ngram, penalty] : {std::pair{0, 1.0}, std::pair{2, 1.0}, std::pair{0, 1.5}}) {
      auto o = options(beam, ngram, penalty);
      o.output = rows_of(m, kList);
      const auto got = search(m, src, o);
      for (size_t b = 0; b < src.size(); ++b) {
        const auto want = naive_beam(m, src[b], o);
        const std::string what = "beam " + std::to_string(beam) + " ngram " + std::to_string(ngram) +
                                 " penalty " + std::to_string(penalty) + " sentence " + std::to_string(b);
        ASSERT_EQ(got[b].size(), want.size()) << what;
        for (size_t k = 0; k < want.size(); ++k) {
          EXPECT_EQ(got[b][k].tokens, want[k].tokens) << what << " hypothesis " << k;
          EXPECT_NEAR(got[b][k].logprob, want[k].logprob, 1e-3) << what << " hypothesis " << k;
          for (int64_t t : got[b][k].tokens)
            EXPECT_TRUE(std::binary_search(kList.begin(), kList.end(), t)) << what << ": token " << t;
        }
      }
    }
}

TEST(SearchTest, WholeVocabularyShortlistIsTheFullSearchBitForBit) {
  std::vector<int64_t> all(kVocab);
  std::iota(all.begin(), all.end(), 0);
  for (auto type : {kernels::ComputeType::kFloat32, kernels::ComputeType::kInt8}) {
    auto m = tiny_model(17);
    kernels::pack_weights(*m, type);
    kernels::ComputeTypeGuard g(type);
    const auto src = sources(6, 22);
    for (int beam : {1, 4}) {
      auto o = options(beam, 0, 1.2);
      const auto full = search(m, src, o);
      o.output = rows_of(m, all);
      const auto listed = search(m, src, o);
      for (size_t b = 0; b < src.size(); ++b) {
        ASSERT_EQ(full[b].size(), listed[b].size());
        for (size_t k = 0; k < full[b].size(); ++k) {
          EXPECT_EQ(full[b][k].tokens, listed[b][k].tokens);
          EXPECT_EQ(full[b][k].score, listed[b][k].score)
              << enum_name(kernels::names_of(type), type) << " beam " << beam;
        }
      }
    }
  }
}

TEST(SearchTest, ShortlistLogitsAreTheOutputLayersColumnsAndBatchInvariant) {
  std::vector<kernels::ComputeType> types = {kernels::ComputeType::kFloat32, kernels::ComputeType::kInt8};
  if (kernels::bf16_is_fast()) types.push_back(kernels::ComputeType::kBfloat16);
  const auto ids = torch::tensor(kList, torch::kLong);
  for (auto type : types) {
    const std::string name = enum_name(kernels::names_of(type), type);
    auto m = tiny_model(19);
    kernels::pack_weights(*m, type);
    kernels::ComputeTypeGuard g(type);
    const auto rows = rows_of(m, kList);  // with gradients on, as a translator makes them
    torch::NoGradGuard ng;
    const auto x = torch::randn({7, 32});
    const auto want = m->project(x).index_select(1, ids);
    const auto got = rows->project(x);
    EXPECT_EQ(rows->packed.defined(), type != kernels::ComputeType::kFloat32) << name;
    if (type == kernels::ComputeType::kInt8)
      EXPECT_TRUE(torch::equal(got, want)) << name << ": the same integers and scales";
    else
      EXPECT_TRUE(torch::allclose(got, want, 1e-4, 1e-4)) << name;
    const auto src = sources(32, 23);
    for (int beam : {1, 4}) {
      auto o = options(beam, 0, 1.0);
      o.nbest = 1;
      o.output = rows_of(m, kList);
      const auto all = search(m, src, o);
      for (size_t b : {0, 9, 31}) {
        const auto alone = search(m, {src[b]}, o);
        EXPECT_EQ(all[b][0].tokens, alone[0][0].tokens) << name << " beam " << beam << " sentence " << b;
      }
    }
  }
}
