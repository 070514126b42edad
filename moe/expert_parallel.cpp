#include "moe/expert_parallel.h"

#include <cstdint>
#include <map>

#include "nmt/util/error.h"

namespace strata::moe {

void check_expert_partition(const MoeConfig& config, int world, const std::string& world_name) {
  if (world > 1 && config.enabled() && config.num_experts % world != 0)
    throw Error("model.moe.num_experts=" + std::to_string(config.num_experts) +
                " is not divisible by " + world_name + " " + std::to_string(world));
}

namespace {

// ctx->saved_data holds IValues only: the communicator travels as its address. The layer that
// built the graph owns the communicator for longer than the graph lives.
int64_t address_of(Communicator* c) { return static_cast<int64_t>(reinterpret_cast<intptr_t>(c)); }
Communicator* from_address(int64_t a) { return reinterpret_cast<Communicator*>(static_cast<intptr_t>(a)); }

struct AllToAllFn : public torch::autograd::Function<AllToAllFn> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               std::vector<int64_t> send, std::vector<int64_t> recv,
                               int64_t comm) {
    ctx->saved_data["send"] = send;
    ctx->saved_data["recv"] = recv;
    ctx->saved_data["comm"] = comm;
    return from_address(comm)->all_to_all(x, send, recv);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    auto send = ctx->saved_data["send"].toIntVector();
    auto recv = ctx->saved_data["recv"].toIntVector();
    auto* comm = from_address(ctx->saved_data["comm"].toInt());
    // The transposed exchange: what came from rank j goes back to rank j.
    auto g = comm->all_to_all(grad[0], recv, send);
    return {g, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

std::pair<int64_t, int64_t> local_experts(int64_t num_experts, int rank, int world) {
  TORCH_CHECK(world >= 1 && num_experts % world == 0, "expert parallel: num_experts ",
              num_experts, " is not divisible by the world size ", world);
  const int64_t n = num_experts / world;
  return {rank * n, n};
}

torch::Tensor all_to_all(const torch::Tensor& x, const std::vector<int64_t>& send_splits,
                         const std::vector<int64_t>& recv_splits,
                         const std::shared_ptr<Communicator>& comm) {
  return AllToAllFn::apply(x, send_splits, recv_splits, address_of(comm.get()));
}

torch::Tensor run_experts_parallel(Experts& local, const torch::Tensor& x_sorted,
                                   const std::vector<int64_t>& counts,
                                   const std::shared_ptr<Communicator>& comm) {
  const int64_t W = comm->world(), E = static_cast<int64_t>(counts.size());
  const int64_t El = local_experts(E, comm->rank(), static_cast<int>(W)).second;
  TORCH_CHECK(local->w1.size(0) == El, "expert parallel: this rank holds ", local->w1.size(0),
              " experts, expected ", El, " (", E, " over ", W, " ranks)");
  // 1. Counts: rank j gets this rank's counts of its experts [j·El, (j+1)·El).
  std::vector<int64_t> recv_counts = comm->exchange_counts(counts);  // [W·El]: from s, expert e
  std::vector<int64_t> send_splits(W, 0), recv_splits(W, 0), local_counts(El, 0);
  for (int64_t j = 0; j < W; ++j)
    for (int64_t e = 0; e < El; ++e) {
      send_splits[j] += counts[j * El + e];
      recv_splits[j] += recv_counts[j * El + e];
      local_counts[e] += recv_counts[j * El + e];
    }
  // 2. Payload: rows arrive grouped by source rank, then expert.
  auto recv = all_to_all(x_sorted, send_splits, recv_splits, comm);  // [R, d]
  const int64_t R = recv.size(0);
  // (source, expert) order -> (expert, source) order, so each local expert's rows are contiguous.
  std::vector<int64_t> offset(W * El), perm;
  perm.reserve(R);
  for (int64_t s = 0, o = 0; s < W; ++s)
    for (int64_t e = 0; e < El; ++e) {
      offset[s * El + e] = o;
      o += recv_counts[s * El + e];
    }
  for (int64_t e = 0; e < El; ++e)
    for (int64_t s = 0; s < W; ++s)
      for (int64_t i = 0; i < recv_counts[s * El + e]; ++i) perm.push_back(offset[s * El + e] + i);
  auto perm_t = torch::tensor(perm, torch::kLong);
  auto ye = local->forward(recv.index_select(0, perm_t), local_counts);  // [R, d]
  if (torch::GradMode::is_enabled() && local->w1.requires_grad() && !ye.requires_grad()) {
    // No rows here: stay on the graph so that backward still reaches both exchanges.
    ye = ye + recv.sum() * 0 + local->w1.sum() * 0;
  }
  auto inv = torch::empty({R}, torch::kLong);
  if (R) inv.index_copy_(0, perm_t, torch::arange(R, torch::kLong));
  // 3. Results back to their tokens' ranks, in the order they were sent.
  return all_to_all(ye.index_select(0, inv), recv_splits, send_splits, comm);  // [M, d]
}

torch::Tensor combine_connected(const torch::Tensor& expert_out, const Dispatch& d,
                                int64_t num_tokens) {
  auto out = torch::zeros({num_tokens, expert_out.size(1)}, expert_out.options());
  return out.index_add(0, d.token, expert_out * d.gate.to(expert_out.dtype()).unsqueeze(1));
}

bool is_expert_parameter(const std::string& name) {
  return name.rfind("experts.", 0) == 0 || name.find(".experts.") != std::string::npos;
}

void average_gradients(torch::nn::Module& model, Communicator& comm) {
  const double W = comm.world();
  // Dense gradients, grouped by dtype (one all-reduce per dtype), in named_parameters order.
  std::map<c10::ScalarType, std::vector<torch::Tensor>> dense;
  for (auto& kv : model.named_parameters(true)) {
    auto& p = kv.value();
    if (!p.requires_grad()) continue;
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    if (is_expert_parameter(kv.key())) {
      if (W > 1) p.mutable_grad().div_(W);
      continue;
    }
    dense[p.scalar_type()].push_back(p.grad());
  }
  if (W == 1) return;
  for (auto& [type, grads] : dense) {
    std::vector<torch::Tensor> flat;
    for (auto& g : grads) flat.push_back(g.reshape({-1}));
    auto buf = torch::cat(flat);
    comm.all_reduce(buf, ReduceOp::kSum);
    buf.div_(W);
    int64_t o = 0;
    for (auto& g : grads) {
      g.copy_(buf.slice(0, o, o + g.numel()).view_as(g));
      o += g.numel();
    }
  }
}

torch::OrderedDict<std::string, torch::Tensor> gather_full_state(torch::nn::Module& model,
                                                                 Communicator& comm) {
  torch::NoGradGuard ng;
  const int W = comm.world();
  torch::OrderedDict<std::string, torch::Tensor> full;
  for (auto& kv : model.named_parameters(true)) {
    auto p = kv.value().detach();
    if (is_expert_parameter(kv.key()) && W > 1) {
      // All-gather: the shard to every rank; rank j's shard lands at j·E/W.
      auto in = p.reshape({1, -1}).expand({W, p.numel()}).reshape({-1});
      std::vector<int64_t> splits(W, p.numel());
      auto sizes = p.sizes().vec();
      sizes[0] *= W;
      full.insert(kv.key(), comm.all_to_all(in.contiguous(), splits, splits).view(sizes));
    } else {
      full.insert(kv.key(), p.clone());
    }
  }
  for (auto& kv : model.named_buffers(true)) full.insert(kv.key(), kv.value().detach().clone());
  return full;
}

void load_full_state(torch::nn::Module& model,
                     const torch::OrderedDict<std::string, torch::Tensor>& full, int rank,
                     int world) {
  torch::NoGradGuard ng;
  auto load = [&](const std::string& name, torch::Tensor& dst, bool sharded) {
    const torch::Tensor* src = full.find(name);
    TORCH_CHECK(src, "expert parallel: the checkpoint has no ", name);
    torch::Tensor s = *src;
    if (sharded) {
      const int64_t E = s.size(0);
      auto [first, n] = local_experts(E, rank, world);
      s = s.slice(0, first, first + n);
    }
    TORCH_CHECK(s.sizes() == dst.sizes(), "expert parallel: ", name, " is ", s.sizes(),
                " in the checkpoint", sharded ? " (this rank's slice)" : "", ", the model needs ",
                dst.sizes());
    dst.copy_(s);
  };
  for (auto& kv : model.named_parameters(true))
    load(kv.key(), kv.value(), is_expert_parameter(kv.key()));
  for (auto& kv : model.named_buffers(true)) load(kv.key(), kv.value(), false);
}

}  // namespace strata::moe
