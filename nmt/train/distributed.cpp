#include "nmt/train/distributed.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <sstream>

#include "nmt/util/error.h"
#include "nmt/util/torch_compat.h"
#include "moe/expert_parallel.h"

namespace strata::nmt {

using moe::is_expert_parameter;
using torch::optim::AdamParamState;

namespace {

// The optimizer's key for a parameter (LibTorch keys its state by the TensorImpl).
auto state_key(const torch::Tensor& p) { return compat::optimizer_state_key(p); }

AdamParamState* adam_state(torch::optim::Adam& opt, const torch::Tensor& p) {
  auto it = opt.state().find(state_key(p));
  return it == opt.state().end() ? nullptr : static_cast<AdamParamState*>(it->second.get());
}

void set_adam_state(torch::optim::Adam& opt, const torch::Tensor& p, int64_t step,
                    const torch::Tensor& m, const torch::Tensor& v, const torch::Tensor& vmax) {
  auto s = std::make_unique<AdamParamState>();
  s->step(step);
  s->exp_avg(m);
  s->exp_avg_sq(v);
  if (vmax.defined()) s->max_exp_avg_sq(vmax);
  opt.state()[state_key(p)] = std::move(s);
}

// Parameters of two models with the same names, in the same order (one error if not).
std::vector<std::pair<std::string, std::pair<torch::Tensor, torch::Tensor>>> pair_parameters(
    torch::nn::Module& a, torch::nn::Module& b) {
  auto pa = a.named_parameters(true), pb = b.named_parameters(true);
  TORCH_CHECK(pa.size() == pb.size(), "expert parallel: models with ", pa.size(), " and ",
              pb.size(), " parameters");
  std::vector<std::pair<std::string, std::pair<torch::Tensor, torch::Tensor>>> out;
  for (size_t i = 0; i < pa.size(); ++i) {
    TORCH_CHECK(pa[i].key() == pb[i].key(), "expert parallel: parameter ", i, " is ",
                pa[i].key(), " in one model and ", pb[i].key(), " in the other");
    out.push_back({pa[i].key(), {pa[i].value(), pb[i].value()}});
  }
  return out;
}

// One flat buffer per dtype of the tensors `ts`, all-reduced (sum) in place and copied back.
void all_reduce_flat(std::vector<torch::Tensor> ts, moe::Communicator& comm) {
  std::map<c10::ScalarType, std::vector<torch::Tensor>> by_type;
  for (auto& t : ts) by_type[t.scalar_type()].push_back(t);
  for (auto& [type, group] : by_type) {
    std::vector<torch::Tensor> flat;
    for (auto& t : group) flat.push_back(t.reshape({-1}));
    auto buf = torch::cat(flat);
    comm.all_reduce(buf, moe::ReduceOp::kSum);
    int64_t o = 0;
    for (auto& t : group) {
      t.copy_(buf.slice(0, o, o + t.numel()).view_as(t));
      o += t.numel();
    }
  }
}

}  // namespace

torch::OrderedDict<std::string, torch::Tensor> module_state(torch::nn::Module& m) {
  torch::OrderedDict<std::string, torch::Tensor> s;
  for (auto& kv : m.named_parameters(true)) s.insert(kv.key(), kv.value());
  for (auto& kv : m.named_buffers(true)) s.insert(kv.key(), kv.value());
  return s;
}

torch::Tensor gather_rows_to_root(const torch::Tensor& shard, moe::Communicator& comm) {
  const int W = comm.world();
  const int64_t n = shard.size(0);
  std::vector<int64_t> send(W, 0), recv(W, comm.rank() == 0 ? n : 0);
  send[0] = n;
  auto out = comm.all_to_all(shard.contiguous(), send, recv);
  return comm.rank() == 0 ? out : torch::Tensor();
}

void gather_optimizer_state(torch::optim::Adam& opt, torch::nn::Module& model,
                            torch::optim::Adam& full_opt, torch::nn::Module& full,
                            moe::Communicator& comm) {
  torch::NoGradGuard ng;
  const bool root = comm.rank() == 0;
  // Every rank has state for the same parameters: after average_gradients every parameter has a
  // gradient, so Adam created state for all of them at the first step.
  for (auto& [name, pq] : pair_parameters(model, full)) {
    const auto& [p, q] = pq;
    AdamParamState* s = adam_state(opt, p);
    if (!s) continue;
    if (is_expert_parameter(name)) {
      auto m = gather_rows_to_root(s->exp_avg(), comm);
      auto v = gather_rows_to_root(s->exp_avg_sq(), comm);
      torch::Tensor vmax;
      if (s->max_exp_avg_sq().defined()) vmax = gather_rows_to_root(s->max_exp_avg_sq(), comm);
      if (root) set_adam_state(full_opt, q, s->step(), m, v, vmax);
    } else if (root) {
      set_adam_state(full_opt, q, s->step(), s->exp_avg().clone(), s->exp_avg_sq().clone(),
                     s->max_exp_avg_sq().defined() ? s->max_exp_avg_sq().clone() : torch::Tensor());
    }
  }
}

void slice_optimizer_state(torch::optim::Adam& full_opt, torch::nn::Module& full,
                           torch::optim::Adam& opt, torch::nn::Module& model, int rank, int world) {
  torch::NoGradGuard ng;
  opt.state().clear();
  for (auto& [name, pq] : pair_parameters(model, full)) {
    const auto& [p, q] = pq;
    AdamParamState* s = adam_state(full_opt, q);
    if (!s) continue;
    auto take = [&, name = name, p = p](const torch::Tensor& t) {
      if (!t.defined()) return t;
      if (!is_expert_parameter(name)) return t.clone();
      auto [first, n] = moe::local_experts(t.size(0), rank, world);
      auto slice = t.slice(0, first, first + n).clone();
      TORCH_CHECK(slice.sizes() == p.sizes(), "expert parallel: optimizer state of ", name, " is ",
                  t.sizes(), ", the rank's slice needs ", p.sizes());
      return slice;
    };
    set_adam_state(opt, p, s->step(), take(s->exp_avg()), take(s->exp_avg_sq()),
                   take(s->max_exp_avg_sq()));
  }
}

double clip_grad_norm_global(torch::nn::Module& model, double max_norm, moe::Communicator& comm) {
  torch::NoGradGuard ng;
  double dense = 0, expert = 0;  // squared norms
  std::vector<torch::Tensor> grads;
  for (auto& kv : model.named_parameters(true)) {
    const auto& g = kv.value().grad();
    if (!g.defined()) continue;
    const double n = g.norm().item<double>();
    (is_expert_parameter(kv.key()) ? expert : dense) += n * n;
    grads.push_back(g);
  }
  auto t = torch::tensor({expert}, torch::kDouble);
  comm.all_reduce(t, moe::ReduceOp::kSum);
  const double total = std::sqrt(dense + t.item<double>());
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1)
    for (auto& g : grads) g.mul_(coef);
  return total;
}

