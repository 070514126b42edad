// Average precision, the hypergeometric and binomial thresholds, and the three MoEfication
// partitions (balanced k-means, METIS on the co-activation graph, random).
#include "nmt/analysis/modularity_stats.h"

#include <metis.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "kernels/assignment.h"
#include "nmt/util/error.h"

namespace strata::nmt {

namespace {

double average_precision_of(const std::vector<float>& score, const std::vector<uint8_t>& label,
                            bool positive) {
  const size_t n = score.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] > score[b]; });
  double total = 0;
  for (size_t i = 0; i < n; ++i) total += (label[i] != 0) == positive;
  if (total == 0) return 0;
  double tp = 0, fp = 0, ap = 0, recall = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;  // every row with this score enters at once
    for (; j < n && score[order[j]] == score[order[i]]; ++j) ((label[order[j]] != 0) == positive ? tp : fp) += 1;
    const double r = tp / total;
    ap += (r - recall) * tp / (tp + fp);
    recall = r;
    i = j;
  }
  return ap;
}

// log C(n, k)
double log_choose(int64_t n, int64_t k) {
  return std::lgamma(static_cast<double>(n) + 1) - std::lgamma(static_cast<double>(k) + 1) -
         std::lgamma(static_cast<double>(n - k) + 1);
}

// The smallest t in [lo − 1, hi] with Σ_{x = t+1..hi} pmf(x) ≤ alpha (pmf 0 outside [lo, hi]).
template <class Pmf>
int64_t upper_tail_threshold(int64_t lo, int64_t hi, double alpha, Pmf pmf) {
  int64_t t = hi;
  double tail = 0;
  while (t >= lo && tail + pmf(t) <= alpha) tail += pmf(t--);
  return std::max<int64_t>(t, 0);
}

FunctionalTest finish(const std::vector<int64_t>& counts, int64_t threshold) {
  FunctionalTest t;
  t.counts = counts;
  t.threshold = threshold;
  for (int64_t c : counts) t.selected += c;
  const double E = static_cast<double>(counts.size());
  double sum = 0;
  int functional = 0;
  for (int64_t c : counts) {
    t.functional.push_back(c > threshold);
    if (c > threshold) {
      ++functional;
      sum += static_cast<double>(c) / (static_cast<double>(t.selected) / E);
    }
  }
  t.share = E > 0 ? functional / E : 0;
  t.extent = functional ? sum / functional : 0;
  return t;
}

torch::Tensor squared_distances(const torch::Tensor& x, const torch::Tensor& c) {  // [n, k]
  return (x.pow(2).sum(1, true) - 2 * x.matmul(c.t()) + c.pow(2).sum(1).unsqueeze(0)).clamp_min(0);
}

}  // namespace

double average_precision(const std::vector<float>& score, const std::vector<uint8_t>& label) {
  if (score.size() != label.size())
    throw Error("average_precision: " + std::to_string(score.size()) + " scores, " +
                std::to_string(label.size()) + " labels");
  return average_precision_of(score, label, true);
}

double predictivity(const std::vector<float>& score, const std::vector<uint8_t>& label) {
  if (score.size() != label.size())
    throw Error("predictivity: " + std::to_string(score.size()) + " scores, " +
                std::to_string(label.size()) + " labels");
  return std::max(average_precision_of(score, label, true), average_precision_of(score, label, false));
}

namespace {
std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && v[order[j]] == v[order[i]]) ++j;
    const double mid = 0.5 * static_cast<double>(i + j - 1) + 1;  // ranks i+1 .. j, averaged
    for (size_t k = i; k < j; ++k) r[order[k]] = mid;
    i = j;
  }
  return r;
}
}  // namespace

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size())
    throw Error("spearman: " + std::to_string(a.size()) + " vs " + std::to_string(b.size()) + " values");
  const auto ra = ranks(a), rb = ranks(b);
  const double n = static_cast<double>(a.size());
  double ma = 0, mb = 0;
  for (size_t i = 0; i < ra.size(); ++i) ma += ra[i] / n, mb += rb[i] / n;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < ra.size(); ++i) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0;
}

