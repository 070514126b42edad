#pragma once
// The statistics of the modularity analysis (Zhang et al., "Emergent Modularity in Pre-trained
// Transformers", Findings ACL 2023; docs/methods §8): neuron predictivity as average precision,
// the hypergeometric and binomial tests that call an expert functional, and the three ways to
// split a dense FFN's neurons into experts (MoEfication): balanced k-means on L2-normalised input
// weights, a METIS partition of the co-activation graph, and a random partition (the baseline).
//
//   double ap = predictivity(scores, labels);                 // max(AP(y), AP(1 − y))
//   int64_t tau = hypergeom_threshold(M, n, N, 0.001);         // c_e > tau: functional
//   FunctionalTest t = functional_experts(counts, M, n, 0.001);
//   std::vector<int> of = balanced_kmeans(normalised_rows, k, seed);
//   std::vector<int> of = coactivation_partition(coactive_counts, k, seed);
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace strata::nmt {

// Average precision of `score` ranking the positives of `label` (label[i] != 0), as
// scikit-learn's average_precision_score: Σ_k (R_k − R_{k−1})·P_k over the distinct scores
// taken as thresholds from the highest down (tied scores enter together). 0 without positives.
double average_precision(const std::vector<float>& score, const std::vector<uint8_t>& label);

// The paper's predictivity: max(AP(label), AP(1 − label)): a neuron that fires for the negatives
// predicts the sub-function as well as one that fires for the positives.
double predictivity(const std::vector<float>& score, const std::vector<uint8_t>& label);

// X ~ Hypergeometric(population M, n successes in it, N draws): the smallest t with
// P(X > t) ≤ alpha (the paper's τ; scipy.stats.hypergeom(M, n, N).sf(t) ≤ alpha).
int64_t hypergeom_threshold(int64_t M, int64_t n, int64_t N, double alpha);

// X ~ Binomial(N, p): the smallest t with P(X > t) ≤ alpha.
int64_t binom_threshold(int64_t N, double p, double alpha);

// Spearman's rank correlation (ties get their average rank, as scipy.stats.spearmanr): the
// Pearson correlation of the ranks; 0 when either side is constant.
double spearman(const std::vector<double>& a, const std::vector<double>& b);

// One test over the experts of a layer: counts[e] of the selected neurons fall in expert e.
struct FunctionalTest {
  int64_t selected = 0;             // N = Σ counts
  int64_t threshold = 0;            // τ
  std::vector<int64_t> counts;      // [E]
  std::vector<bool> functional;     // [E] counts[e] > τ
  double share = 0;                 // functional experts / E
  double extent = 0;                // mean over functional experts of counts[e] / (N / E); 0 if none
};

// Sub-function level: hypergeometric τ for experts of `expert_size` neurons each in a layer of
// `population` neurons.
FunctionalTest functional_experts(const std::vector<int64_t>& counts, int64_t population,
                                  int64_t expert_size, double alpha);

// Function level (the union of its sub-functions' selections, a neuron once per sub-function):
// binomial τ with p = 1/E.
FunctionalTest functional_experts_binomial(const std::vector<int64_t>& counts, double alpha);

// Balanced k-means: rows of x [n, D] into k clusters of exactly n/k rows each (k must divide n).
// k-means++ seeding, then alternating an exact capacity-constrained assignment (each centre
// copied n/k times, kernels/assignment) with the centre update, until the assignment repeats or
// `iterations` pass. Returns the cluster of each row.
std::vector<int> balanced_kmeans(const torch::Tensor& x, int k, uint64_t seed, int iterations = 30);

// A partition of the graph with symmetric non-negative edge weights w [n, n] (the diagonal is
// ignored) into k parts of exactly n/k vertices that cuts little weight: METIS k-way
// (METIS_PartGraphKway, minimum edge cut), then rebalanced by moving the vertices whose move
// loses the least internal weight from over-full parts into parts with room.
std::vector<int> coactivation_partition(const torch::Tensor& w, int k, uint64_t seed);

// n/k consecutive ids after a seeded shuffle: the random baseline.
std::vector<int> random_partition(int64_t n, int k, uint64_t seed);

}  // namespace strata::nmt
