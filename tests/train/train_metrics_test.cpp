// Tests of nmt/train/train_metrics.h.
#include "nmt/train/train_metrics.h"

#include <gtest/gtest.h>

#include "nmt/util/error.h"

using namespace strata;
using namespace strata::nmt;

namespace {

// A world of two identical ranks (sums double), or, with `skew`, a peer holding one more name.
class TwoRanks : public moe::Communicator {
 public:
  explicit TwoRanks(bool skew = false) : Communicator(std::chrono::milliseconds(1000)), skew_(skew) {}
  int rank() const override { return 0; }
  int world() const override { return 2; }
  std::string backend() const override { return "fake"; }
  torch::Tensor all_to_all(const torch::Tensor& x, const std::vector<int64_t>&,
                           const std::vector<int64_t>&) override {
    return x;
  }
  void all_reduce(torch::Tensor& t, moe::ReduceOp) override {
    ++calls;
    t.mul_(2);
    if (skew_) t[t.size(0) - 1] += 1;
  }
  void barrier() override {}
  int calls = 0;

 private:
  bool skew_;
};

}  // namespace

TEST(TrainMetricsTest, SumsByNameAndResetsKeepingTheNames) {
  TrainMetrics m;
  m.add("ce.loss", 1.5);
  m.add("ce.loss", 2.0);
  m.add("target_tokens", 7);
  EXPECT_EQ(m.get("ce.loss"), 3.5);
  EXPECT_EQ(m.get("target_tokens"), 7);
  EXPECT_EQ(m.get("never"), 0);
  m.reset();
  EXPECT_EQ(m.values().size(), 2u);
  EXPECT_EQ(m.get("ce.loss"), 0);
}

TEST(TrainMetricsTest, AllReduceIsOneCollectiveAndChecksTheNames) {
  TrainMetrics m;
  m.add("a", 1);
  m.add("b", 2.5);
  TwoRanks comm;
  m.all_reduce(comm);
  EXPECT_EQ(comm.calls, 1);
  EXPECT_EQ(m.get("a"), 2);
  EXPECT_EQ(m.get("b"), 5);
  TwoRanks skewed(/*skew=*/true);
  EXPECT_THROW(m.all_reduce(skewed), Error);
}
