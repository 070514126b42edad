// Validator (see validation.h).
#include "nmt/train/validation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "nmt/decode/translator.h"
#include "nmt/eval/metrics.h"
#include "nmt/train/loss.h"

namespace strata::nmt {

namespace {

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// The nll summed over the batch's target tokens of `logits` [B, T, V].
double nll_sum(const torch::Tensor& logits, const Batch& b) {
  auto lp = torch::log_softmax(logits, -1).view({-1, logits.size(-1)});
  return label_smoothed_nll(lp, b.target.view(-1).to(lp.device()), 0.0, data::kPadId)
      .nll.item<double>();
}

}  // namespace

Validator::Validator(const Config& cfg, const data::Tokenizer& tok, const ParallelData& valid,
                     const LangTags& train_tags)
    : cfg_(cfg),
      tok_(tok),
      valid_(valid),
      tags_(tok, valid.langs(), cfg.model.decoder_lang_tag),
      search_(search_options(cfg.decode, train_tags)) {
  search_.beam = 1;
  search_.nbest = 1;
  // The first valid_sentences rows of each direction (the same rows for every direction when
  // complete), all directions in mixed batches (each sentence carries its own target tag) sorted
  // by source length: a few large batches instead of one small batch per direction.
  for (const auto& d : valid.directions())
    for (size_t i = 0; i < d.rows.size() && static_cast<int>(i) < cfg.train.valid_sentences; ++i)
      examples_.push_back({d.rows[i], d.src, d.tgt});
  std::stable_sort(examples_.begin(), examples_.end(), [&](const Example& a, const Example& b) {
    return valid.ids(a.row, a.src).size() < valid.ids(b.row, b.src).size();
  });
}

double Validator::run(Transformer& vm, const LmsLanguages& lms, int64_t update, std::ostream& log,
                      FILE* progress) const {
  const double t0 = now_s();
  const bool fd = cfg_.train.fuse_distillation;
  const auto& valid_langs = valid_.langs();
  vm->eval();
  torch::NoGradGuard no_grad;
  double loss_sum = 0, tokens = 0, shared_loss_sum = 0;
  std::map<std::pair<int, int>, std::pair<std::vector<std::string>, std::vector<std::string>>> out;
  // Expert usage per language: usage[layer][language][expert] = first-choice count. Encoder
  // layers count tokens by source language, decoder layers by target language.
  std::vector<std::vector<std::vector<int64_t>>> usage;
  std::vector<std::string> layer_names;
  for (size_t s = 0; s < examples_.size(); s += 64) {
    std::vector<Example> part(examples_.begin() + s,
                              examples_.begin() + std::min(examples_.size(), s + 64));
    Batch b = make_batch(valid_, part, tags_);
    MoeAux aux;
    auto logits = vm->forward(b.src, b.prev, &aux, lms.keys(vm, part, true, false));
    if (fd)  // the shared side's loss (what `distill condense` keeps)
      shared_loss_sum +=
          nll_sum(vm->forward(b.src, b.prev, nullptr, lms.keys(vm, part, true, true)), b);
    if (aux.layers > 0) {
      const int64_t E = cfg_.model.moe.num_experts, L = static_cast<int64_t>(valid_langs.size());
      if (usage.empty()) {
        usage.assign(aux.layers, std::vector<std::vector<int64_t>>(L, std::vector<int64_t>(E)));
        const auto& mo = vm->options.moe();
        for (int64_t i = 0; i < vm->options.encoder_layers(); ++i)
          if (mo.is_sparse(i)) layer_names.push_back("enc" + std::to_string(i));
        for (int64_t i = 0; i < vm->options.decoder_layers(); ++i)
          if (mo.is_sparse(i)) layer_names.push_back("dec" + std::to_string(i));
      }
      for (size_t layer = 0; layer < aux.top1.size(); ++layer) {
        const bool enc = layer_names[layer][0] == 'e';
        const int64_t T = enc ? b.src.size(1) : b.prev.size(1);
        auto t1 = aux.top1[layer].cpu().contiguous();
        const int64_t* p = t1.data_ptr<int64_t>();
        for (int64_t i = 0; i < t1.numel(); ++i)
          if (p[i] >= 0) {
            const Example& ex = part[i / T];
            usage[layer][enc ? ex.src : ex.tgt][p[i]]++;
          }
      }
    }
    loss_sum += nll_sum(logits, b);
    tokens += b.target_tokens;
    auto first_col = b.prev.select(1, 0).contiguous();
    std::vector<int64_t> first(first_col.data_ptr<int64_t>(),
                               first_col.data_ptr<int64_t>() + first_col.numel());
    auto hyps =
        beam_search(vm, b.src, first, data::kEosId, search_, lms.keys(vm, part, true, false));
    for (size_t i = 0; i < part.size(); ++i) {
      std::vector<int> t;
      if (!hyps[i].empty()) t.assign(hyps[i][0].tokens.begin(), hyps[i][0].tokens.end());
      auto& slot = out[{part[i].src, part[i].tgt}];
      slot.first.push_back(tok_.decode(t));
      slot.second.push_back(tok_.decode(valid_.ids(part[i].row, part[i].tgt)));
    }
  }
  nlohmann::json dirs = nlohmann::json::object();
  double chrf_sum = 0, bleu_sum = 0;
  for (const auto& [dir, hr] : out) {
    const std::string& tl = valid_langs[dir.second];
    double bleu = eval::corpus_bleu(hr.first, hr.second, eval::default_tokenizer_for(tl)).score;
    double chrf = eval::corpus_chrf(hr.first, hr.second).score;
    dirs[valid_langs[dir.first] + "-" + tl] = {{"bleu", bleu}, {"chrf", chrf}};
    bleu_sum += bleu;
    chrf_sum += chrf;
  }
  vm->train();
  double loss = tokens > 0 ? loss_sum / tokens : 0;
  size_t nd = std::max<size_t>(out.size(), 1);
  std::fprintf(progress,
               "[valid] update %lld | nll %.3f | ppl %.1f | BLEU %.2f | chrF %.2f (averages over "
               "%zu directions, %d sentences each) | %.0fs\n",
               static_cast<long long>(update), loss, std::exp(loss), bleu_sum / nd, chrf_sum / nd,
               out.size(), cfg_.train.valid_sentences, now_s() - t0);
  nlohmann::json j = {{"event", "valid"},          {"update", update},
                      {"nll", loss},               {"avg_bleu", bleu_sum / nd},
                      {"avg_chrf", chrf_sum / nd}, {"directions", dirs}};
  if (fd && tokens > 0) {
    j["nll_shared"] = shared_loss_sum / tokens;
    std::fprintf(progress, "[valid]   shared side (fused LMS slot): nll %.3f\n",
                 shared_loss_sum / tokens);
  }
  for (size_t layer = 0; layer < usage.size(); ++layer)
    for (size_t l = 0; l < valid_langs.size(); ++l)
      j["expert_usage"][layer_names[layer]][valid_langs[l]] = usage[layer][l];
  log << j.dump() << std::endl;
  return loss;
}

}  // namespace strata::nmt