void broadcast_buffers(torch::nn::Module& model, moe::Communicator& comm) {
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> bufs;
  for (auto& kv : model.named_buffers(true)) {
    if (is_expert_parameter(kv.key()) || kv.value().numel() == 0) continue;
    if (comm.rank() != 0) kv.value().zero_();
    bufs.push_back(kv.value());
  }
  if (!bufs.empty()) all_reduce_flat(bufs, comm);
}

double broadcast_value(double v, moe::Communicator& comm) {
  auto t = torch::tensor({comm.rank() == 0 ? v : 0.0}, torch::kDouble);
  comm.all_reduce(t, moe::ReduceOp::kSum);
  return t.item<double>();
}

double check_replicas(torch::nn::Module& model, moe::Communicator& comm, double rel_tol) {
  torch::NoGradGuard ng;
  std::vector<std::string> names;
  std::vector<double> sums;
  for (auto& kv : model.named_parameters(true)) {
    if (is_expert_parameter(kv.key())) continue;
    auto p = kv.value().to(torch::kDouble);
    names.push_back(kv.key());
    sums.push_back(p.sum().item<double>());
    sums.push_back(p.abs().sum().item<double>());
  }
  if (sums.empty()) return 0;
  auto lo = torch::tensor(sums, torch::kDouble), hi = lo.clone();
  comm.all_reduce(lo, moe::ReduceOp::kMin);
  comm.all_reduce(hi, moe::ReduceOp::kMax);
  double worst = 0;
  const double* l = lo.data_ptr<double>();
  const double* h = hi.data_ptr<double>();
  for (size_t i = 0; i < sums.size(); ++i) {
    const double rel = (h[i] - l[i]) / std::max({std::abs(h[i]), std::abs(l[i]), 1e-30});
    worst = std::max(worst, rel);
    if (rel > rel_tol) {
      std::ostringstream m;
      m << "expert parallel: the replicated parameter " << names[i / 2]
        << " differs across ranks (checksum " << l[i] << " .. " << h[i] << ", relative "
        << rel << " > " << rel_tol << ")";
      throw Error(m.str());
    }
  }
  return worst;
}