int64_t hypergeom_threshold(int64_t M, int64_t n, int64_t N, double alpha) {
  if (M < 0 || n < 0 || N < 0 || n > M || N > M)
    throw Error("hypergeom_threshold: need 0 <= n, N <= M (M " + std::to_string(M) + ", n " +
                std::to_string(n) + ", N " + std::to_string(N) + ")");
  const int64_t lo = std::max<int64_t>(0, N - (M - n)), hi = std::min(n, N);
  const double all = log_choose(M, N);
  return upper_tail_threshold(lo, hi, alpha, [&](int64_t x) {
    return std::exp(log_choose(n, x) + log_choose(M - n, N - x) - all);
  });
}

int64_t binom_threshold(int64_t N, double p, double alpha) {
  if (N < 0 || !(p > 0 && p < 1))
    throw Error("binom_threshold: need N >= 0 and 0 < p < 1");
  return upper_tail_threshold(0, N, alpha, [&](int64_t x) {
    return std::exp(log_choose(N, x) + static_cast<double>(x) * std::log(p) +
                    static_cast<double>(N - x) * std::log1p(-p));
  });
}

FunctionalTest functional_experts(const std::vector<int64_t>& counts, int64_t population,
                                  int64_t expert_size, double alpha) {
  int64_t N = 0;
  for (int64_t c : counts) N += c;
  return finish(counts, hypergeom_threshold(population, expert_size, N, alpha));
}

FunctionalTest functional_experts_binomial(const std::vector<int64_t>& counts, double alpha) {
  int64_t N = 0;
  for (int64_t c : counts) N += c;
  if (counts.size() < 2) return finish(counts, N);
  return finish(counts, binom_threshold(N, 1.0 / static_cast<double>(counts.size()), alpha));
}

std::vector<int> balanced_kmeans(const torch::Tensor& x_in, int k, uint64_t seed, int iterations) {
  const int64_t n = x_in.size(0);
  if (x_in.dim() != 2 || k < 1 || n % k != 0)
    throw Error("balanced_kmeans: " + std::to_string(n) + " rows do not split into " +
                std::to_string(k) + " equal clusters");
  const int64_t size = n / k;
  if (k == 1) return std::vector<int>(n, 0);
  torch::NoGradGuard ng;
  auto x = x_in.to(torch::kDouble).contiguous();
  std::mt19937_64 rng(seed);
  // k-means++: each next centre drawn with probability ∝ squared distance to the nearest one.
  std::vector<int64_t> picks{static_cast<int64_t>(rng() % static_cast<uint64_t>(n))};
  auto nearest = squared_distances(x, x[picks[0]].unsqueeze(0)).squeeze(1);
  while (static_cast<int>(picks.size()) < k) {
    const double total = nearest.sum().item<double>();
    int64_t next = static_cast<int64_t>(rng() % static_cast<uint64_t>(n));
    if (total > 0) {
      double r = std::uniform_real_distribution<double>(0, total)(rng);
      const double* d = nearest.data_ptr<double>();
      for (next = 0; next < n - 1 && r >= d[next]; ++next) r -= d[next];
    }
    picks.push_back(next);
    nearest = torch::minimum(nearest, squared_distances(x, x[next].unsqueeze(0)).squeeze(1));
  }
  auto centres = x.index_select(0, torch::tensor(picks, torch::kLong));
  std::vector<int> of(n, -1);
  for (int it = 0; it < iterations; ++it) {
    // Each centre as `size` columns: an assignment of rows to columns fills every cluster.
    auto cost = squared_distances(x, centres).repeat_interleave(size, 1);
    const auto a = kernels::solve_assignment(cost);
    std::vector<int> now(n);
    for (int64_t i = 0; i < n; ++i) now[i] = static_cast<int>(a.col[i] / size);
    if (now == of) break;
    of = std::move(now);
    auto ids = torch::tensor(std::vector<int64_t>(of.begin(), of.end()), torch::kLong);
    centres = torch::zeros_like(centres).index_add_(0, ids, x) / static_cast<double>(size);
  }
  return of;
}

