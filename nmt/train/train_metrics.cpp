// TrainMetrics (see train_metrics.h).
#include "nmt/train/train_metrics.h"

#include <torch/torch.h>

#include "nmt/util/error.h"

namespace strata::nmt {

double TrainMetrics::get(const std::string& name) const {
  auto it = sums_.find(name);
  return it == sums_.end() ? 0.0 : it->second;
}

void TrainMetrics::all_reduce(moe::Communicator& comm) {
  std::vector<double> v;
  for (const auto& [name, value] : sums_) v.push_back(value);
  const double n = static_cast<double>(v.size());
  v.push_back(n);  // the number of names: their sum over ranks must be world · n
  auto t = torch::tensor(v, torch::kDouble);
  comm.all_reduce(t, moe::ReduceOp::kSum);
  const double* r = t.data_ptr<double>();
  if (r[v.size() - 1] != n * comm.world())
    throw Error("training metrics: the ranks hold different metric names");
  size_t i = 0;
  for (auto& [name, value] : sums_) value = r[i++];
}

void TrainMetrics::reset() {
  for (auto& [name, value] : sums_) value = 0;
}

}  // namespace strata::nmt
