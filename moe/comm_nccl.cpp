// NCCL backend (STRATA_WITH_CUDA builds): raw NCCL on the CUDA legacy default stream, so it is
// ordered with LibTorch's default-stream kernels and needs nothing of LibTorch's CUDA internals
// (it compiles against any LibTorch, and runs against a CUDA one). The communicator is
// non-blocking: every operation is polled until done, and on timeout or an asynchronous error the
// communicator is aborted and a one-line error names the operation and the rank. The unique id
// travels through the same c10d store (TCPStore/FileStore) as the Gloo rendezvous. Device = rank
// modulo the visible GPUs (one process per GPU on one machine).
#include <cuda_runtime_api.h>
#include <nccl.h>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "moe/comm.h"

namespace strata::moe {

namespace detail {
c10::intrusive_ptr<c10d::Store> make_store(const CommOptions& o);  // moe/comm.cpp
}

namespace {

ncclDataType_t nccl_type(c10::ScalarType t) {
  switch (t) {
    case c10::ScalarType::Float: return ncclFloat32;
    case c10::ScalarType::Double: return ncclFloat64;
    case c10::ScalarType::Half: return ncclFloat16;
    case c10::ScalarType::BFloat16: return ncclBfloat16;
    case c10::ScalarType::Long: return ncclInt64;
    case c10::ScalarType::Int: return ncclInt32;
    case c10::ScalarType::Byte:
    case c10::ScalarType::Bool: return ncclUint8;
    case c10::ScalarType::Char: return ncclInt8;
    default: TORCH_CHECK(false, "comm(nccl): unsupported dtype ", t);
  }
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return ncclSum;
    case ReduceOp::kMin: return ncclMin;
    case ReduceOp::kMax: return ncclMax;
  }
  return ncclSum;
}

class NcclCommunicator : public Communicator {
 public:
  explicit NcclCommunicator(const CommOptions& o)
      : Communicator(o.timeout), rank_(o.rank), world_(o.world_size) {
    int devices = 0;
    check_cuda(cudaGetDeviceCount(&devices), "rendezvous");
    TORCH_CHECK(devices > 0, "comm(nccl): no CUDA device visible on rank ", rank_);
    device_ = rank_ % devices;
    check_cuda(cudaSetDevice(device_), "rendezvous");
    auto store = detail::make_store(o);
    ncclUniqueId id;
    if (rank_ == 0) {
      check(ncclGetUniqueId(&id), "rendezvous");
      store->set("nccl_id", std::vector<uint8_t>(reinterpret_cast<uint8_t*>(&id),
                                                 reinterpret_cast<uint8_t*>(&id) + sizeof id));
    }
    std::vector<uint8_t> bytes;
    try {
      bytes = store->get("nccl_id");  // waits up to the store's timeout
    } catch (const std::exception& e) {
      error("rendezvous", e.what());
    }
    TORCH_CHECK(bytes.size() == sizeof id, "comm(nccl): bad unique id in the store");
    std::memcpy(&id, bytes.data(), sizeof id);
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;  // calls return at once; wait() polls with the timeout
    ncclResult_t r = ncclCommInitRankConfig(&comm_, world_, id, rank_, &config);
    if (r != ncclSuccess && r != ncclInProgress) error("rendezvous", ncclGetErrorString(r));
    wait("rendezvous", /*stream=*/false);
  }
  ~NcclCommunicator() override {
    if (comm_) ncclCommDestroy(comm_);
  }
  int rank() const override { return rank_; }
  int world() const override { return world_; }
  std::string backend() const override { return "nccl"; }

