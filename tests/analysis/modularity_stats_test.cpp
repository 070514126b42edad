// nmt/analysis/modularity_stats: average precision against a hand count and scikit-learn, the
// hypergeometric and binomial thresholds against hand sums and SciPy, balanced k-means and the
// METIS co-activation partition on planted clusters, the random partition's sizes.
#include "nmt/analysis/modularity_stats.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <random>

#include "nmt/util/error.h"
#include "tests/test_util.h"

namespace strata::nmt {
namespace {

TEST(AveragePrecisionTest, MatchesAHandCount) {
  // Scores 0.9 (+), 0.8 (−), 0.7 (+), 0.6 (−): thresholds give (R, P) = (1/2, 1), (1/2, 1/2),
  // (1, 2/3), (1, 1/2): AP = 1/2·1 + 1/2·2/3 = 5/6.
  EXPECT_NEAR(average_precision({0.9f, 0.8f, 0.7f, 0.6f}, {1, 0, 1, 0}), 5.0 / 6, 1e-12);
  // The negatives as positives: (0, 0), (1/2, 1/2), (1/2, 1/3), (1, 1/2): AP = 1/4 + 1/4 = 1/2.
  EXPECT_NEAR(average_precision({0.9f, 0.8f, 0.7f, 0.6f}, {0, 1, 0, 1}), 0.5, 1e-12);
  EXPECT_NEAR(predictivity({0.9f, 0.8f, 0.7f, 0.6f}, {0, 1, 0, 1}), 5.0 / 6, 1e-12);
  // Ties enter together: all scores equal gives the positive rate.
  EXPECT_NEAR(average_precision({1, 1, 1, 1}, {1, 0, 0, 0}), 0.25, 1e-12);
  // A perfect ranking, and no positive at all.
  EXPECT_NEAR(average_precision({3, 2, 1}, {1, 1, 0}), 1.0, 1e-12);
  EXPECT_EQ(average_precision({3, 2, 1}, {0, 0, 0}), 0.0);
}

TEST(AveragePrecisionTest, AgreesWithScikitLearn) {
  test::TempDir dir;
  std::mt19937 rng(5);
  std::vector<float> score;
  std::vector<uint8_t> label;
  for (int i = 0; i < 400; ++i) {
    label.push_back(rng() % 3 == 0);
    // ReLU-like scores: many exact zeros (ties), the positives a little higher.
    const float s = std::normal_distribution<float>(label.back() ? 0.4f : 0.f, 1.f)(rng);
    score.push_back(s > 0 ? std::round(s * 100) / 100 : 0.f);
  }
  const std::string in = dir / "ap.txt", out = dir / "sk.txt";
  {
    std::ofstream f(in);
    f.precision(9);
    for (size_t i = 0; i < score.size(); ++i) f << score[i] << " " << int(label[i]) << "\n";
  }
  const std::string py =
      "import numpy as np; from sklearn.metrics import average_precision_score as ap; "
      "a = np.loadtxt('" + in + "', dtype=np.float32); y = a[:, 1].astype(int); s = a[:, 0]; "
      "open('" + out + "', 'w').write('%r %r' % (ap(y, s), ap(1 - y, s)))";
  ASSERT_EQ(std::system(("/usr/bin/python3 -c \"" + py + "\"").c_str()), 0)
      << "needs Debian's python3-sklearn (scripts/bootstrap.sh installs it)";
  std::ifstream f(out);
  double sk = 0, sk_neg = 0;
  ASSERT_TRUE(f >> sk >> sk_neg);
  EXPECT_NEAR(average_precision(score, label), sk, 1e-9);
  std::vector<uint8_t> neg;
  for (auto l : label) neg.push_back(!l);
  EXPECT_NEAR(average_precision(score, neg), sk_neg, 1e-9);
  EXPECT_NEAR(predictivity(score, label), std::max(sk, sk_neg), 1e-9);
}

TEST(ThresholdTest, HypergeometricMatchesAHandSumAndSciPy) {
  // M 10, n 5, N 5: P(X = 5) = 1/252 ≈ 0.00397, P(X = 4) = 25/252: with alpha 0.01, τ = 4
  // (P(X > 4) = 0.004 ≤ 0.01, P(X > 3) = 26/252 > 0.01); with alpha 0.001, τ = 5.
  EXPECT_EQ(hypergeom_threshold(10, 5, 5, 0.01), 4);
  EXPECT_EQ(hypergeom_threshold(10, 5, 5, 0.001), 5);
  // Binomial(4, 1/2): P(X = 4) = 1/16, P(X ≥ 3) = 5/16: alpha 0.1 gives τ = 3.
  EXPECT_EQ(binom_threshold(4, 0.5, 0.1), 3);
  EXPECT_EQ(binom_threshold(4, 0.5, 0.5), 2);  // P(X > 2) = 5/16 ≤ 0.5, P(X > 1) = 11/16
  // SciPy on the paper's shapes: the smallest t with sf(t) ≤ 0.001.
  struct Case { int64_t M, n, N; };
  const std::vector<Case> cases = {{512, 32, 5}, {4096, 512, 40}, {49152, 3072, 491}, {1024, 64, 10}};
  test::TempDir dir;
  const std::string out = dir / "scipy.txt";
  std::string py = "from scipy import stats; f = open('" + out + "', 'w'); ";
  for (const auto& c : cases)
    py += "rv = stats.hypergeom(" + std::to_string(c.M) + ", " + std::to_string(c.n) + ", " +
          std::to_string(c.N) + "); f.write('%d ' % next(t for t in range(0, 100000) if rv.sf(t) <= 0.001)); ";
  py += "rb = stats.binom(491, 1 / 16); f.write('%d' % next(t for t in range(0, 100000) if rb.sf(t) <= 0.001))";
  ASSERT_EQ(std::system(("/usr/bin/python3 -c \"" + py + "\"").c_str()), 0)
      << "needs Debian's python3-scipy (scripts/bootstrap.sh installs it)";
  std::ifstream f(out);
  for (const auto& c : cases) {
    int64_t want = -1;
    ASSERT_TRUE(f >> want);
    EXPECT_EQ(hypergeom_threshold(c.M, c.n, c.N, 0.001), want) << c.M << " " << c.n << " " << c.N;
  }
  int64_t want = -1;
  ASSERT_TRUE(f >> want);
  EXPECT_EQ(binom_threshold(491, 1.0 / 16, 0.001), want);
}

TEST(FunctionalExpertsTest, CountsAboveTheThresholdAndTheExtent) {
  // 4 experts of 5 neurons (M 20), N 5 selected all in expert 0: P(X = 5) = 1/15504 → functional.
  auto t = functional_experts({5, 0, 0, 0}, 20, 5, 0.001);
  EXPECT_EQ(t.selected, 5);
  EXPECT_EQ(t.functional, (std::vector<bool>{true, false, false, false}));
  EXPECT_DOUBLE_EQ(t.share, 0.25);
  EXPECT_DOUBLE_EQ(t.extent, 5 / (5.0 / 4));
  // Spread evenly: nobody is functional, extent 0.
  t = functional_experts({2, 1, 1, 1}, 20, 5, 0.001);
  EXPECT_EQ(t.share, 0.0);
  EXPECT_EQ(t.extent, 0.0);
  auto b = functional_experts_binomial({30, 2, 2, 2}, 0.001);
  EXPECT_EQ(b.threshold, binom_threshold(36, 0.25, 0.001));
  EXPECT_TRUE(b.functional[0]);
  EXPECT_FALSE(b.functional[1]);
}

// Rows drawn around k well-separated centres, the cluster of each row known.
torch::Tensor planted(int64_t n, int k, std::vector<int>* truth) {
  torch::manual_seed(3);
  auto centres = torch::randn({k, 8}) * 5;
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < n; ++i) ids.push_back((i * 7) % k);  // interleaved, equal sizes
  truth->assign(ids.begin(), ids.end());
  return centres.index_select(0, torch::tensor(ids)) + 0.3 * torch::randn({n, 8});
}

// Same partition up to renaming the parts.
void expect_same_partition(const std::vector<int>& got, const std::vector<int>& want) {
  ASSERT_EQ(got.size(), want.size());
  std::map<int, int> rename;
  for (size_t i = 0; i < got.size(); ++i) {
    auto [it, fresh] = rename.emplace(got[i], want[i]);
    EXPECT_EQ(it->second, want[i]) << "row " << i;
  }
}

void expect_equal_sizes(const std::vector<int>& of, int k) {
  std::vector<int> count(k, 0);
  for (int p : of) {
    ASSERT_GE(p, 0);
    ASSERT_LT(p, k);
    ++count[p];
  }
  for (int c : count) EXPECT_EQ(c, static_cast<int>(of.size()) / k);
}

TEST(PartitionTest, BalancedKmeansRecoversPlantedClustersInEqualSizes) {
  std::vector<int> truth;
  auto x = planted(96, 4, &truth);
  auto of = balanced_kmeans(x, 4, 1);
  expect_equal_sizes(of, 4);
  expect_same_partition(of, truth);
  // Unbalanced planted clusters still come out in equal sizes.
  auto y = torch::cat({torch::randn({30, 3}), torch::randn({10, 3}) + 20});
  expect_equal_sizes(balanced_kmeans(y, 2, 1), 2);
  EXPECT_THROW(balanced_kmeans(y, 3, 1), Error);  // 40 rows, 3 clusters
}

TEST(PartitionTest, CoactivationPartitionRecoversPlantedBlocks) {
  // 4 blocks of 8 neurons: heavy weights inside a block, light noise across.
  const int64_t n = 32;
  std::vector<int> truth;
  for (int64_t i = 0; i < n; ++i) truth.push_back(static_cast<int>((i * 5) % 4));
  std::mt19937 rng(2);
  auto w = torch::zeros({n, n}, torch::kDouble);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) {
      const double v = truth[i] == truth[j] ? 50 + rng() % 20 : rng() % 4;
      w[i][j] = v;
      w[j][i] = v;
    }
  auto of = coactivation_partition(w, 4, 1);
  expect_equal_sizes(of, 4);
  expect_same_partition(of, truth);
  // An unbalanced structure (a block of 12 and one of 4) is rebalanced to 8 + 8.
  auto u = torch::zeros({16, 16}, torch::kDouble);
  u.slice(0, 0, 12).slice(1, 0, 12).fill_(10);
  u.slice(0, 12, 16).slice(1, 12, 16).fill_(10);
  expect_equal_sizes(coactivation_partition(u, 2, 1), 2);
  // No edges at all: any equal split.
  expect_equal_sizes(coactivation_partition(torch::zeros({8, 8}), 4, 1), 4);
}

