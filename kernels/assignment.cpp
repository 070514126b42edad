#include "kernels/assignment.h"

#include <limits>

namespace strata::kernels {

Assignment solve_assignment(const torch::Tensor& cost) {
  TORCH_CHECK(cost.dim() == 2 && cost.size(0) == cost.size(1) && cost.is_cpu() &&
                  cost.is_floating_point(),
              "solve_assignment: expected a square floating-point CPU matrix, got ", cost.sizes(),
              " ", cost.scalar_type());
  const auto c = cost.to(torch::kDouble).contiguous();
  TORCH_CHECK(torch::isfinite(c).all().item<bool>(), "solve_assignment: costs must be finite");
  const int64_t n = c.size(0);
  const double* a = c.data_ptr<double>();
  constexpr double kInf = std::numeric_limits<double>::infinity();
  // 1-based rows and columns; column 0 is the root of each search. row_of[j]: row matched to
  // column j (0 = free); prev[j]: the column before j on the shortest path.
  std::vector<double> u(n + 1, 0.0), v(n + 1, 0.0), dist(n + 1);
  std::vector<int64_t> row_of(n + 1, 0), prev(n + 1, 0);
  std::vector<char> done(n + 1);
  for (int64_t i = 1; i <= n; ++i) {
    row_of[0] = i;
    int64_t j0 = 0;
    std::fill(dist.begin(), dist.end(), kInf);
    std::fill(done.begin(), done.end(), 0);
    do {  // Dijkstra over reduced costs until a free column is reached
      done[j0] = 1;
      const int64_t i0 = row_of[j0];
      const double* row = a + (i0 - 1) * n;
      double delta = kInf;
      int64_t j1 = 0;
      for (int64_t j = 1; j <= n; ++j) {
        if (done[j]) continue;
        const double reduced = row[j - 1] - u[i0] - v[j];
        if (reduced < dist[j]) {
          dist[j] = reduced;
          prev[j] = j0;
        }
        if (dist[j] < delta) {
          delta = dist[j];
          j1 = j;
        }
      }
      for (int64_t j = 0; j <= n; ++j) {
        if (done[j]) {
          u[row_of[j]] += delta;
          v[j] -= delta;
        } else {
          dist[j] -= delta;
        }
      }
      j0 = j1;
    } while (row_of[j0] != 0);
    do {  // augment along the path back to the root
      const int64_t j1 = prev[j0];
      row_of[j0] = row_of[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  Assignment r;
  r.col.assign(n, 0);
  for (int64_t j = 1; j <= n; ++j) r.col[row_of[j] - 1] = j - 1;
  r.u.assign(u.begin() + 1, u.end());
  r.v.assign(v.begin() + 1, v.end());
  for (int64_t i = 0; i < n; ++i) r.cost += a[i * n + r.col[i]];
  return r;
}

}  // namespace strata::kernels