  torch::Tensor all_to_all(const torch::Tensor& input, const std::vector<int64_t>& send_splits,
                           const std::vector<int64_t>& recv_splits) override {
    TORCH_CHECK(input.dim() >= 1, "comm(nccl): all_to_all needs at least one dimension");
    check_splits("all_to_all", send_splits, input.size(0), "send");
    int64_t rows = 0;
    for (int64_t s : recv_splits) rows += s;
    check_splits("all_to_all", recv_splits, rows, "recv");
    const bool host = input.device().is_cpu();  // e.g. the counts: staged through the GPU
    auto in = (host ? input.to(cuda()) : input).contiguous();
    auto sizes = in.sizes().vec();
    sizes[0] = rows;
    auto out = torch::empty(sizes, in.options());
    const int64_t row = in.dim() > 1 ? c10::multiply_integers(in.sizes().slice(1)) : 1;
    const size_t esize = in.element_size();
    const auto type = nccl_type(in.scalar_type());
    auto* src = static_cast<char*>(in.data_ptr());
    auto* dst = static_cast<char*>(out.data_ptr());
    check(ncclGroupStart(), "all_to_all");
    int64_t so = 0, ro = 0;
    for (int j = 0; j < world_; ++j) {
      if (send_splits[j])
        check(ncclSend(src + so * row * esize, send_splits[j] * row, type, j, comm_, nullptr),
              "all_to_all");
      if (recv_splits[j])
        check(ncclRecv(dst + ro * row * esize, recv_splits[j] * row, type, j, comm_, nullptr),
              "all_to_all");
      so += send_splits[j];
      ro += recv_splits[j];
    }
    check(ncclGroupEnd(), "all_to_all");
    wait("all_to_all", true);
    return host ? out.cpu() : out;
  }

  void all_reduce(torch::Tensor& t, ReduceOp op) override {
    if (t.numel() == 0) return;
    const bool host = t.device().is_cpu();
    auto buf = (host ? t.to(cuda()) : t).contiguous();
    check(ncclAllReduce(buf.data_ptr(), buf.data_ptr(), buf.numel(), nccl_type(buf.scalar_type()),
                        nccl_op(op), comm_, nullptr),
          "all_reduce");
    wait("all_reduce", true);
    if (host || !buf.is_same(t)) t.copy_(buf);
  }

  void barrier() override {
    auto t = torch::zeros({1}, torch::TensorOptions().device(cuda()));
    all_reduce(t, ReduceOp::kSum);
  }

 private:
  torch::Device cuda() const { return torch::Device(torch::kCUDA, device_); }

  [[noreturn]] void error(const char* op, const std::string& what) {
    if (comm_) {
      ncclCommAbort(comm_);
      comm_ = nullptr;
    }
    std::ostringstream m;
    m << "comm(nccl): " << op << " failed on rank " << rank_ << " of " << world_ << ": " << what;
    throw std::runtime_error(m.str());
  }
  void check(ncclResult_t r, const char* op) {
    if (r != ncclSuccess && r != ncclInProgress) error(op, ncclGetErrorString(r));
  }
  void check_cuda(cudaError_t r, const char* op) {
    if (r != cudaSuccess) error(op, cudaGetErrorString(r));
  }
  // Polls until the communicator is idle (and, for operations, the default stream has drained).
  void wait(const char* op, bool stream) {
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    for (;;) {
      ncclResult_t async = ncclSuccess;
      ncclCommGetAsyncError(comm_, &async);
      if (async != ncclSuccess && async != ncclInProgress) error(op, ncclGetErrorString(async));
      if (async == ncclSuccess) {
        if (!stream) return;
        cudaError_t q = cudaStreamQuery(nullptr);
        if (q == cudaSuccess) return;
        if (q != cudaErrorNotReady) error(op, cudaGetErrorString(q));
      }
      if (std::chrono::steady_clock::now() > deadline)
        error(op, "timed out after " + std::to_string(timeout_.count()) + " ms");
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  int rank_, world_, device_ = 0;
  ncclComm_t comm_ = nullptr;
};

}  // namespace

std::shared_ptr<Communicator> make_nccl_communicator(const CommOptions& o) {
  return std::make_shared<NcclCommunicator>(o);
}

}  // namespace strata::moe
