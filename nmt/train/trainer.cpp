// train(): the training algorithm. The pieces live next to it: objectives/ (the loss recipe),
// validation, checkpoint_rotation, resume, kd_teacher, lms_languages, train_metrics, batcher.
#include "nmt/train/trainer.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "data/data_config.h"
#include "nmt/util/error.h"
#include "nmt/util/format.h"
#include "data/prepare.h"
#include "data/protect.h"
#include "data/spm.h"
#include "kernels/device.h"
#include "kernels/precision.h"
#include "moe/expert_parallel.h"
#include "nmt/lang_tags.h"
#include "nmt/model/checkpoint.h"
#include "nmt/train/batcher.h"
#include "nmt/train/checkpoint_rotation.h"
#include "nmt/train/distributed.h"
#include "nmt/train/kd_teacher.h"
#include "nmt/train/lms_languages.h"
#include "nmt/train/loss.h"
#include "nmt/train/objectives/objective.h"
#include "nmt/train/resume.h"
#include "nmt/train/train_metrics.h"
#include "nmt/train/validation.h"
#include "nmt/util/profile.h"
#include "nmt/util/system.h"

namespace fs = std::filesystem;

namespace strata::nmt {

namespace {

// SIGINT/SIGTERM during the training loop: the first one lets the current update finish, then
// last.pt is written and train() throws Interrupted; a second one ends the process at once.
// Outside the loop (set-up, tokenising) there is nothing to save and the signal acts as usual.
volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void on_stop_signal(int sig) {
  if (g_stop_signal != 0) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  g_stop_signal = sig;
  static const char msg[] =
      "\n[train] stopping after this update (saving last.pt); interrupt again to quit at once\n";
  [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
}

class StopSignals {
 public:
  StopSignals() {
    g_stop_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, nullptr, &old_int_);
    sigaction(SIGTERM, nullptr, &old_term_);
    // An inherited "ignore" (nohup, background jobs of a shell script) stays.
    if (old_int_.sa_handler != SIG_IGN) sigaction(SIGINT, &sa, nullptr);
    if (old_term_.sa_handler != SIG_IGN) sigaction(SIGTERM, &sa, nullptr);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  int signal() const { return g_stop_signal; }

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

// The log file must hold every record: a failed write stops the run.
void check_log(const std::ofstream& log, bool chief, const std::string& path) {
  if (chief && !log) throw Error(path + ": cannot write the training log");
}


// The model this rank trains and, under expert parallelism, `full`: all experts, initialised as
// at world 1, which serves validation and checkpoints (`model` holds this rank's experts,
// sliced from it). Creates the communicator.
struct Models {
  Transformer model{nullptr};
  Transformer full{nullptr};
  Transformer& whole() { return full ? full : model; }
};

Models build_models(const Config& cfg, int64_t vocab, int64_t num_langs, Ranks& ranks,
                    const moe::CommOptions& comm_options) {
  torch::manual_seed(cfg.train.seed);
  Models m;
  m.model = build_model(cfg.model, vocab, num_langs);
  if (ranks.world > 1) {
    ranks.comm = moe::make_communicator(comm_options);
    auto rng = get_rng_state();
    m.full = m.model;
    m.model = build_model(cfg.model, vocab, num_langs, ranks.comm);
    moe::load_full_state(*m.model, module_state(*m.full), ranks.rank, ranks.world);
    set_rng_state(rng);
    if (!ranks.chief())  // its own dropout
      torch::manual_seed(cfg.train.seed + static_cast<uint64_t>(ranks.rank));
  }
  return m;
}

// The batches of one update for this rank (rank r takes batches r, r + W, ... of the one
// stream) and the loss normaliser: the update's target tokens over all ranks, divided by W
// because average_gradients divides the summed gradients by W (world W = world 1 with
// W·update_freq).
std::vector<Batch> next_batches(BatchSampler& sampler, const ParallelData& data,
                                const LangTags& tags, int update_freq, const Ranks& ranks,
                                double* norm) {
  std::vector<Batch> batches;
  int64_t update_tokens = 0;
  for (int k = 0; k < update_freq; ++k)
    for (int r = 0; r < ranks.world; ++r) {
      auto examples = sampler.next();
      if (r != ranks.rank) continue;
      batches.push_back(make_batch(data, examples, tags));
      update_tokens += batches.back().target_tokens;
    }
  *norm = static_cast<double>(update_tokens);
  if (ranks.comm)
    *norm = static_cast<double>(ranks.comm->all_reduce_int(update_tokens, moe::ReduceOp::kSum)) /
            ranks.world;
  return batches;
}

// Averages the gradients over ranks, clips (train.clip_norm, over the whole model), steps.
void apply_update(Transformer& model, torch::optim::Adam& optimizer, double clip_norm,
                  const Ranks& ranks) {
  if (ranks.comm) moe::average_gradients(*model, *ranks.comm);
  if (clip_norm > 0) {
    if (ranks.comm) clip_grad_norm_global(*model, clip_norm, *ranks.comm);
    else torch::nn::utils::clip_grad_norm_(model->parameters(), clip_norm);
  }
  optimizer.step();
  if (ranks.comm) broadcast_buffers(*model, *ranks.comm);
}

// The "train" record and progress line of the updates since the last log (metrics summed over
// ranks first); resets the metrics.
void log_train(TrainMetrics& metrics, const Objective& objective, const TrainerState& state,
               const TrainConfig& tc, double lr, double since_log_s, const Ranks& ranks,
               std::ostream& log, FILE* progress) {
  if (ranks.comm) metrics.all_reduce(*ranks.comm);
  const double tps = metrics.get("input_tokens") / std::max(since_log_s, 1e-9);
  double eta = -1;
  if (tc.max_updates > 0) eta = state.elapsed_s / state.updates * (tc.max_updates - state.updates);
  if (tc.max_minutes > 0) {
    double left = tc.max_minutes * 60 - state.elapsed_s;
    eta = eta < 0 ? left : std::min(eta, left);
  }
  nlohmann::json j = {{"event", "train"},
                      {"update", state.updates},
                      {"lr", lr},
                      {"tokens_per_s", tps},
                      {"elapsed_s", state.elapsed_s}};
  // The terms' parts of the record; the headline shows the cross-entropy term's loss and nll.
  const std::vector<std::string> lines = objective.log(metrics, j);
  std::fprintf(progress,
               "[train] update %lld | loss %.3f | nll %.3f | lr %.2e | %.0f tok/s | %s | ETA %s\n",
               static_cast<long long>(state.updates), j["loss"].get<double>(),
               j["nll"].get<double>(), lr, tps, hms(state.elapsed_s).c_str(),
               eta < 0 ? "-" : hms(std::max(eta, 0.0)).c_str());
  for (const auto& line : lines) std::fprintf(progress, "%s\n", line.c_str());
  log << j.dump() << std::endl;
  metrics.reset();
}

}  // namespace

void train(const Config& cfg, const TrainOptions& opt) {
  const auto& tc = cfg.train;
  // ---- Build: ranks, data, model(s), the loss recipe, validation, checkpoint files.
  Ranks ranks;
  ranks.world = std::max(1, opt.comm.world_size);
  ranks.rank = ranks.world > 1 ? opt.comm.rank : 0;
  std::unique_ptr<FILE, int (*)(FILE*)> null_out(
      ranks.chief() ? nullptr : std::fopen("/dev/null", "w"), &std::fclose);
  FILE* progress = null_out ? null_out.get() : stderr;  // rank 0 prints
  moe::check_expert_partition(cfg.model.moe, ranks.world, "the world size");
  const torch::Device device = kernels::parse_device(tc.device, "train.device");
  if (device.is_cuda() && ranks.world > 1)
    throw Error("train.device: " + tc.device + " trains in one process; expert parallelism over " +
                std::to_string(ranks.world) + " ranks runs on the CPU (Gloo) in this version");
  int threads = set_threads(tc.threads);
  data::DataConfig dcfg = data::load_data_config(tc.data, {});
  const std::string spm_path = dcfg.out_dir + "/spm.model";
  if (!fs::exists(spm_path))
    throw Error(spm_path + ": no SentencePiece model (run 'strata data spm --config " + tc.data +
                "')");
  data::Tokenizer tok(spm_path);
  std::vector<std::string> langs, valid_langs;
  auto train_rows = data::read_split(dcfg.out_dir + "/train.tsv", &langs);
  auto valid_rows = data::read_split(dcfg.out_dir + "/valid.tsv", &valid_langs);
  const LangTags tags(tok, langs, cfg.model.decoder_lang_tag);
  tags.require(spm_path);
  if (tc.mask_placeholders) {
    const size_t en = static_cast<size_t>(
        std::find(langs.begin(), langs.end(), "en") - langs.begin());
    if (en == langs.size()) throw Error("train.mask_placeholders: the training data has no English column");
    size_t rows = 0, spans = 0;
    for (auto& row : train_rows) {
      const size_t n = data::mask_row_placeholders(row.text, en);
      rows += n > 0;
      spans += n;
    }
    std::fprintf(progress, "[train] masked %zu placeholders in %zu training rows (train.mask_placeholders)\n",
                 spans, rows);
  }
  std::fprintf(progress, "[train] tokenising %zu training rows (%zu languages)\n",
               train_rows.size(), langs.size());
  ParallelData train_data(train_rows, langs, tok, tc.max_len);
  ParallelData valid_data(valid_rows, valid_langs, tok, cfg.model.max_positions - 2);
  train_rows.clear();
  fs::create_directories(tc.out_dir);
  Models models = build_models(cfg, tok.vocab_size(), static_cast<int64_t>(langs.size()), ranks,
                               opt.comm);
  Transformer& model = models.model;
  const LmsLanguages lms(langs, valid_langs, dcfg.out_dir + "/valid.tsv");
  std::unique_ptr<KdTeacher> teacher;
  if (!tc.kd_teacher.empty()) {
    teacher = std::make_unique<KdTeacher>(tc.kd_teacher, tok, spm_path, langs);
    teacher->to(device);
  }
  Objective objective({cfg, teacher.get()});
  const Validator validator(cfg, tok, valid_data, tags);
  const CheckpointRotation files(tc.out_dir, tc.keep_last);
  const std::string spm_bytes = tok.serialized();
  const RunIdentity identity{cfg, langs, spm_bytes};

  // ---- Resume: weights, then Adam's state, the stream position and the RNG.
  TrainerState state;
  const std::string last = files.last_path();
  std::optional<Checkpoint> ck = load_resume_checkpoint(last, cfg, langs, opt.restart);
  if (ck) {
    if (ranks.comm) {
      models.full = ck->model;
      moe::load_full_state(*model, module_state(*models.full), ranks.rank, ranks.world);
    } else {
      model = ck->model;
    }
    state = *ck->trainer;
  }
  // The model is built (and resumed) on the CPU, so that a seed gives the same initial weights
  // on every device; then it moves, before Adam sees its parameters.
  model->to(device);
  torch::optim::Adam optimizer(model->parameters(),
                               torch::optim::AdamOptions(tc.lr)
                                   .betas({tc.adam_beta1, tc.adam_beta2})
                                   .eps(tc.adam_eps)
                                   .weight_decay(tc.weight_decay));
  BatchSampler sampler(train_data, tc.temperature, tc.max_tokens, tc.seed);
  const bool resumed = ck.has_value();
  ck.reset();
  if (resumed) {
    restore_training_state(last, state, tc, ranks, optimizer, model, models.full, sampler);
    std::fprintf(progress, "[train] resumed from %s at update %lld\n", last.c_str(),
                 static_cast<long long>(state.updates));
  }
  const int64_t n_params = count_parameters(*models.whole());
  // On a GPU, auto means bf16 products (every CUDA GPU this runs on has bf16 tensor cores).
  const kernels::Precision precision =
      device.is_cuda() && tc.precision == kernels::Precision::kAuto
          ? kernels::Precision::kBf16
          : kernels::resolve_precision(tc.precision);
  const std::string precision_name = enum_name(names_of(precision), precision);
  std::fprintf(progress,
               "[train] %lld parameters, %zu directions, %lld pairs skipped as longer than %d "
               "tokens, %d threads (OMP_WAIT_POLICY=%s), %s products on %s\n",
               static_cast<long long>(n_params), train_data.directions().size(),
               static_cast<long long>(train_data.skipped_long()), tc.max_len, threads,
               omp_wait_policy().empty() ? "unset" : omp_wait_policy().c_str(), precision_name.c_str(),
               device.str().c_str());
  std::ofstream log;  // rank 0 only (writes to a closed stream do nothing)
  const std::string log_path = tc.out_dir + "/train.jsonl";
  if (ranks.chief()) {
    log.open(log_path, std::ios::app);
    check_log(log, true, log_path);
  }
  log << nlohmann::json({{"event", "start"},       {"update", state.updates},
                         {"resumed", resumed},     {"parameters", n_params},
                         {"config", to_yaml(cfg)}, {"threads", threads},
                         {"precision", precision_name},
                         {"device", device.str()},
                         {"omp_wait_policy", omp_wait_policy()},
                         {"world_size", ranks.world}})
             .dump()
      << std::endl;

  check_log(log, ranks.chief(), log_path);

  // ---- Loop: batches -> loss -> step -> log, then validate and save.
  StopSignals signals;
  int64_t last_saved = resumed ? state.updates : -1;  // the update last.pt holds
  // Fault injection for the tests (docs/RELIABILITY.md): STRATA_FAULT_NAN_LOSS_AT=N turns update
  // N's loss into NaN, as a diverging run would.
  const char* nan_env = std::getenv("STRATA_FAULT_NAN_LOSS_AT");
  const int64_t nan_at = nan_env ? std::atoll(nan_env) : -1;
  model->train();
  const double t_start = now_s() - state.elapsed_s;
  double t_log = now_s();
  TrainMetrics metrics;
  bool stop = false;
  std::string stopped = "max_updates";  // why the loop ended: max_updates, max_minutes, patience
  // Developers' op profile of a real run (docs/PERFORMANCE.md): STRATA_PROFILE_UPDATES=A:B prints
  // the self time per LibTorch op over updates A+1..B.
  long long prof_from = -1, prof_to = -1;
  if (const char* p = std::getenv("STRATA_PROFILE_UPDATES"))
    if (std::sscanf(p, "%lld:%lld", &prof_from, &prof_to) != 2 || prof_to <= prof_from)
      throw Error("STRATA_PROFILE_UPDATES: expected A:B with A < B, got '" + std::string(p) + "'");
  std::unique_ptr<OpProfile> op_profile;
  while (!stop) {
    if (tc.max_updates > 0 && state.updates >= tc.max_updates) break;
    if (state.updates == prof_from) op_profile = std::make_unique<OpProfile>();
    const double lr = inverse_sqrt_lr(state.updates + 1, tc.lr, tc.warmup, tc.warmup_init_lr);
    for (auto& group : optimizer.param_groups())
      static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
    double norm = 0;
    std::vector<Batch> batches =
        next_batches(sampler, train_data, tags, tc.update_freq, ranks, &norm);
    optimizer.zero_grad();
    double bad_loss = 0;  // the first non-finite loss of this update (0: none)
    {
      // Forward and backward in the run's precision; the optimizer step and validation in fp32.
      kernels::PrecisionGuard guard(precision);
      for (const auto& b : batches) {
        torch::Tensor loss = objective.loss(model, b, norm, lms, metrics);
        if (state.updates + 1 == nan_at) loss = loss * std::nan("");
        const double v = loss.item<double>();
        if (!std::isfinite(v) && bad_loss == 0) bad_loss = v;
        loss.backward();  // also when bad: expert-parallel ranks exchange in the backward pass
      }
    }
    bool diverged = bad_loss != 0;
    if (ranks.comm) diverged = ranks.comm->all_reduce_int(diverged, moe::ReduceOp::kMax) != 0;
    if (diverged) {
      std::ostringstream os;
      os << "update " << state.updates + 1 << ": the training loss is not finite ("
         << (bad_loss != 0 ? std::to_string(bad_loss) : std::string("on another rank"))
         << "); stopped without applying it. "
         << (last_saved >= 0 ? "The last good checkpoint is " + last + " (update " +
                                   std::to_string(last_saved) + ")"
                             : std::string("No checkpoint was written yet"))
         << ": lower train.lr or raise train.warmup, then run again";
      log << nlohmann::json({{"event", "end"}, {"update", state.updates}, {"stopped", "diverged"},
                             {"elapsed_s", state.elapsed_s}})
                 .dump()
          << std::endl;
      throw Error(os.str());
    }
    apply_update(model, optimizer, tc.clip_norm, ranks);
    state.updates++;
    if (op_profile && state.updates == prof_to) {
      op_profile->print(progress, "training updates " + std::to_string(prof_from + 1) + ".." +
                                      std::to_string(prof_to) + ", " +
                                      enum_name(kernels::names_of(precision), precision),
                        static_cast<int>(prof_to - prof_from));
      op_profile.reset();
    }
    state.elapsed_s = now_s() - t_start;
    if (state.updates % tc.log_every == 0) {
      log_train(metrics, objective, state, tc, lr, now_s() - t_log, ranks, log, progress);
      t_log = now_s();
    }

    bool out_of_time = tc.max_minutes > 0 && state.elapsed_s >= tc.max_minutes * 60;
    if (ranks.comm && tc.max_minutes > 0)  // every rank stops at the same update
      out_of_time = ranks.comm->all_reduce_int(out_of_time, moe::ReduceOp::kMax) != 0;
    const bool last_update = tc.max_updates > 0 && state.updates >= tc.max_updates;
    int signal = signals.signal();
    if (ranks.comm)  // every rank stops at the same update
      signal = static_cast<int>(ranks.comm->all_reduce_int(signal, moe::ReduceOp::kMax));
    if (signal != 0) {  // save where we are (no validation: that would keep the user waiting)
      std::unique_ptr<torch::optim::Adam> whole_optimizer;
      torch::optim::Adam* saved_optimizer = capture_training_state(
          state, sampler, ranks, optimizer, model, models.full, whole_optimizer);
      if (saved_optimizer) files.save(identity, models.whole(), saved_optimizer, state, false);
      const char* name = signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "a signal";
      log << nlohmann::json({{"event", "end"}, {"update", state.updates}, {"stopped", name},
                             {"elapsed_s", state.elapsed_s}})
                 .dump()
          << std::endl;
      check_log(log, ranks.chief(), log_path);
      throw Interrupted("interrupted by " + std::string(name) + " after update " +
                            std::to_string(state.updates) + ": saved " + last +
                            "; run the same command to resume",
                        signal);
    }
    check_log(log, ranks.chief(), log_path);
    if (state.updates % tc.valid_every != 0 && !out_of_time && !last_update) continue;
    double replica_diff = 0;
    if (ranks.comm) {  // the whole model on every rank; the replicated parameters must agree
      moe::load_full_state(*models.full, moe::gather_full_state(*model, *ranks.comm), 0, 1);
      replica_diff = check_replicas(*model, *ranks.comm, 1e-9);
    }
    double vl = validator.run(models.whole(), lms, state.updates, log, progress);
    if (ranks.comm) {
      vl = broadcast_value(vl, *ranks.comm);  // the same decisions (best, early stop) everywhere
      log << nlohmann::json({{"event", "replicas"}, {"update", state.updates},
                             {"world_size", ranks.world}, {"max_rel_checksum_diff", replica_diff}})
                 .dump()
          << std::endl;
    }
    const bool best = vl < state.best_valid_loss;
    if (best) {
      state.best_valid_loss = vl;
      state.bad_validations = 0;
    } else {
      state.bad_validations++;
    }
    std::unique_ptr<torch::optim::Adam> whole_optimizer;
    torch::optim::Adam* saved_optimizer = capture_training_state(
        state, sampler, ranks, optimizer, model, models.full, whole_optimizer);
    if (saved_optimizer) files.save(identity, models.whole(), saved_optimizer, state, best);
    last_saved = state.updates;
    if (tc.patience > 0 && state.bad_validations >= tc.patience) {
      std::fprintf(progress, "[train] early stop: %d validations without improvement\n",
                   tc.patience);
      stop = true;
      stopped = "patience";
    }
    if (out_of_time && !stop && !last_update) {
      stop = true;
      stopped = "max_minutes";
      if (tc.max_updates > 0 && state.updates < tc.max_updates)
        std::fprintf(progress,
                     "[train] WARNING: stopped by the train.max_minutes safety cap (%g min) after "
                     "%lld of %d updates: this machine is slower than the run was sized for, and "
                     "the model is less trained than the config asks\n",
                     tc.max_minutes, static_cast<long long>(state.updates), tc.max_updates);
    }
  }
  std::fprintf(progress, "[train] done: %lld updates in %s; best valid nll %.3f; %s/best.pt\n",
               static_cast<long long>(state.updates), hms(state.elapsed_s).c_str(),
               state.best_valid_loss, tc.out_dir.c_str());
  log << nlohmann::json({{"event", "end"},
                         {"update", state.updates},
                         {"stopped", stopped},
                         {"elapsed_s", state.elapsed_s}})
             .dump()
      << std::endl;
  check_log(log, ranks.chief(), log_path);
}

}  // namespace strata::nmt
