// kernels/assignment: the minimum over all permutations (brute force, n ≤ 7, with ties and
// negative costs), the dual certificate on larger matrices, and SciPy's linear_sum_assignment
// (a second implementation, Debian's python3-scipy) on the same costs.
#include "kernels/assignment.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "tests/test_util.h"

namespace strata::kernels {
namespace {

double brute_force_minimum(const torch::Tensor& cost) {
  const int64_t n = cost.size(0);
  auto c = cost.to(torch::kDouble).contiguous();
  const double* a = c.data_ptr<double>();
  std::vector<int64_t> p(n);
  std::iota(p.begin(), p.end(), 0);
  double best = n == 0 ? 0 : std::numeric_limits<double>::infinity();
  do {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += a[i * n + p[i]];
    best = std::min(best, s);
  } while (std::next_permutation(p.begin(), p.end()));
  return best;
}

void expect_permutation(const Assignment& a, int64_t n) {
  ASSERT_EQ(static_cast<int64_t>(a.col.size()), n);
  std::vector<int64_t> sorted = a.col;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(sorted[i], i);
}

// u[i] + v[j] ≤ cost[i, j] everywhere, equality on the assignment: proves optimality.
void expect_certificate(const Assignment& a, const torch::Tensor& cost, double tol) {
  const int64_t n = cost.size(0);
  auto c = cost.to(torch::kDouble).contiguous();
  const double* x = c.data_ptr<double>();
  double dual = 0;
  for (int64_t i = 0; i < n; ++i) {
    dual += a.u[i] + a.v[i];
    for (int64_t j = 0; j < n; ++j) ASSERT_GE(x[i * n + j] - a.u[i] - a.v[j], -tol) << i << "," << j;
    EXPECT_NEAR(x[i * n + a.col[i]] - a.u[i] - a.v[a.col[i]], 0.0, tol) << "row " << i;
  }
  EXPECT_NEAR(dual, a.cost, tol * n);
}

TEST(AssignmentTest, EqualsBruteForceOnSmallMatricesWithTiesAndNegativeCosts) {
  torch::manual_seed(11);
  for (int64_t n = 0; n <= 7; ++n) {
    for (int trial = 0; trial < 20; ++trial) {
      // Small integers make ties common; some trials are real-valued and negative.
      auto cost = trial % 2 ? torch::randint(0, 4, {n, n}).to(torch::kDouble)
                            : torch::randn({n, n}, torch::kDouble) * 10;
      auto a = solve_assignment(cost);
      expect_permutation(a, n);
      EXPECT_NEAR(a.cost, brute_force_minimum(cost), 1e-9) << "n " << n << " trial " << trial;
      expect_certificate(a, cost, 1e-9);
    }
  }
}

TEST(AssignmentTest, SquaredDistancesOfPermutedPointsRecoverThePermutation) {
  // The use in ResMoE: rows of B are rows of A permuted (plus tiny noise); the cheapest
  // assignment under squared Euclidean cost is that permutation.
  torch::manual_seed(12);
  const int64_t n = 64;
  auto A = torch::randn({n, 9}, torch::kDouble);
  auto perm = torch::randperm(n);
  auto B = A.index_select(0, perm) + 1e-6 * torch::randn({n, 9}, torch::kDouble);
  auto cost = (A.unsqueeze(1) - B.unsqueeze(0)).pow(2).sum(-1);  // cost[i, j] = |A_i - B_j|²
  auto a = solve_assignment(cost);
  for (int64_t j = 0; j < n; ++j) EXPECT_EQ(a.col[perm[j].item<int64_t>()], j);
}

TEST(AssignmentTest, CertificateAndSciPyAgreeOnLargerMatrices) {
  torch::manual_seed(13);
  test::TempDir dir;
  for (int64_t n : {50, 300}) {
    auto cost = torch::rand({n, n}, torch::kDouble) * 100;
    auto a = solve_assignment(cost);
    expect_permutation(a, n);
    expect_certificate(a, cost, 1e-7);
    // SciPy on the same matrix (written as text with every digit of each double).
    const std::string in = dir / ("cost" + std::to_string(n) + ".txt"), out = dir / "scipy.txt";
    {
      std::ofstream f(in);
      f.precision(17);
      auto c = cost.contiguous();
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < n; ++j) f << (j ? " " : "") << c[i][j].item<double>();
        f << "\n";
      }
    }
    const std::string py =
        "import numpy as np, scipy.optimize as o; c = np.loadtxt('" + in +
        "'); r, k = o.linear_sum_assignment(c); open('" + out +
        "', 'w').write(repr(float(c[r, k].sum())))";
    ASSERT_EQ(std::system(("/usr/bin/python3 -c \"" + py + "\"").c_str()), 0)
        << "needs Debian's python3-scipy (scripts/bootstrap.sh installs it)";
    std::ifstream f(out);
    double scipy_cost = 0;
    ASSERT_TRUE(f >> scipy_cost);
    EXPECT_NEAR(a.cost, scipy_cost, 1e-9 * scipy_cost) << "n " << n;
  }
}

TEST(AssignmentTest, RejectsNonSquareAndNonFiniteCosts) {
  EXPECT_THROW(solve_assignment(torch::zeros({2, 3})), c10::Error);
  EXPECT_THROW(solve_assignment(torch::zeros({4})), c10::Error);
  auto c = torch::zeros({3, 3});
  c[1][2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(solve_assignment(c), c10::Error);
  EXPECT_THROW(solve_assignment(torch::zeros({2, 2}, torch::kLong)), c10::Error);
}

}  // namespace
}  // namespace strata::kernels