// ---- Split checkpoints ----

std::string shard_path(const std::string& prefix, int rank, int world) {
  return prefix + ".rank" + std::to_string(rank) + "-of-" + std::to_string(world) + ".pt";
}

namespace {

int64_t vocab_of(const Checkpoint& c) { return c.model->embed->weight.size(0); }

torch::optim::Adam make_adam(torch::nn::Module& m) {
  return torch::optim::Adam(m.parameters(), torch::optim::AdamOptions(1e-3));
}

}  // namespace

std::vector<std::string> split_checkpoint(const std::string& in, int world,
                                          const std::string& prefix) {
  if (world < 1) throw Error("--world-size must be >= 1, got " + std::to_string(world));
  Checkpoint ck = load_checkpoint(in);
  const int64_t E = ck.config.model.moe.num_experts;
  if (!ck.config.model.moe.enabled() || E == 0)
    throw Error(in + ": a dense model (model.moe.type none): nothing to split");
  if (E % world != 0)
    throw Error("--world-size " + std::to_string(world) + " does not divide " + in +
                "'s model.moe.num_experts=" + std::to_string(E));
  const bool training = ck.trainer.has_value();
  auto full_opt = make_adam(*ck.model);
  if (training) load_optimizer_state(in, full_opt);
  auto full = module_state(*ck.model);
  std::vector<std::string> written;
  for (int r = 0; r < world; ++r) {
    Transformer m = build_model(ck.config.model, vocab_of(ck),
                                static_cast<int64_t>(ck.langs.size()),
                                placement_only_communicator(r, world));
    moe::load_full_state(*m, full, r, world);
    auto opt = make_adam(*m);
    if (training) slice_optimizer_state(full_opt, *ck.model, opt, *m, r, world);
    ShardInfo info{r, world};
    written.push_back(shard_path(prefix, r, world));
    save_checkpoint(written.back(), ck.config, ck.langs, ck.spm_model, m,
                    training ? &opt : nullptr, training ? &*ck.trainer : nullptr, &info);
  }
  return written;
}

