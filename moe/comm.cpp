// Gloo backend on LibTorch's c10d ProcessGroupGloo (compiled with USE_C10D_GLOO, see
// moe/CMakeLists.txt), rendezvous on c10d's TCPStore or FileStore, and the backend-independent
// parts of Communicator.
#include "moe/comm.h"

#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#ifdef STRATA_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <csignal>
#include <numeric>
#include <sstream>
#include <stdexcept>

namespace strata::moe {

namespace {

// The first line of an engine error (c10::Error appends a C++ backtrace).
std::string first_line(const std::exception& e) {
  const auto* ce = dynamic_cast<const c10::Error*>(&e);
  std::string s = ce ? ce->what_without_backtrace() : e.what();
  auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

// Where and how long a rendezvous waits, for its error message.
std::string where(const CommOptions& o) {
  return (o.file_store.empty() ? o.master_addr + ":" + std::to_string(o.master_port)
                               : "file " + o.file_store) +
         ", timeout " + std::to_string(o.timeout.count()) + " ms";
}

[[noreturn]] void fail(const std::string& backend, const char* op, int rank, int world,
                       const std::exception& e, const std::string& detail = "") {
  std::ostringstream m;
  m << "comm(" << backend << "): " << op << " failed on rank " << rank << " of " << world;
  if (!detail.empty()) m << " (" << detail << ")";
  m << ": " << first_line(e);
  throw std::runtime_error(m.str());
}

#ifdef STRATA_WITH_GLOO
c10d::ReduceOp to_c10d(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return c10d::ReduceOp::SUM;
    case ReduceOp::kMin: return c10d::ReduceOp::MIN;
    case ReduceOp::kMax: return c10d::ReduceOp::MAX;
  }
  return c10d::ReduceOp::SUM;
}

#endif  // STRATA_WITH_GLOO

class LocalCommunicator : public Communicator {
 public:
  LocalCommunicator() : Communicator(std::chrono::milliseconds(0)) {}
  int rank() const override { return 0; }
  int world() const override { return 1; }
  std::string backend() const override { return "local"; }
  torch::Tensor all_to_all(const torch::Tensor& input, const std::vector<int64_t>& send_splits,
                           const std::vector<int64_t>& recv_splits) override {
    check_splits("all_to_all", send_splits, input.size(0), "send");
    check_splits("all_to_all", recv_splits, input.size(0), "recv");
    return input.clone();
  }
  void all_reduce(torch::Tensor&, ReduceOp) override {}
  void barrier() override {}
};

#ifdef STRATA_WITH_GLOO
class GlooCommunicator : public Communicator {
 public:
  GlooCommunicator(const CommOptions& o, c10::intrusive_ptr<c10d::Store> store)
      : Communicator(o.timeout), rank_(o.rank), world_(o.world_size) {
    auto opts = c10d::ProcessGroupGloo::Options::create(o.timeout);
    // Loopback for a local master, else the interface that reaches this host's name.
    const bool local = o.file_store.size() || o.master_addr == "127.0.0.1" ||
                       o.master_addr == "localhost";
    opts->devices.push_back(local ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                  : c10d::ProcessGroupGloo::createDefaultDevice());
    opts->threads = 1;  // one collective at a time: the exchanges are blocking
    try {
      pg_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank_, world_, opts);
    } catch (const std::exception& e) {
      fail("gloo", "rendezvous", rank_, world_, e, where(o));
    }
  }
  int rank() const override { return rank_; }
  int world() const override { return world_; }
  std::string backend() const override { return "gloo"; }

  torch::Tensor all_to_all(const torch::Tensor& input, const std::vector<int64_t>& send_splits,
                           const std::vector<int64_t>& recv_splits) override {
    TORCH_CHECK(input.device().is_cpu(), "comm(gloo): all_to_all needs CPU tensors, got ",
                input.device());
    TORCH_CHECK(input.dim() >= 1, "comm(gloo): all_to_all needs at least one dimension");
    check_splits("all_to_all", send_splits, input.size(0), "send");
    const int64_t rows = std::accumulate(recv_splits.begin(), recv_splits.end(), int64_t{0});
    check_splits("all_to_all", recv_splits, rows, "recv");
    auto in = input.contiguous();
    auto sizes = in.sizes().vec();
    sizes[0] = rows;
    auto out = torch::empty(sizes, in.options());
    // As flat element buffers (c10d's split sizes count rows of dim 0).
    const int64_t row = in.dim() > 1 ? c10::multiply_integers(in.sizes().slice(1)) : 1;
    std::vector<int64_t> ss = send_splits, rs = recv_splits;
    for (auto& s : ss) s *= row;
    for (auto& s : rs) s *= row;
    auto in_buf = in.view({-1});
    auto out_buf = out.view({-1});
    run("all_to_all", [&] { return pg_->alltoall_base(out_buf, in_buf, rs, ss); });
    return out;
  }

  void all_reduce(torch::Tensor& t, ReduceOp op) override {
    TORCH_CHECK(t.device().is_cpu() && t.is_contiguous(),
                "comm(gloo): all_reduce needs a contiguous CPU tensor");
    if (t.numel() == 0) return;
    std::vector<at::Tensor> ts = {t};
    c10d::AllreduceOptions ao;
    ao.reduceOp = to_c10d(op);
    run("all_reduce", [&] { return pg_->allreduce(ts, ao); });
  }

