#include "nmt/train/trainer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "data/data_config.h"
#include "data/error.h"
#include "data/langs.h"
#include "data/prepare.h"
#include "data/spm.h"
#include "nmt/decode/translator.h"
#include "nmt/eval/metrics.h"
#include "nmt/model/checkpoint.h"
#include "nmt/train/batcher.h"
#include "nmt/train/loss.h"
#include "nmt/util/system.h"

namespace fs = std::filesystem;

namespace strata::nmt {

namespace {

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

std::string hms(double s) {
  char buf[32];
  int t = static_cast<int>(s);
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%dh%02dm", t / 3600, t / 60 % 60);
  else std::snprintf(buf, sizeof buf, "%dm%02ds", t / 60, t % 60);
  return buf;
}

torch::Tensor get_rng_state() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_rng_state(const torch::Tensor& s) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(s);
}

struct ValidSet {
  struct Dir {
    int src, tgt;
    std::vector<uint32_t> rows;
  };
  std::vector<Dir> dirs;
};

// The first `n` valid rows of each direction (the same rows for every direction when complete).
ValidSet make_valid_set(const ParallelData& valid, int n) {
  ValidSet v;
  for (const auto& d : valid.directions()) {
    ValidSet::Dir vd{d.src, d.tgt, {}};
    for (size_t i = 0; i < d.rows.size() && static_cast<int>(i) < n; ++i) vd.rows.push_back(d.rows[i]);
    v.dirs.push_back(std::move(vd));
  }
  return v;
}

}  // namespace