std::vector<int> coactivation_partition(const torch::Tensor& w_in, int k, uint64_t seed) {
  const int64_t n = w_in.size(0);
  if (w_in.dim() != 2 || w_in.size(1) != n || k < 1 || n % k != 0)
    throw Error("coactivation_partition: a square graph of " + std::to_string(n) +
                " vertices does not split into " + std::to_string(k) + " equal parts");
  if (k == 1) return std::vector<int>(n, 0);
  auto w = w_in.to(torch::kDouble).contiguous();
  const double* W = w.data_ptr<double>();
  // CSR with integer weights (METIS needs them positive): the counts, rounded.
  std::vector<idx_t> xadj{0}, adj, wgt;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      const double v = std::round(0.5 * (W[i * n + j] + W[j * n + i]));
      if (i != j && v > 0) {
        adj.push_back(static_cast<idx_t>(j));
        wgt.push_back(static_cast<idx_t>(std::min(v, 1e9)));
      }
    }
    xadj.push_back(static_cast<idx_t>(adj.size()));
  }
  std::vector<idx_t> part(n, 0);
  idx_t nv = static_cast<idx_t>(n), ncon = 1, nparts = k, cut = 0;
  idx_t options[METIS_NOPTIONS];
  METIS_SetDefaultOptions(options);
  options[METIS_OPTION_SEED] = static_cast<idx_t>(seed % 1000003);
  options[METIS_OPTION_UFACTOR] = 1;  // as balanced as METIS goes; the rest is rebalanced below
  if (!adj.empty()) {
    const int rc = METIS_PartGraphKway(&nv, &ncon, xadj.data(), adj.data(), nullptr, nullptr,
                                       wgt.data(), &nparts, nullptr, nullptr, options, &cut, part.data());
    if (rc != METIS_OK) throw Error("coactivation_partition: METIS_PartGraphKway failed (" + std::to_string(rc) + ")");
  }
  // Rebalance: each move takes, from an over-full part, the vertex whose move to a part with room
  // loses the least internal weight.
  const int64_t size = n / k;
  std::vector<int64_t> count(k, 0);
  for (idx_t p : part) ++count[p];
  std::vector<double> link(static_cast<size_t>(n) * k, 0);  // link[v][p]: v's weight into part p
  for (int64_t v = 0; v < n; ++v)
    for (idx_t e = xadj[v]; e < xadj[v + 1]; ++e) link[v * k + part[adj[e]]] += wgt[e];
  for (;;) {
    int64_t best_v = -1;
    int best_q = -1;
    double best_gain = -1e300;
    for (int64_t v = 0; v < n; ++v) {
      if (count[part[v]] <= size) continue;
      for (int q = 0; q < k; ++q) {
        if (count[q] >= size) continue;
        const double gain = link[v * k + q] - link[v * k + part[v]];
        if (gain > best_gain) best_gain = gain, best_v = v, best_q = q;
      }
    }
    if (best_v < 0) break;
    const int from = static_cast<int>(part[best_v]);
    for (idx_t e = xadj[best_v]; e < xadj[best_v + 1]; ++e) {
      link[adj[e] * k + from] -= wgt[e];
      link[adj[e] * k + best_q] += wgt[e];
    }
    --count[from];
    ++count[best_q];
    part[best_v] = best_q;
  }
  return std::vector<int>(part.begin(), part.end());
}

std::vector<int> random_partition(int64_t n, int k, uint64_t seed) {
  if (k < 1 || n % k != 0)
    throw Error("random_partition: " + std::to_string(n) + " neurons do not split into " +
                std::to_string(k) + " equal experts");
  std::vector<int64_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), std::mt19937_64(seed));
  std::vector<int> of(n);
  for (int64_t i = 0; i < n; ++i) of[perm[i]] = static_cast<int>(i / (n / k));
  return of;
}

}  // namespace strata::nmt
