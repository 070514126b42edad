#pragma once
// The linear assignment problem on a dense square cost matrix: the permutation π minimising
// Σ_i cost[i, π(i)]. Shortest augmenting paths with dual potentials (Jonker–Volgenant's
// augmentation, the O(n³) Hungarian method): rows are added one at a time, each by a Dijkstra
// search over reduced costs cost[i, j] − u[i] − v[j] ≥ 0. ResMoE's alignment of experts (one
// assignment per expert and barycenter iteration) is its user.
//
//   auto a = kernels::solve_assignment(cost);    // cost [n, n], any float dtype, CPU
//   a.col[i]                                       // the column given to row i
//
// The returned potentials are an optimality certificate: u[i] + v[j] ≤ cost[i, j] for every pair,
// with equality on the assigned pairs, so Σ cost[i, col[i]] = Σ u + Σ v is the minimum (linear
// programming duality). Tests check it against brute force and the certificate.
//
// Debian ships no dense assignment solver for C++ (LEMON and Boost.Graph solve it only as a
// general min-cost flow or matching over n² edges); SciPy's linear_sum_assignment (the same
// method) is the second implementation in the tests.
#include <torch/torch.h>

#include <vector>

namespace strata::kernels {

struct Assignment {
  std::vector<int64_t> col;  // [n]: column of row i (a permutation of 0..n-1)
  std::vector<double> u, v;  // dual potentials of rows and columns
  double cost = 0;           // Σ_i cost[i, col[i]]
};

// cost: a finite [n, n] CPU tensor (n ≥ 0), computed in double. Throws c10::Error otherwise.
Assignment solve_assignment(const torch::Tensor& cost);

}  // namespace strata::kernels
