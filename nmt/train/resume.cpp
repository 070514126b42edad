// Exact resume (see resume.h).
#include "nmt/train/resume.h"

#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>
#include <mutex>

#include "nmt/util/error.h"
#include "nmt/train/distributed.h"

namespace strata::nmt {

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

torch::Tensor get_device_rng_state(const torch::Device& device) {
  if (!device.is_cuda()) return {};
  auto gen = at::globalContext().defaultGenerator(device);
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_device_rng_state(const torch::Device& device, const torch::Tensor& s) {
  if (!device.is_cuda() || !s.defined()) return;
  auto gen = at::globalContext().defaultGenerator(device);
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(s);
}

void move_optimizer_state(torch::optim::Adam& optimizer, const torch::Device& device) {
  auto move = [&](const torch::Tensor& t) { return t.defined() ? t.to(device) : t; };
  for (auto& kv : optimizer.state()) {
    auto& s = static_cast<torch::optim::AdamParamState&>(*kv.second);
    s.exp_avg(move(s.exp_avg()));
    s.exp_avg_sq(move(s.exp_avg_sq()));
    s.max_exp_avg_sq(move(s.max_exp_avg_sq()));
  }
}

std::optional<Checkpoint> load_resume_checkpoint(const std::string& last, const Config& cfg,
                                                 const std::vector<std::string>& langs,
                                                 bool restart) {
  if (!std::filesystem::exists(last) || restart) return std::nullopt;
  Checkpoint ck = load_checkpoint(last);
  if (to_yaml(Config{ck.config.model, {}, {}}) != to_yaml(Config{cfg.model, {}, {}}))
    throw Error(last + ": the checkpoint's model config differs from this config "
                "(use another train.out_dir, or --restart to start over)");
  if (ck.langs != langs) throw Error(last + ": the checkpoint's languages differ from the data's");
  if (!ck.trainer) throw Error(last + ": not a training checkpoint");
  return ck;
}

void restore_training_state(const std::string& last, const TrainerState& state,
                            const TrainConfig& tc, const Ranks& ranks,
                            torch::optim::Adam& optimizer, Transformer& model, Transformer& full,
                            BatchSampler& sampler) {
  if (ranks.comm) {  // the whole state, then this rank's slice
    torch::optim::Adam whole(full->parameters(), torch::optim::AdamOptions(tc.lr));
    load_optimizer_state(last, whole);
    slice_optimizer_state(whole, *full, optimizer, *model, ranks.rank, ranks.world);
  } else {
    load_optimizer_state(last, optimizer);
  }
  move_optimizer_state(optimizer, model->device());  // (a checkpoint's state loads on the CPU)
  set_device_rng_state(model->device(), state.device_rng_state);
  sampler.seek({state.pool, state.batch});
  if (ranks.chief()) {
    set_rng_state(state.rng_state);
  } else if (state.rank_rng_states.defined() && ranks.rank < state.rank_rng_states.size(0)) {
    set_rng_state(state.rank_rng_states[ranks.rank].contiguous());
  } else {  // a rank the saving run did not have
    torch::manual_seed(tc.seed + static_cast<uint64_t>(ranks.rank) + 7919u * state.updates);
  }
}

torch::optim::Adam* capture_training_state(TrainerState& state, const BatchSampler& sampler,
                                           const Ranks& ranks, torch::optim::Adam& optimizer,
                                           Transformer& model, Transformer& full,
                                           std::unique_ptr<torch::optim::Adam>& whole) {
  state.pool = sampler.position().pool;
  state.batch = sampler.position().batch;
  state.rng_state = get_rng_state();
  state.device_rng_state = get_device_rng_state(model->device());
  if (!ranks.comm) {
    state.rank_rng_states = torch::Tensor();  // a world-W run resumed at world 1
    return &optimizer;
  }
  whole = std::make_unique<torch::optim::Adam>(
      full->parameters(),
      static_cast<torch::optim::AdamOptions&>(optimizer.param_groups()[0].options()));
  gather_optimizer_state(optimizer, *model, *whole, *full, *ranks.comm);
  auto rngs = gather_rows_to_root(state.rng_state.unsqueeze(0), *ranks.comm);  // [W, n] u8
  if (!ranks.chief()) return nullptr;
  state.rank_rng_states = rngs;
  return whole.get();
}

}  // namespace strata::nmt