void train(const Config& cfg, const TrainOptions& opt) {
  const auto& tc = cfg.train;
  int threads = set_threads(tc.threads);
  data::DataConfig dcfg = data::load_data_config(tc.data, {});
  const std::string spm_path = dcfg.out_dir + "/spm.model";
  if (!fs::exists(spm_path))
    throw Error(spm_path + ": no SentencePiece model (run 'strata data spm --config " + tc.data + "')");
  data::Tokenizer tok(spm_path);
  std::vector<std::string> langs, valid_langs;
  auto train_rows = data::read_split(dcfg.out_dir + "/train.tsv", &langs);
  auto valid_rows = data::read_split(dcfg.out_dir + "/valid.tsv", &valid_langs);
  std::vector<int> tag_ids;
  for (const auto& l : langs) {
    int id = tok.piece_id(data::lang_tag(l));
    if (id < 0) throw Error(spm_path + ": no language tag " + data::lang_tag(l) + " in the vocabulary");
    tag_ids.push_back(id);
  }
  std::fprintf(stderr, "[train] tokenising %zu training rows (%zu languages)\n", train_rows.size(),
               langs.size());
  ParallelData train_data(train_rows, langs, tok, tc.max_len);
  ParallelData valid_data(valid_rows, valid_langs, tok, cfg.model.max_positions - 2);
  train_rows.clear();
  ValidSet vset = make_valid_set(valid_data, tc.valid_sentences);

  fs::create_directories(tc.out_dir);
  const std::string last = tc.out_dir + "/last.pt";
  torch::manual_seed(tc.seed);
  Transformer model = build_model(cfg.model, tok.vocab_size());
  TrainerState state;
  bool resumed = false;
  if (fs::exists(last) && !opt.restart) {
    Checkpoint ck = load_checkpoint(last);
    if (to_yaml(Config{ck.config.model, {}, {}}) != to_yaml(Config{cfg.model, {}, {}}))
      throw Error(last + ": the checkpoint's model config differs from this config "
                  "(use another train.out_dir, or --restart to start over)");
    if (ck.langs != langs) throw Error(last + ": the checkpoint's languages differ from the data's");
    if (!ck.trainer) throw Error(last + ": not a training checkpoint");
    model = ck.model;
    state = *ck.trainer;
    resumed = true;
  }
  torch::optim::Adam optimizer(model->parameters(),
                               torch::optim::AdamOptions(tc.lr)
                                   .betas({tc.adam_beta1, tc.adam_beta2})
                                   .eps(tc.adam_eps)
                                   .weight_decay(tc.weight_decay));
  BatchSampler sampler(train_data, tc.temperature, tc.max_tokens, tc.seed);
  if (resumed) {
    load_optimizer_state(last, optimizer);
    sampler.seek({state.pool, state.batch});
    set_rng_state(state.rng_state);
    std::fprintf(stderr, "[train] resumed from %s at update %lld\n", last.c_str(),
                 static_cast<long long>(state.updates));
  }
  const std::string spm_bytes = tok.serialized();
  const int64_t n_params = count_parameters(*model);
  std::fprintf(stderr,
               "[train] %lld parameters, %zu directions, %lld pairs skipped as longer than %d "
               "tokens, %d threads\n",
               static_cast<long long>(n_params), train_data.directions().size(),
               static_cast<long long>(train_data.skipped_long()), tc.max_len, threads);

  std::ofstream log(tc.out_dir + "/train.jsonl", std::ios::app);
  {
    nlohmann::json j = {{"event", "start"},       {"update", state.updates},
                        {"resumed", resumed},     {"parameters", n_params},
                        {"config", to_yaml(cfg)}, {"threads", threads}};
    log << j.dump() << std::endl;
  }

  auto save = [&](bool best) {
    state.pool = sampler.position().pool;
    state.batch = sampler.position().batch;
    state.rng_state = get_rng_state();
    save_checkpoint(last, cfg, langs, spm_bytes, model, &optimizer, &state);
    if (tc.keep_last > 0) {
      std::string numbered = tc.out_dir + "/checkpoint_" + std::to_string(state.updates) + ".pt";
      fs::copy_file(last, numbered + ".tmp", fs::copy_options::overwrite_existing);
      fs::rename(numbered + ".tmp", numbered);
      std::vector<std::pair<int64_t, fs::path>> old;
      for (const auto& e : fs::directory_iterator(tc.out_dir)) {
        std::string n = e.path().filename().string();
        if (n.rfind("checkpoint_", 0) == 0 && n.size() > 14 && n.substr(n.size() - 3) == ".pt")
          old.push_back({std::stoll(n.substr(11, n.size() - 14)), e.path()});
      }
      std::sort(old.begin(), old.end());
      for (size_t i = 0; i + tc.keep_last < old.size(); ++i) fs::remove(old[i].second);
    }
    if (best) {
      // The best model without optimizer state: what translate/eval use.
      save_checkpoint(tc.out_dir + "/best.pt", cfg, langs, spm_bytes, model, nullptr, nullptr);
    }
  };

  auto validate = [&]() {
    double t0 = now_s();
    model->eval();
    torch::NoGradGuard no_grad;
    SearchOptions so = search_options(cfg.decode, tok, langs);
    so.beam = 1;
    so.nbest = 1;
    // All directions in mixed batches (each sentence carries its own target tag), sorted by
    // source length: a few large batches instead of one small batch per direction.
    std::vector<Example> all;
    for (size_t d = 0; d < vset.dirs.size(); ++d)
      for (auto r : vset.dirs[d].rows) all.push_back({r, vset.dirs[d].src, vset.dirs[d].tgt});
    std::stable_sort(all.begin(), all.end(), [&](const Example& a, const Example& b) {
      return valid_data.ids(a.row, a.src).size() < valid_data.ids(b.row, b.src).size();
    });
    double loss_sum = 0, tokens = 0;
    std::map<std::pair<int, int>, std::pair<std::vector<std::string>, std::vector<std::string>>> out;
    // Expert usage per language: usage[layer][language][expert] = first-choice count. Encoder
    // layers count tokens by source language, decoder layers by target language.
    std::vector<std::vector<std::vector<int64_t>>> usage;
    std::vector<std::string> layer_names;
    for (size_t s = 0; s < all.size(); s += 64) {
      std::vector<Example> part(all.begin() + s, all.begin() + std::min(all.size(), s + 64));
      Batch b = make_batch(valid_data, part, tag_ids, cfg.model.decoder_lang_tag);
      MoeAux aux;
      auto logits = model->forward(b.src, b.prev, &aux);
      if (aux.layers > 0) {
        const int64_t E = cfg.model.moe.num_experts, L = static_cast<int64_t>(valid_langs.size());
        if (usage.empty()) {
          usage.assign(aux.layers, std::vector<std::vector<int64_t>>(L, std::vector<int64_t>(E)));
          const auto& mo = model->options.moe();
          for (int64_t i = 0; i < model->options.encoder_layers(); ++i)
            if (mo.is_sparse(i)) layer_names.push_back("enc" + std::to_string(i));
          for (int64_t i = 0; i < model->options.decoder_layers(); ++i)
            if (mo.is_sparse(i)) layer_names.push_back("dec" + std::to_string(i));
        }
        for (size_t layer = 0; layer < aux.top1.size(); ++layer) {
          const bool enc = layer_names[layer][0] == 'e';
          const int64_t T = enc ? b.src.size(1) : b.prev.size(1);
          auto t1 = aux.top1[layer].contiguous();
          const int64_t* p = t1.data_ptr<int64_t>();
          for (int64_t i = 0; i < t1.numel(); ++i)
            if (p[i] >= 0) {
              const Example& ex = part[i / T];
              usage[layer][enc ? ex.src : ex.tgt][p[i]]++;
            }
        }
      }
      auto lp = torch::log_softmax(logits, -1).view({-1, logits.size(-1)});
      loss_sum += label_smoothed_nll(lp, b.target.view(-1), 0.0, data::kPadId).nll.item<double>();
      tokens += b.target_tokens;
      auto first_col = b.prev.select(1, 0).contiguous();
      std::vector<int64_t> first(first_col.data_ptr<int64_t>(),
                                 first_col.data_ptr<int64_t>() + first_col.numel());
      auto hyps = beam_search(model, b.src, first, data::kEosId, so);
      for (size_t i = 0; i < part.size(); ++i) {
        std::vector<int> t;
        if (!hyps[i].empty()) t.assign(hyps[i][0].tokens.begin(), hyps[i][0].tokens.end());
        auto& slot = out[{part[i].src, part[i].tgt}];
        slot.first.push_back(tok.decode(t));
        slot.second.push_back(tok.decode(valid_data.ids(part[i].row, part[i].tgt)));
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
    model->train();
    double loss = tokens > 0 ? loss_sum / tokens : 0;
    size_t nd = std::max<size_t>(out.size(), 1);
    std::fprintf(stderr,
                 "[valid] update %lld | nll %.3f | ppl %.1f | BLEU %.2f | chrF %.2f (averages over "
                 "%zu directions, %d sentences each) | %.0fs\n",
                 static_cast<long long>(state.updates), loss, std::exp(loss), bleu_sum / nd,
                 chrf_sum / nd, out.size(), tc.valid_sentences, now_s() - t0);
    nlohmann::json j = {{"event", "valid"},      {"update", state.updates},
                        {"nll", loss},           {"avg_bleu", bleu_sum / nd},
                        {"avg_chrf", chrf_sum / nd}, {"directions", dirs}};
    for (size_t layer = 0; layer < usage.size(); ++layer)
      for (size_t l = 0; l < valid_langs.size(); ++l)
        j["expert_usage"][layer_names[layer]][valid_langs[l]] = usage[layer][l];
    log << j.dump() << std::endl;
    return loss;
  };

  model->train();
  const double t_start = now_s() - state.elapsed_s;
  double t_log = now_s();
  int64_t tokens_since_log = 0;
  double loss_acc = 0, nll_acc = 0, tok_acc = 0, moe_aux_acc = 0;
  int64_t moe_batches = 0;
  MoeAux last_aux;  // statistics of the last batch with MoE layers (for the log)
  bool stop = false;
  while (!stop) {
    if (tc.max_updates > 0 && state.updates >= tc.max_updates) break;
    const double lr = inverse_sqrt_lr(state.updates + 1, tc.lr, tc.warmup, tc.warmup_init_lr);
    for (auto& group : optimizer.param_groups())
      static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
    std::vector<Batch> batches;
    int64_t update_tokens = 0;
    for (int k = 0; k < tc.update_freq; ++k) {
      batches.push_back(make_batch(train_data, sampler.next(), tag_ids, cfg.model.decoder_lang_tag));
      update_tokens += batches.back().target_tokens;
    }
    optimizer.zero_grad();
    for (auto& b : batches) {
      MoeAux aux;
      auto logits = model->forward(b.src, b.prev, &aux);  // [B, T, V]
      auto lp = torch::log_softmax(logits, -1).view({-1, logits.size(-1)});
      auto l = label_smoothed_nll(lp, b.target.view(-1), tc.label_smoothing, data::kPadId);
      auto loss = l.loss / static_cast<double>(update_tokens);
      if (aux.layers > 0) {
        // Router losses: weights times the mean over MoE layers, once per update.
        const auto& mc = cfg.model.moe;
        auto router_loss = (mc.aux_loss_weight * aux.aux_loss + mc.z_loss_weight * aux.z_loss) /
                           static_cast<double>(aux.layers * tc.update_freq);
        loss = loss + router_loss;
        moe_aux_acc += aux.aux_loss.item<double>() / aux.layers;
        moe_batches++;
        last_aux = std::move(aux);
      }
      loss.backward();
      loss_acc += l.loss.item<double>();
      nll_acc += l.nll.item<double>();
      tok_acc += b.target_tokens;
      tokens_since_log += b.src.numel() + b.prev.numel();
    }
    if (tc.clip_norm > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), tc.clip_norm);
    optimizer.step();
    state.updates++;
    state.elapsed_s = now_s() - t_start;

    if (state.updates % tc.log_every == 0) {
      double dt = now_s() - t_log;
      double tps = tokens_since_log / std::max(dt, 1e-9);
      double eta = -1;
      if (tc.max_updates > 0)
        eta = state.elapsed_s / state.updates * (tc.max_updates - state.updates);
      if (tc.max_minutes > 0) {
        double left = tc.max_minutes * 60 - state.elapsed_s;
        eta = eta < 0 ? left : std::min(eta, left);
      }
      std::fprintf(stderr,
                   "[train] update %lld | loss %.3f | nll %.3f | lr %.2e | %.0f tok/s | %s | ETA %s\n",
                   static_cast<long long>(state.updates), loss_acc / tok_acc, nll_acc / tok_acc, lr,
                   tps, hms(state.elapsed_s).c_str(), eta < 0 ? "-" : hms(std::max(eta, 0.0)).c_str());
      nlohmann::json j = {{"event", "train"},
                          {"update", state.updates},
                          {"loss", loss_acc / tok_acc},
                          {"nll", nll_acc / tok_acc},
                          {"lr", lr},
                          {"tokens_per_s", tps},
                          {"elapsed_s", state.elapsed_s}};
      if (moe_batches > 0) {
        nlohmann::json layers = nlohmann::json::array();
        for (size_t i = 0; i < last_aux.load.size(); ++i) {
          auto load = last_aux.load[i].to(torch::kDouble).contiguous();
          std::vector<double> v(load.data_ptr<double>(), load.data_ptr<double>() + load.numel());
          layers.push_back({{"load", v}, {"drop_rate", last_aux.drop_rate[i]}});
        }
        j["moe"] = {{"aux_loss", moe_aux_acc / moe_batches}, {"layers", layers}};
        std::fprintf(stderr, "[train]   moe: aux %.4f, drop rate %.3f (last batch, layer 0)\n",
                     moe_aux_acc / moe_batches, last_aux.drop_rate.empty() ? 0.0 : last_aux.drop_rate[0]);
      }
      log << j.dump() << std::endl;
      moe_aux_acc = 0;
      moe_batches = 0;
      t_log = now_s();
      tokens_since_log = 0;
      loss_acc = nll_acc = tok_acc = 0;
    }
    bool out_of_time = tc.max_minutes > 0 && state.elapsed_s >= tc.max_minutes * 60;
    bool last_update = tc.max_updates > 0 && state.updates >= tc.max_updates;
    if (state.updates % tc.valid_every == 0 || out_of_time || last_update) {
      double vl = validate();
      bool best = vl < state.best_valid_loss;
      if (best) {
        state.best_valid_loss = vl;
        state.bad_validations = 0;
      } else {
        state.bad_validations++;
      }
      save(best);
      if (tc.patience > 0 && state.bad_validations >= tc.patience) {
        std::fprintf(stderr, "[train] early stop: %d validations without improvement\n", tc.patience);
        stop = true;
      }
      if (out_of_time) stop = true;
    }
  }
  std::fprintf(stderr, "[train] done: %lld updates in %s; best valid nll %.3f; %s/best.pt\n",
               static_cast<long long>(state.updates), hms(state.elapsed_s).c_str(),
               state.best_valid_loss, tc.out_dir.c_str());
  log << nlohmann::json({{"event", "end"}, {"update", state.updates}}).dump() << std::endl;
}

}  // namespace strata::nmt
