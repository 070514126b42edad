#include "nmt/train/trainer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
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
#include "moe/expert_parallel.h"
#include "nmt/decode/translator.h"
#include "nmt/eval/metrics.h"
#include "nmt/model/checkpoint.h"
#include "nmt/train/batcher.h"
#include "nmt/train/distributed.h"
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
  // Expert parallelism (world > 1): rank 0 prints, logs, validates for the log and checkpoints.
  const int world = std::max(1, opt.comm.world_size);
  const int rank = world > 1 ? opt.comm.rank : 0;
  const bool chief = rank == 0;
  std::shared_ptr<moe::Communicator> comm;
  std::unique_ptr<FILE, int (*)(FILE*)> null_out(chief ? nullptr : std::fopen("/dev/null", "w"),
                                                 &std::fclose);
  FILE* progress = null_out ? null_out.get() : stderr;  // rank 0 prints
  if (world > 1 && cfg.model.moe.type != "none" && cfg.model.moe.num_experts % world != 0)
    throw Error("model.moe.num_experts=" + std::to_string(cfg.model.moe.num_experts) +
                " is not divisible by the world size " + std::to_string(world));
  int threads = set_threads(tc.threads);
  data::DataConfig dcfg = data::load_data_config(tc.data, {});
  const std::string spm_path = dcfg.out_dir + "/spm.model";
  if (!fs::exists(spm_path))
    throw Error(spm_path + ": no SentencePiece model (run 'strata data spm --config " + tc.data + "')");
  data::Tokenizer tok(spm_path);
  std::vector<std::string> langs, valid_langs;
  auto train_rows = data::read_split(dcfg.out_dir + "/train.tsv", &langs);
  auto valid_rows = data::read_split(dcfg.out_dir + "/valid.tsv", &valid_langs);
  const LangTags tags(tok, langs, cfg.model.decoder_lang_tag);
  tags.require(spm_path);
  const LangTags valid_tags(tok, valid_langs, cfg.model.decoder_lang_tag);
  std::fprintf(progress, "[train] tokenising %zu training rows (%zu languages)\n", train_rows.size(),
               langs.size());
  ParallelData train_data(train_rows, langs, tok, tc.max_len);
  ParallelData valid_data(valid_rows, valid_langs, tok, cfg.model.max_positions - 2);
  train_rows.clear();
  ValidSet vset = make_valid_set(valid_data, tc.valid_sentences);

  fs::create_directories(tc.out_dir);
  const std::string last = tc.out_dir + "/last.pt";
  torch::manual_seed(tc.seed);
  Transformer model = build_model(cfg.model, tok.vocab_size(), static_cast<int64_t>(langs.size()));
  // Expert parallelism: `full` (all experts, initialised as at world 1) serves validation and
  // checkpoints; `model` holds this rank's experts, sliced from it.
  Transformer full{nullptr};
  if (world > 1) {
    comm = moe::make_communicator(opt.comm);
    auto rng = get_rng_state();
    full = model;
    model = build_model(cfg.model, tok.vocab_size(), static_cast<int64_t>(langs.size()), comm);
    moe::load_full_state(*model, module_state(*full), rank, world);
    set_rng_state(rng);
    if (!chief) torch::manual_seed(tc.seed + static_cast<uint64_t>(rank));  // its own dropout
  }
  // LMS: per-sentence bank indices from the examples' languages (indices into `langs`; validation
  // examples index valid_langs and are mapped by name).
  const bool fd = tc.fuse_distillation;
  std::vector<int64_t> valid_to_train(valid_langs.size(), -1);
  for (size_t i = 0; i < valid_langs.size(); ++i) {
    auto it = std::find(langs.begin(), langs.end(), valid_langs[i]);
    if (it != langs.end()) valid_to_train[i] = it - langs.begin();
  }
  auto lms_keys = [&](const std::vector<Example>& ex, bool valid, bool shared) {
    if (cfg.model.lms.mode == "none") return LmsKeys();
    std::vector<int64_t> s, t;
    for (const auto& e : ex) {
      s.push_back(valid ? valid_to_train[e.src] : e.src);
      t.push_back(valid ? valid_to_train[e.tgt] : e.tgt);
      if (s.back() < 0 || t.back() < 0)
        throw Error(dcfg.out_dir + "/valid.tsv: a language not in the training data");
    }
    return model->lms_keys(torch::tensor(s, torch::kLong), torch::tensor(t, torch::kLong), shared);
  };
  // Word-level KD: a frozen teacher with the same SentencePiece model (train.kd_teacher).
  Transformer teacher{nullptr};
  std::vector<int64_t> teacher_lang;  // training language index -> the teacher's
  if (!tc.kd_teacher.empty()) {
    Checkpoint t = load_checkpoint(tc.kd_teacher);
    if (t.spm_model != tok.serialized())
      throw Error(tc.kd_teacher + ": the teacher's SentencePiece model differs from " + spm_path);
    for (const auto& l : langs) {
      auto it = std::find(t.langs.begin(), t.langs.end(), l);
      if (it == t.langs.end()) throw Error(tc.kd_teacher + ": the teacher has no language '" + l + "'");
      teacher_lang.push_back(it - t.langs.begin());
    }
    teacher = t.model;
    teacher->eval();
    for (auto& p : teacher->parameters()) p.requires_grad_(false);
  }
  auto teacher_lprobs = [&](const Batch& b) {  // [B·T, V] f32, no gradient
    torch::NoGradGuard no_grad;
    LmsKeys keys;
    if (teacher->options.lms().mode != LmsMode::kNone) {
      std::vector<int64_t> s, t;
      for (const auto& e : b.examples) {
        s.push_back(teacher_lang[e.src]);
        t.push_back(teacher_lang[e.tgt]);
      }
      keys = teacher->lms_keys(torch::tensor(s, torch::kLong), torch::tensor(t, torch::kLong));
    }
    auto logits = teacher->forward(b.src, b.prev, nullptr, keys);
    return torch::log_softmax(logits, -1).view({-1, logits.size(-1)});
  };
  TrainerState state;
  bool resumed = false;
  if (fs::exists(last) && !opt.restart) {
    Checkpoint ck = load_checkpoint(last);
    if (to_yaml(Config{ck.config.model, {}, {}}) != to_yaml(Config{cfg.model, {}, {}}))
      throw Error(last + ": the checkpoint's model config differs from this config "
                  "(use another train.out_dir, or --restart to start over)");
    if (ck.langs != langs) throw Error(last + ": the checkpoint's languages differ from the data's");
    if (!ck.trainer) throw Error(last + ": not a training checkpoint");
    if (comm) {
      full = ck.model;
      moe::load_full_state(*model, module_state(*full), rank, world);
    } else {
      model = ck.model;
    }
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
    if (comm) {  // the whole state, then this rank's slice
      torch::optim::Adam whole(full->parameters(), torch::optim::AdamOptions(tc.lr));
      load_optimizer_state(last, whole);
      slice_optimizer_state(whole, *full, optimizer, *model, rank, world);
    } else {
      load_optimizer_state(last, optimizer);
    }
    sampler.seek({state.pool, state.batch});
    if (chief) {
      set_rng_state(state.rng_state);
    } else if (state.rank_rng_states.defined() && rank < state.rank_rng_states.size(0)) {
      set_rng_state(state.rank_rng_states[rank].contiguous());
    } else {  // a rank the saving run did not have
      torch::manual_seed(tc.seed + static_cast<uint64_t>(rank) + 7919u * state.updates);
    }
    std::fprintf(progress, "[train] resumed from %s at update %lld\n", last.c_str(),
                 static_cast<long long>(state.updates));
  }
  const std::string spm_bytes = tok.serialized();
  const int64_t n_params = count_parameters(comm ? *full : *model);
  std::fprintf(progress,
               "[train] %lld parameters, %zu directions, %lld pairs skipped as longer than %d "
               "tokens, %d threads\n",
               static_cast<long long>(n_params), train_data.directions().size(),
               static_cast<long long>(train_data.skipped_long()), tc.max_len, threads);

  std::ofstream log;  // rank 0 only (writes to a closed stream do nothing)
  if (chief) log.open(tc.out_dir + "/train.jsonl", std::ios::app);
  {
    nlohmann::json j = {{"event", "start"},       {"update", state.updates},
                        {"resumed", resumed},     {"parameters", n_params},
                        {"config", to_yaml(cfg)}, {"threads", threads},
                        {"world_size", world}};
    log << j.dump() << std::endl;
  }

  auto save = [&](bool best) {
    state.pool = sampler.position().pool;
    state.batch = sampler.position().batch;
    state.rng_state = get_rng_state();
    Transformer& saved = comm ? full : model;  // `full` holds the weights gathered for validation
    torch::optim::Adam* saved_opt = &optimizer;
    std::unique_ptr<torch::optim::Adam> whole;
    if (comm) {  // collectives: every rank takes part, rank 0 writes
      whole = std::make_unique<torch::optim::Adam>(
          full->parameters(),
          static_cast<torch::optim::AdamOptions&>(optimizer.param_groups()[0].options()));
      gather_optimizer_state(optimizer, *model, *whole, *full, *comm);
      auto rngs = gather_rows_to_root(state.rng_state.unsqueeze(0), *comm);  // [W, n] u8
      if (!chief) return;
      state.rank_rng_states = rngs;
      saved_opt = whole.get();
    }
    if (!comm) state.rank_rng_states = torch::Tensor();  // a world-W run resumed at world 1
    save_checkpoint(last, cfg, langs, spm_bytes, saved, saved_opt, &state);
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
      save_checkpoint(tc.out_dir + "/best.pt", cfg, langs, spm_bytes, saved, nullptr, nullptr);
    }
  };

  auto validate = [&]() {
    double t0 = now_s();
    Transformer& vm = comm ? full : model;  // every rank validates the whole model
    vm->eval();
    torch::NoGradGuard no_grad;
    SearchOptions so = search_options(cfg.decode, tags);
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
    double loss_sum = 0, tokens = 0, shared_loss_sum = 0;
    std::map<std::pair<int, int>, std::pair<std::vector<std::string>, std::vector<std::string>>> out;
    // Expert usage per language: usage[layer][language][expert] = first-choice count. Encoder
    // layers count tokens by source language, decoder layers by target language.
    std::vector<std::vector<std::vector<int64_t>>> usage;
    std::vector<std::string> layer_names;
    for (size_t s = 0; s < all.size(); s += 64) {
      std::vector<Example> part(all.begin() + s, all.begin() + std::min(all.size(), s + 64));
      Batch b = make_batch(valid_data, part, valid_tags);
      MoeAux aux;
      auto logits = vm->forward(b.src, b.prev, &aux, lms_keys(part, true, false));
      if (fd) {  // the shared side's loss (what `distill condense` keeps)
        auto sh = vm->forward(b.src, b.prev, nullptr, lms_keys(part, true, true));
        auto lps = torch::log_softmax(sh, -1).view({-1, sh.size(-1)});
        shared_loss_sum +=
            label_smoothed_nll(lps, b.target.view(-1), 0.0, data::kPadId).nll.item<double>();
      }
      if (aux.layers > 0) {
        const int64_t E = cfg.model.moe.num_experts, L = static_cast<int64_t>(valid_langs.size());
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
      auto hyps = beam_search(vm, b.src, first, data::kEosId, so, lms_keys(part, true, false));
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
    vm->train();
    double loss = tokens > 0 ? loss_sum / tokens : 0;
    size_t nd = std::max<size_t>(out.size(), 1);
    std::fprintf(progress,
                 "[valid] update %lld | nll %.3f | ppl %.1f | BLEU %.2f | chrF %.2f (averages over "
                 "%zu directions, %d sentences each) | %.0fs\n",
                 static_cast<long long>(state.updates), loss, std::exp(loss), bleu_sum / nd,
                 chrf_sum / nd, out.size(), tc.valid_sentences, now_s() - t0);
    nlohmann::json j = {{"event", "valid"},      {"update", state.updates},
                        {"nll", loss},           {"avg_bleu", bleu_sum / nd},
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
  };

  model->train();
  const double t_start = now_s() - state.elapsed_s;
  double t_log = now_s();
  int64_t tokens_since_log = 0;
  double loss_acc = 0, nll_acc = 0, tok_acc = 0, moe_aux_acc = 0;
  double ce_ls_acc = 0, ce_sh_acc = 0, kl_acc = 0;  // Fuse Distillation terms (sums over tokens)
  double kd_acc = 0;                                 // word-level KD term (sum over tokens)
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
    for (int k = 0; k < tc.update_freq; ++k)
      for (int r = 0; r < world; ++r) {  // rank r takes batches r, r + W, ... of the one stream
        auto examples = sampler.next();
        if (r != rank) continue;
        batches.push_back(make_batch(train_data, examples, tags));
        update_tokens += batches.back().target_tokens;
      }
    // Loss normaliser: the update's target tokens over all ranks, divided by W because
    // average_gradients divides the summed gradients by W (world W = world 1 with W·update_freq).
    double norm = static_cast<double>(update_tokens);
    if (comm) norm = static_cast<double>(comm->all_reduce_int(update_tokens, moe::ReduceOp::kSum)) / world;
    optimizer.zero_grad();
    for (auto& b : batches) {
      MoeAux aux;
      auto logits = model->forward(b.src, b.prev, &aux, lms_keys(b.examples, false, false));
      auto lp = torch::log_softmax(logits, -1).view({-1, logits.size(-1)});  // [B·T, V]
      auto l = label_smoothed_nll(lp, b.target.view(-1), tc.label_smoothing, data::kPadId);
      auto loss = l.loss / norm;
      if (fd) {
        // Fuse Distillation (Xu et al. 2023): a second pass through the shared slot; loss
        // ½(CE_ls + CE_sh) + λ·symmetric KL, summed over tokens, no stop-gradient.
        auto sh = model->forward(b.src, b.prev, nullptr, lms_keys(b.examples, false, true));
        auto lps = torch::log_softmax(sh, -1).view({-1, sh.size(-1)});  // [B·T, V]
        auto ls = label_smoothed_nll(lps, b.target.view(-1), tc.label_smoothing, data::kPadId);
        auto kl = symmetric_kl(lp, lps, b.target.view(-1), data::kPadId);
        loss = (0.5 * (l.loss + ls.loss) + tc.fd_weight * kl) / norm;
        ce_ls_acc += l.loss.item<double>();
        ce_sh_acc += ls.loss.item<double>();
        kl_acc += kl.item<double>();
      }
      if (teacher) {
        auto kd = distill_ce(lp, teacher_lprobs(b), b.target.view(-1), data::kPadId);
        loss = ((1.0 - tc.kd_weight) * l.loss + tc.kd_weight * kd) / norm;
        kd_acc += kd.item<double>();
      }
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
    if (comm) moe::average_gradients(*model, *comm);
    if (tc.clip_norm > 0) {
      if (comm) clip_grad_norm_global(*model, tc.clip_norm, *comm);
      else torch::nn::utils::clip_grad_norm_(model->parameters(), tc.clip_norm);
    }
    optimizer.step();
    if (comm) broadcast_buffers(*model, *comm);
    state.updates++;
    state.elapsed_s = now_s() - t_start;

    if (state.updates % tc.log_every == 0) {
      if (comm) {  // sums over ranks
        auto t = torch::tensor({loss_acc, nll_acc, tok_acc, static_cast<double>(tokens_since_log),
                                moe_aux_acc, static_cast<double>(moe_batches), ce_ls_acc,
                                ce_sh_acc, kl_acc, kd_acc},
                               torch::kDouble);
        comm->all_reduce(t, moe::ReduceOp::kSum);
        auto v = t.data_ptr<double>();
        loss_acc = v[0], nll_acc = v[1], tok_acc = v[2];
        tokens_since_log = static_cast<int64_t>(v[3]);
        moe_aux_acc = v[4], moe_batches = static_cast<int64_t>(v[5]);
        ce_ls_acc = v[6], ce_sh_acc = v[7], kl_acc = v[8], kd_acc = v[9];
      }
      double dt = now_s() - t_log;
      double tps = tokens_since_log / std::max(dt, 1e-9);
      double eta = -1;
      if (tc.max_updates > 0)
        eta = state.elapsed_s / state.updates * (tc.max_updates - state.updates);
      if (tc.max_minutes > 0) {
        double left = tc.max_minutes * 60 - state.elapsed_s;
        eta = eta < 0 ? left : std::min(eta, left);
      }
      std::fprintf(progress,
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
          // Cross-layer routing agreement (issue 7): fraction of tokens with the same first
          // choice as the previous MoE layer of the stack (null for the first).
          const double a = i < last_aux.agreement.size() ? last_aux.agreement[i] : NAN;
          layers.back()["agreement"] = std::isnan(a) ? nlohmann::json() : nlohmann::json(a);
        }
        double agree = 0;
        int agree_n = 0;
        for (double a : last_aux.agreement)
          if (!std::isnan(a)) agree += a, ++agree_n;
        j["moe"] = {{"aux_loss", moe_aux_acc / moe_batches}, {"layers", layers}};
        if (agree_n > 0) j["moe"]["agreement"] = agree / agree_n;  // mean over layer pairs
        std::fprintf(progress, "[train]   moe: aux %.4f, drop rate %.3f (last batch, layer 0)\n",
                     moe_aux_acc / moe_batches, last_aux.drop_rate.empty() ? 0.0 : last_aux.drop_rate[0]);
      }
      if (fd) {
        j["fd"] = {{"loss", (0.5 * (ce_ls_acc + ce_sh_acc) + tc.fd_weight * kl_acc) / tok_acc},
                   {"ce_ls", ce_ls_acc / tok_acc},
                   {"ce_sh", ce_sh_acc / tok_acc},
                   {"kl", kl_acc / tok_acc}};
        std::fprintf(progress, "[train]   fuse distillation: ce_ls %.3f | ce_sh %.3f | kl %.4f\n",
                     ce_ls_acc / tok_acc, ce_sh_acc / tok_acc, kl_acc / tok_acc);
        ce_ls_acc = ce_sh_acc = kl_acc = 0;
      }
      if (teacher) {
        j["kd"] = {{"ce_teacher", kd_acc / tok_acc}, {"weight", tc.kd_weight}};
        std::fprintf(progress, "[train]   word-level KD: ce vs teacher %.3f (weight %.2f)\n",
                     kd_acc / tok_acc, tc.kd_weight);
        kd_acc = 0;
      }
      log << j.dump() << std::endl;
      moe_aux_acc = 0;
      moe_batches = 0;
      t_log = now_s();
      tokens_since_log = 0;
      loss_acc = nll_acc = tok_acc = 0;
    }
    bool out_of_time = tc.max_minutes > 0 && state.elapsed_s >= tc.max_minutes * 60;
    if (comm && tc.max_minutes > 0)  // every rank stops at the same update
      out_of_time = comm->all_reduce_int(out_of_time, moe::ReduceOp::kMax) != 0;
    bool last_update = tc.max_updates > 0 && state.updates >= tc.max_updates;
    if (state.updates % tc.valid_every == 0 || out_of_time || last_update) {
      double replica_diff = 0;
      if (comm) {  // the whole model on every rank; the replicated parameters must agree
        moe::load_full_state(*full, moe::gather_full_state(*model, *comm), 0, 1);
        replica_diff = check_replicas(*model, *comm, 1e-9);
      }
      double vl = validate();
      if (comm) {
        vl = broadcast_value(vl, *comm);  // the same decisions (best, early stop) on every rank
        log << nlohmann::json({{"event", "replicas"}, {"update", state.updates},
                               {"world_size", world}, {"max_rel_checksum_diff", replica_diff}})
                   .dump()
            << std::endl;
      }
      bool best = vl < state.best_valid_loss;
      if (best) {
        state.best_valid_loss = vl;
        state.bad_validations = 0;
      } else {
        state.bad_validations++;
      }
      save(best);
      if (tc.patience > 0 && state.bad_validations >= tc.patience) {
        std::fprintf(progress, "[train] early stop: %d validations without improvement\n", tc.patience);
        stop = true;
      }
      if (out_of_time) stop = true;
    }
  }
  std::fprintf(progress, "[train] done: %lld updates in %s; best valid nll %.3f; %s/best.pt\n",
               static_cast<long long>(state.updates), hms(state.elapsed_s).c_str(),
               state.best_valid_loss, tc.out_dir.c_str());
  log << nlohmann::json({{"event", "end"}, {"update", state.updates}}).dump() << std::endl;
}

}  // namespace strata::nmt