TEST(PartitionTest, RandomPartitionHasEqualSizesAndDependsOnTheSeed) {
  auto a = random_partition(64, 8, 1), b = random_partition(64, 8, 2);
  expect_equal_sizes(a, 8);
  expect_equal_sizes(b, 8);
  EXPECT_NE(a, b);
  EXPECT_EQ(a, random_partition(64, 8, 1));
}

}  // namespace
}  // namespace strata::nmt

namespace strata::nmt {
namespace {

TEST(SpearmanTest, MatchesAHandCaseAndSciPyWithTies) {
  EXPECT_NEAR(spearman({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0, 1e-12);
  EXPECT_NEAR(spearman({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0, 1e-12);
  // Ranks (1, 2, 3) vs (1, 3, 2): 1 − 6·2/(3·8) = 0.5.
  EXPECT_NEAR(spearman({1, 2, 3}, {5, 9, 7}), 0.5, 1e-12);
  EXPECT_EQ(spearman({1, 1, 1}, {1, 2, 3}), 0.0);  // constant side
  std::mt19937 rng(8);
  std::vector<double> a, b;
  for (int i = 0; i < 200; ++i) {
    a.push_back(static_cast<double>(rng() % 20));  // many ties
    b.push_back(a.back() + static_cast<double>(rng() % 15));
  }
  test::TempDir dir;
  const std::string in = dir / "ab.txt", out = dir / "rho.txt";
  {
    std::ofstream f(in);
    for (size_t i = 0; i < a.size(); ++i) f << a[i] << " " << b[i] << "\n";
  }
  const std::string py = "import numpy as np; from scipy import stats; x = np.loadtxt('" + in +
                         "'); open('" + out + "', 'w').write(repr(float(stats.spearmanr(x[:, 0], x[:, 1])[0])))";
  ASSERT_EQ(std::system(("/usr/bin/python3 -c \"" + py + "\"").c_str()), 0)
      << "needs Debian's python3-scipy (scripts/bootstrap.sh installs it)";
  std::ifstream f(out);
  double want = 0;
  ASSERT_TRUE(f >> want);
  EXPECT_NEAR(spearman(a, b), want, 1e-12);
}

}  // namespace
}  // namespace strata::nmt