void merge_checkpoint(const std::vector<std::string>& shards, const std::string& out) {
  if (shards.empty()) throw Error("checkpoint merge: no shard files given");
  std::vector<Checkpoint> parts;
  std::vector<ShardInfo> info;
  for (const auto& path : shards) {
    info.emplace_back();
    parts.push_back(load_shard(path, &info.back()));
  }
  const int W = info[0].world;
  std::vector<int> at(W, -1);  // rank -> index in `shards`
  for (size_t i = 0; i < shards.size(); ++i) {
    if (info[i].world != W)
      throw Error(shards[i] + ": a shard of world size " + std::to_string(info[i].world) + ", " +
                  shards[0] + " is of world size " + std::to_string(W));
    if (at[info[i].rank] >= 0)
      throw Error(shards[i] + ": rank " + std::to_string(info[i].rank) + " again (also " +
                  shards[at[info[i].rank]] + ")");
    at[info[i].rank] = static_cast<int>(i);
  }
  for (int r = 0; r < W; ++r)
    if (at[r] < 0)
      throw Error("checkpoint merge: rank " + std::to_string(r) + " of " + std::to_string(W) +
                  " is missing (" + std::to_string(shards.size()) + " shards given)");
  const Checkpoint& c0 = parts[at[0]];
  const std::string yaml0 = to_yaml(c0.config);
  for (int r = 1; r < W; ++r) {
    const Checkpoint& c = parts[at[r]];
    const std::string& name = shards[at[r]];
    if (to_yaml(c.config) != yaml0)
      throw Error(name + ": its config differs from rank 0's (" + shards[at[0]] + ")");
    if (c.langs != c0.langs || c.spm_model != c0.spm_model)
      throw Error(name + ": its languages or SentencePiece model differ from rank 0's");
    if (c.trainer.has_value() != c0.trainer.has_value() ||
        (c.trainer && c.trainer->updates != c0.trainer->updates))
      throw Error(name + ": its trainer state differs from rank 0's (update counts or kind)");
  }
  // The whole model: expert parameters concatenated by rank, the rest from rank 0 (and checked
  // equal on every rank).
  Checkpoint whole;
  whole.config = c0.config;
  whole.langs = c0.langs;
  whole.spm_model = c0.spm_model;
  whole.trainer = c0.trainer;
  whole.model = build_model(c0.config.model, vocab_of(c0), static_cast<int64_t>(c0.langs.size()));
  const bool training = c0.trainer.has_value();
  std::vector<std::unique_ptr<torch::optim::Adam>> opts;
  for (int r = 0; r < W; ++r) {
    opts.push_back(std::make_unique<torch::optim::Adam>(make_adam(*parts[at[r]].model)));
    if (training) load_optimizer_state(shards[at[r]], *opts.back());
  }
  auto full_opt = make_adam(*whole.model);
  torch::NoGradGuard ng;
  std::vector<decltype(pair_parameters(*whole.model, *whole.model))> pairs;
  for (int r = 0; r < W; ++r) pairs.push_back(pair_parameters(*parts[at[r]].model, *whole.model));
  for (size_t i = 0; i < pairs[0].size(); ++i) {
    const std::string& name = pairs[0][i].first;
    torch::Tensor q = pairs[0][i].second.second;
    const bool expert = is_expert_parameter(name);
    std::vector<torch::Tensor> pieces;
    for (int r = 0; r < W; ++r) {
      const torch::Tensor& p = pairs[r][i].second.first;
      if (!expert && r > 0 && !torch::equal(p, pieces[0]))
        throw Error(shards[at[r]] + ": the replicated parameter " + name + " differs from rank 0's");
      pieces.push_back(p);
    }
    auto t = expert ? torch::cat(pieces, 0) : pieces[0];
    if (t.sizes() != q.sizes()) {
      std::ostringstream m;
      m << "checkpoint merge: " << name << " assembles to " << t.sizes() << ", the config gives "
        << q.sizes();
      throw Error(m.str());
    }
    q.copy_(t);
    if (!training) continue;
    std::vector<AdamParamState*> st;
    for (int r = 0; r < W; ++r) st.push_back(adam_state(*opts[r], pairs[r][i].second.first));
    if (!st[0]) continue;
    for (int r = 1; r < W; ++r)
      if (!st[r] || st[r]->step() != st[0]->step())
        throw Error(shards[at[r]] + ": optimizer state of " + name + " disagrees with rank 0's");
    auto cat = [&](auto get) {
      if (!get(st[0]).defined()) return torch::Tensor();
      if (!expert) return get(st[0]).clone();
      std::vector<torch::Tensor> v;
      for (auto* s : st) v.push_back(get(s));
      return torch::cat(v, 0);
    };
    set_adam_state(full_opt, q, st[0]->step(), cat([](AdamParamState* s) { return s->exp_avg(); }),
                   cat([](AdamParamState* s) { return s->exp_avg_sq(); }),
                   cat([](AdamParamState* s) { return s->max_exp_avg_sq(); }));
  }
  auto bufs0 = c0.model->named_buffers(true);
  for (auto& b : whole.model->named_buffers(true)) b.value().copy_(bufs0[b.key()]);
  save_checkpoint(out, whole.config, whole.langs, whole.spm_model, whole.model,
                  training ? &full_opt : nullptr, training ? &*whole.trainer : nullptr);
}

}  // namespace strata::nmt