  void barrier() override {
    run("barrier", [&] { return pg_->barrier(); });
  }

 private:
  template <class F>
  void run(const char* op, F&& start) {
    try {
      auto work = start();
      if (!work->wait(timeout_)) throw std::runtime_error("aborted");
    } catch (const std::exception& e) {
      fail("gloo", op, rank_, world_, e);
    }
  }

  int rank_, world_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg_;
};
#endif  // STRATA_WITH_GLOO

}  // namespace

namespace detail {
// The rendezvous store of `o` (also used by the NCCL backend to share its unique id).
c10::intrusive_ptr<c10d::Store> make_store(const CommOptions& o) {
  try {
    c10::intrusive_ptr<c10d::Store> store;
    if (!o.file_store.empty()) {
      store = c10::make_intrusive<c10d::FileStore>(o.file_store, o.world_size);
    } else {
      c10d::TCPStoreOptions so;
      so.port = static_cast<std::uint16_t>(o.master_port);
      so.isServer = o.rank == 0;
      so.numWorkers = o.world_size;
      so.waitWorkers = true;
      so.timeout = o.timeout;
      store = c10::make_intrusive<c10d::TCPStore>(o.master_addr, so);
    }
    store->setTimeout(o.timeout);
    return c10::make_intrusive<c10d::PrefixStore>("strata", store);
  } catch (const std::exception& e) {
    fail(o.backend, "rendezvous", o.rank, o.world_size, e, where(o));
  }
}
}  // namespace detail

void Communicator::check_splits(const char* op, const std::vector<int64_t>& splits, int64_t rows,
                                const char* which) const {
  TORCH_CHECK(static_cast<int>(splits.size()) == world(), "comm: ", op, ": ", which, " splits have ",
              splits.size(), " entries for world ", world());
  int64_t sum = 0;
  for (int64_t s : splits) {
    TORCH_CHECK(s >= 0, "comm: ", op, ": negative ", which, " split ", s);
    sum += s;
  }
  TORCH_CHECK(sum == rows, "comm: ", op, ": ", which, " splits sum to ", sum, ", rows ", rows);
}

std::vector<int64_t> Communicator::exchange_counts(const std::vector<int64_t>& counts) {
  const int64_t W = world();
  TORCH_CHECK(static_cast<int64_t>(counts.size()) % W == 0, "comm: exchange_counts: ",
              counts.size(), " counts for world ", W);
  const int64_t n = static_cast<int64_t>(counts.size()) / W;
  auto in = torch::tensor(counts, torch::kLong);
  std::vector<int64_t> splits(W, n);
  auto out = all_to_all(in, splits, splits);
  return std::vector<int64_t>(out.data_ptr<int64_t>(), out.data_ptr<int64_t>() + out.numel());
}

torch::Tensor Communicator::all_to_all_v(const torch::Tensor& input,
                                         const std::vector<int64_t>& send_splits,
                                         std::vector<int64_t>* recv_splits) {
  auto recv = exchange_counts(send_splits);
  if (recv_splits) *recv_splits = recv;
  return all_to_all(input, send_splits, recv);
}

int64_t Communicator::all_reduce_int(int64_t v, ReduceOp op) {
  auto t = torch::full({1}, v, torch::kLong);
  all_reduce(t, op);
  return t.item<int64_t>();
}

std::shared_ptr<Communicator> make_local_communicator() {
  return std::make_shared<LocalCommunicator>();
}

std::shared_ptr<Communicator> make_communicator(const CommOptions& o) {
  TORCH_CHECK(o.world_size >= 1, "comm: world_size must be >= 1, got ", o.world_size);
  TORCH_CHECK(o.rank >= 0 && o.rank < o.world_size, "comm: rank must be in [0, ", o.world_size,
              "), got ", o.rank);
  TORCH_CHECK(o.timeout.count() > 0, "comm: timeout must be > 0 ms, got ", o.timeout.count());
  TORCH_CHECK(!o.file_store.empty() || (o.master_port > 0 && o.master_port < 65536),
              "comm: master_port must be in [1, 65535], got ", o.master_port);
  // A peer that died closes its sockets: the next write to one must fail the exchange (EPIPE, a
  // one-line error naming the operation and rank), not end this process by SIGPIPE (seen on a
  // loaded 2-core CI machine: a surviving rank of ExpertParallelTest.DeadRank... exited 141).
  if (o.world_size > 1) std::signal(SIGPIPE, SIG_IGN);
  if (o.backend == "gloo") {
#ifdef STRATA_WITH_GLOO
    return std::make_shared<GlooCommunicator>(o, detail::make_store(o));
#else
    TORCH_CHECK(false, "comm: this build has no Gloo (its LibTorch ships no Gloo headers); use "
                       "backend nccl, or build against Debian's libtorch-dev and libgloo-dev");
#endif
  }
  if (o.backend == "nccl") {
#ifdef STRATA_WITH_CUDA
    return make_nccl_communicator(o);
#else
    TORCH_CHECK(false, "comm: backend nccl needs a build with -DSTRATA_WITH_CUDA=ON");
#endif
  }
  TORCH_CHECK(false, "comm: unknown backend '", o.backend, "' (gloo or nccl)");
}

}  // namespace strata::moe
