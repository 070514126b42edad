// kernels/narrow_linear: against fp64 products over a table of shapes, rows independent of their
// batch-mates (bit for bit), inputs of any rank, and its errors.
#include "kernels/narrow_linear.h"

#include <gtest/gtest.h>

#include <tuple>
#include <vector>

namespace strata::kernels {
namespace {

TEST(NarrowLinearTest, EqualsFp64ProductsOverTheShapeTable) {
  // (N, K, E): no rows, one row, K not a multiple of 16 (the AVX-512 tail), a router's shapes
  // (d 512, 8 and 32 experts) at greedy, beam and encoder row counts.
  const std::vector<std::tuple<int64_t, int64_t, int64_t>> shapes = {
      {0, 64, 8}, {1, 16, 1}, {3, 7, 5}, {5, 33, 2}, {32, 512, 8}, {128, 512, 8}, {768, 512, 32}};
  int seed = 1;
  for (auto [N, K, E] : shapes) {
    torch::manual_seed(seed++);
    auto x = torch::randn({N, K}), w = torch::randn({E, K}) * 0.1;
    auto y = narrow_linear(x, w);
    ASSERT_EQ(y.sizes(), (std::vector<int64_t>{N, E}));
    auto exact = torch::matmul(x.to(torch::kDouble), w.to(torch::kDouble).t());
    // fp32 sums of K products: within K·2^-24·Σ|x||w| of the exact value.
    auto bound = torch::matmul(x.abs().to(torch::kDouble), w.abs().to(torch::kDouble).t()) * (K * 6e-8) + 1e-7;
    EXPECT_TRUE((y.to(torch::kDouble) - exact).abs().le(bound).all().item<bool>()) << N << "x" << K << "x" << E;
  }
}

TEST(NarrowLinearTest, RowsDoNotDependOnTheirBatchMatesAndKeepTheirShape) {
  torch::manual_seed(9);
  auto x = torch::randn({40, 96}), w = torch::randn({8, 96});
  auto all = narrow_linear(x, w);
  for (int64_t n : {0, 17, 39}) EXPECT_TRUE(torch::equal(narrow_linear(x.slice(0, n, n + 1), w), all.slice(0, n, n + 1)));
  EXPECT_TRUE(torch::equal(narrow_linear(x.view({5, 8, 96}), w), all.view({5, 8, 8})));
  EXPECT_TRUE(torch::equal(narrow_linear(x.t().contiguous().t(), w), all));  // non-contiguous input
  EXPECT_THROW(narrow_linear(x, torch::randn({8, 95})), c10::Error);
  EXPECT_THROW(narrow_linear(x.to(torch::kDouble), w), c10::Error);
}

}  // namespace
}  // namespace strata::kernels
