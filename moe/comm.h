#pragma once
// Collective communication for expert and data parallelism, on real distributed engines only:
// Gloo (LibTorch's c10d ProcessGroupGloo, CPU tensors) and NCCL (CUDA tensors; compiled only with
// STRATA_WITH_CUDA). Every collective is blocking and bounded by the communicator's timeout: a
// rank that dies or never joins makes the others throw a one-line error naming the operation,
// the rank and the world size (never a hang).
//
//   CommOptions o;  o.rank = 1;  o.world_size = 4;  o.master_port = 29500;   // or o.file_store
//   auto comm = make_communicator(o);
//   std::vector<int64_t> recv_splits;
//   auto y = comm->all_to_all_v(x, send_splits, &recv_splits);   // counts first, then payload
#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace strata::moe {

struct CommOptions {
  std::string backend = "gloo";          // "gloo" (CPU) or "nccl" (CUDA, STRATA_WITH_CUDA builds)
  int rank = 0;
  int world_size = 1;
  std::string master_addr = "127.0.0.1";  // TCP rendezvous: rank 0 serves a c10d TCPStore here
  int master_port = 29500;
  std::string file_store;                 // non-empty: rendezvous through this file instead
  std::chrono::milliseconds timeout{60000};  // rendezvous and every collective
};

enum class ReduceOp { kSum, kMin, kMax };

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world() const = 0;
  virtual std::string backend() const = 0;
  std::chrono::milliseconds timeout() const { return timeout_; }

  // Payload exchange with known sizes: rows [Σ_{i<j} send_splits[i], +send_splits[j]) of `input`
  // (split along dim 0) go to rank j; returns Σ recv_splits rows, those from rank j at offset
  // Σ_{i<j} recv_splits[i]. Both lists have world() entries; the peers' lists must agree.
  virtual torch::Tensor all_to_all(const torch::Tensor& input, const std::vector<int64_t>& send_splits,
                                   const std::vector<int64_t>& recv_splits) = 0;
  // In place over all ranks.
  virtual void all_reduce(torch::Tensor& t, ReduceOp op = ReduceOp::kSum) = 0;
  virtual void barrier() = 0;

  // Counts first: `counts` has world()·n entries, [j·n, j·n+n) for rank j; returns world()·n
  // entries, [j·n, j·n+n) from rank j.
  std::vector<int64_t> exchange_counts(const std::vector<int64_t>& counts);
  // Counts then variable-size payload: exchanges send_splits, then the rows; recv_splits (if not
  // null) gets the rows received from each rank.
  torch::Tensor all_to_all_v(const torch::Tensor& input, const std::vector<int64_t>& send_splits,
                             std::vector<int64_t>* recv_splits = nullptr);
  // Global reduction of one integer (e.g. SMoE's current stratum = global minimum).
  int64_t all_reduce_int(int64_t v, ReduceOp op);

 protected:
  explicit Communicator(std::chrono::milliseconds timeout) : timeout_(timeout) {}
  // Checks split lists (size world(), non-negative, sum = rows) with a one-line error.
  void check_splits(const char* op, const std::vector<int64_t>& splits, int64_t rows,
                    const char* which) const;
  std::chrono::milliseconds timeout_;
};

// Rendezvous and a communicator for `o` (throws a one-line error for a bad field, an unknown or
// uncompiled backend, or a rendezvous that does not complete within o.timeout).
std::shared_ptr<Communicator> make_communicator(const CommOptions& o);

// A single-process communicator (world 1, no engine): all collectives are identities.
std::shared_ptr<Communicator> make_local_communicator();

#ifdef STRATA_WITH_CUDA
// NCCL backend (moe/comm_nccl.cpp); the NCCL unique id travels through `store_options`' store.
std::shared_ptr<Communicator> make_nccl_communicator(const CommOptions& o);
#endif

}  // namespace strata::moe
