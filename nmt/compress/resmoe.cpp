#include "nmt/compress/resmoe.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <cstdio>

#include "kernels/assignment.h"
#include "kernels/packed_linear.h"
#include "nmt/util/error.h"

namespace strata::nmt::compress {

torch::Tensor permute_rows(const torch::Tensor& x, const std::vector<int64_t>& perm) {
  return x.index_select(0, torch::tensor(perm, torch::kLong));
}

Barycenter wasserstein_barycenter(const std::vector<torch::Tensor>& clouds, int max_iterations) {
  TORCH_CHECK(!clouds.empty() && max_iterations >= 1, "wasserstein_barycenter: no clouds");
  const int64_t E = static_cast<int64_t>(clouds.size());
  std::vector<torch::Tensor> X, sq;
  for (const auto& c : clouds) {
    TORCH_CHECK(c.dim() == 2 && c.sizes() == clouds[0].sizes(),
                "wasserstein_barycenter: clouds must all be [n, D]");
    X.push_back(c.detach().to(torch::kDouble).contiguous());
    sq.push_back(X.back().pow(2).sum(1));
  }
  const int64_t n = X[0].size(0);
  Barycenter r;
  r.center = X[0].clone();
  r.perms.assign(E, {});
  std::vector<std::vector<int64_t>> prev;
  std::vector<double> costs(E);
  for (int it = 0; it < max_iterations; ++it) {
    const auto c_sq = r.center.pow(2).sum(1).unsqueeze(1);
    at::parallel_for(0, E, 1, [&](int64_t b, int64_t end) {
      for (int64_t e = b; e < end; ++e) {
        // cost[j, m] = |C_j − X_e[m]|² (clamped: the expansion can round below zero)
        auto cost = (c_sq + sq[e].unsqueeze(0) - 2 * r.center.mm(X[e].t())).clamp_min(0);
        auto a = kernels::solve_assignment(cost);
        r.perms[e] = std::move(a.col);
        costs[e] = a.cost;
      }
    });
    double objective = 0;
    for (double c : costs) objective += c / static_cast<double>(n * E);
    r.objective.push_back(objective);
    r.iterations = it + 1;
    if (r.perms == prev) {  // the center is the mean of exactly these alignments: a fixed point
      r.converged = true;
      break;
    }
    auto sum = torch::zeros_like(r.center);
    for (int64_t e = 0; e < E; ++e) sum += permute_rows(X[e], r.perms[e]);
    r.center = sum / static_cast<double>(E);
    prev = r.perms;
  }
  return r;
}

std::vector<std::pair<std::string, moe::ExpertsImpl*>> experts_modules(TransformerImpl& model) {
  std::vector<std::pair<std::string, moe::ExpertsImpl*>> out;
  for (const auto& m : model.named_modules())
    if (auto* e = m.value()->as<moe::ExpertsImpl>()) out.emplace_back(m.key(), e);
  return out;
}

namespace {

const char* method_name(Method m) {
  switch (m) {
    case Method::kResMoe: return "resmoe";
    case Method::kPrune: return "prune";
    case Method::kSvd: return "svd";
    case Method::kMerge: return "merge";
  }
  return "?";
}

std::string fmt(const char* f, double x) {
  char b[64];
  std::snprintf(b, sizeof b, f, x);
  return b;
}

// Magnitude pruning of each residual row-set: keeps the k largest |entries| of every expert's
// flat residual; fills bitmap and values (in index order).
void store_sparse(const std::vector<torch::Tensor>& residual, int64_t k, bool int8,
                  CompressedExperts* c) {
  const int64_t E = static_cast<int64_t>(residual.size()), m = residual[0].numel();
  auto mask = torch::zeros({E, m}, torch::kBool);
  auto values = torch::empty({E, k}, torch::kFloat);
  for (int64_t e = 0; e < E; ++e) {
    auto flat = residual[e].reshape({-1}).to(torch::kFloat);
    auto idx = std::get<0>(std::get<1>(flat.abs().topk(k)).sort());
    mask[e].index_fill_(0, idx, true);
    values[e].copy_(flat.index_select(0, idx));
  }
  c->bitmap = pack_bits(mask);
  if (int8 && k > 0) {
    auto [q, s] = kernels::quantize_rows(values);
    c->values = q;
    c->value_scale = s;
  } else {
    c->values = values;
  }
}

// Truncated SVD of each residual: A = U_r·diag(S_r) [n, r], B = V_rᵀ [r, D].
void store_low_rank(const std::vector<torch::Tensor>& residual, int64_t r, bool int8,
                    CompressedExperts* c) {
  const int64_t E = static_cast<int64_t>(residual.size()), n = residual[0].size(0),
                D = residual[0].size(1);
  auto A = torch::empty({E, n, r}, torch::kFloat), B = torch::empty({E, r, D}, torch::kFloat);
  for (int64_t e = 0; e < E; ++e) {
    auto [U, S, Vh] = at::linalg_svd(residual[e].to(torch::kDouble), /*full_matrices=*/false);
    A[e].copy_(U.slice(1, 0, r) * S.slice(0, 0, r).unsqueeze(0));
    B[e].copy_(Vh.slice(0, 0, r));
  }
  if (int8) {
    auto [qa, sa] = kernels::quantize_rows(A.reshape({E * n, r}));
    auto [qb, sb] = kernels::quantize_rows(B.reshape({E * r, D}));
    c->a = qa.view({E, n, r});
    c->a_scale = sa.view({E, n});
    c->b = qb.view({E, r, D});
    c->b_scale = sb.view({E, r});
  } else {
    c->a = A;
    c->b = B;
  }
}

// Ward's agglomerative clustering of the rows of v [E, m] into G groups: each merge joins the two
// groups whose union least increases the within-group sum of squares. Returns each row's group
// (numbered by first member).
std::vector<int64_t> ward_groups(const torch::Tensor& v, int64_t G) {
  const int64_t E = v.size(0);
  std::vector<std::vector<int64_t>> groups(E);
  for (int64_t e = 0; e < E; ++e) groups[e] = {e};
  auto x = v.to(torch::kDouble);
  while (static_cast<int64_t>(groups.size()) > G) {
    std::vector<torch::Tensor> means;
    for (const auto& g : groups)
      means.push_back(x.index_select(0, torch::tensor(g, torch::kLong)).mean(0));
    auto M = torch::stack(means);
    auto sq = M.pow(2).sum(1);
    auto dist = (sq.unsqueeze(1) + sq.unsqueeze(0) - 2 * M.mm(M.t())).clamp_min(0);
    double best = INFINITY;
    size_t bi = 0, bj = 1;
    for (size_t i = 0; i < groups.size(); ++i)
      for (size_t j = i + 1; j < groups.size(); ++j) {
        const double ni = static_cast<double>(groups[i].size()), nj = static_cast<double>(groups[j].size());
        const double cost = ni * nj / (ni + nj) * dist[i][j].item<double>();
        if (cost < best) {
          best = cost;
          bi = i;
          bj = j;
        }
      }
    groups[bi].insert(groups[bi].end(), groups[bj].begin(), groups[bj].end());
    groups.erase(groups.begin() + static_cast<std::ptrdiff_t>(bj));
  }
  std::vector<int64_t> of(E);
  for (size_t g = 0; g < groups.size(); ++g)
    for (int64_t e : groups[g]) of[e] = static_cast<int64_t>(g);
  return of;
}

}  // namespace

CompressedExperts compress_experts(const moe::ExpertsImpl& experts, const CompressOptions& o,
                                   LayerReport* report) {
  torch::NoGradGuard no_grad;
  const int64_t E = experts.w1.size(0), d = experts.w1.size(1), n = experts.w1.size(2),
                D = 2 * d + 1, P = expert_parameters(experts);
  const std::string name = method_name(o.method);
  std::vector<torch::Tensor> X;
  for (int64_t e = 0; e < E; ++e) X.push_back(expert_features(experts, e));
  CompressedExperts c;
  c.method = name;
  c.ffn = n;
  c.b2 = experts.b2.detach().to(torch::kFloat).clone();
  LayerReport rep;
  const bool centered = o.method == Method::kResMoe || o.method == Method::kMerge;
  const bool low_rank = o.method == Method::kSvd || (o.method == Method::kResMoe && o.residual == Residual::kSvd);
  // What is stored besides the residuals, and the budget of a target compression.
  auto budget_left = [&](int64_t fixed) {
    const double left = (1 - o.compression) * static_cast<double>(P) - static_cast<double>(fixed);
    if (left < 0)
      throw Error("compress " + name + ": compression " + fmt("%.3f", o.compression) +
                  " leaves less than the " + (centered ? "barycenter and " : "") +
                  "output biases store (" + fmt("%.1f%%", 100.0 * fixed / P) + " of the experts)");
    return left;
  };
  std::vector<torch::Tensor> aligned = X, residual;
  if (o.method == Method::kResMoe) {
    auto bary = wasserstein_barycenter(X, o.max_iterations);
    auto C = bary.center.to(torch::kFloat);
    c.centers = C.unsqueeze(0).contiguous();
    c.group = torch::zeros({E}, torch::kLong);
    for (int64_t e = 0; e < E; ++e) {
      aligned[e] = permute_rows(X[e], bary.perms[e]);
      residual.push_back(aligned[e] - C);
    }
    rep.iterations = bary.iterations;
    rep.converged = bary.converged;
    rep.objective_first = bary.objective.front();
    rep.objective = bary.objective.back();
  } else if (o.method == Method::kMerge) {
    auto bary = wasserstein_barycenter(X, o.max_iterations);
    rep.iterations = bary.iterations;
    rep.converged = bary.converged;
    rep.objective_first = bary.objective.front();
    int64_t G = o.groups;
    if (G < 0 && o.compression >= 0)
      G = std::llround(budget_left(E * d) / static_cast<double>(n * D));
    if (G < 0) G = 1;
    if (G < 1 || G > E)
      throw Error("compress merge: " + std::to_string(G) + " groups for " + std::to_string(E) + " experts");
    rep.setting = "G=" + std::to_string(G);
    std::vector<torch::Tensor> flat;
    for (int64_t e = 0; e < E; ++e) flat.push_back(permute_rows(X[e], bary.perms[e]).reshape({-1}));
    const auto of = ward_groups(torch::stack(flat), G);
    c.centers = torch::empty({G, n, D}, torch::kFloat);
    c.group = torch::tensor(of, torch::kLong);
    double objective = 0;
    for (int64_t g = 0; g < G; ++g) {
      std::vector<torch::Tensor> members;
      std::vector<int64_t> ids;
      for (int64_t e = 0; e < E; ++e)
        if (of[e] == g) {
          members.push_back(X[e]);
          ids.push_back(e);
        }
      auto bg = wasserstein_barycenter(members, o.max_iterations);
      c.centers[g].copy_(bg.center);
      rep.converged = rep.converged && bg.converged;
      objective += bg.objective.back() * static_cast<double>(ids.size()) / static_cast<double>(E);
      for (size_t i = 0; i < ids.size(); ++i) aligned[ids[i]] = permute_rows(X[ids[i]], bg.perms[i]);
    }
    rep.objective = objective;
  } else {
    residual = X;
  }
  if (o.method != Method::kMerge) {
    const int64_t fixed = (centered ? n * D : 0) + E * d;
    if (low_rank) {
      int64_t r = o.rank;
      if (r < 0 && o.compression >= 0)
        r = std::llround(budget_left(fixed) / static_cast<double>(E * (n + D)));  // nearest, as G
      if (r < 0) throw Error("compress " + name + ": give --rank or --compression");
      r = std::min({r, n, D});
      if (r == 0 && !centered) throw Error("compress svd: rank 0 keeps nothing of the experts");
      rep.setting = "r=" + std::to_string(r);
      if (r > 0) store_low_rank(residual, r, o.int8, &c);
    } else {
      int64_t k = -1;
      if (o.sparsity >= 0) k = std::llround((1 - o.sparsity) * static_cast<double>(n * D));
      else if (o.compression >= 0)
        k = static_cast<int64_t>(budget_left(fixed) / static_cast<double>(E));
      if (k < 0) throw Error("compress " + name + ": give --sparsity or --compression");
      k = std::min(k, n * D);
      if (k == 0 && !centered) throw Error("compress prune: sparsity 1 keeps nothing of the experts");
      rep.setting = "s=" + fmt("%.3f", 1 - static_cast<double>(k) / static_cast<double>(n * D));
      if (k > 0) store_sparse(residual, k, o.int8, &c);
    }
  }
  c.validate(experts, "compress " + name);
  // The error of what is stored (int8 rounding included) against the aligned experts.
  double err = 0, norm = 0;
  for (int64_t e = 0; e < E; ++e) {
    err += (c.features(e) - aligned[e]).pow(2).sum().item<double>();
    norm += X[e].pow(2).sum().item<double>();
  }
  rep.relative_error = norm > 0 ? std::sqrt(err / norm) : 0;
  if (centered) {
    double left = 0;
    for (int64_t e = 0; e < E; ++e)
      left += (aligned[e] - c.centers[c.group[e].item<int64_t>()]).pow(2).sum().item<double>();
    rep.residual_share = norm > 0 ? left / norm : 0;
  }
  rep.parameters = P;
  rep.bytes = P * static_cast<int64_t>(sizeof(float));
  rep.stored_parameters = c.stored_parameters();
  rep.stored_bytes = c.stored_bytes();
  if (report) *report = rep;
  return c;
}

CompressedModel compress_model(TransformerImpl& model, const CompressOptions& options,
                               const std::vector<std::string>& layers, const CompressedModel& already,
                               std::vector<LayerReport>* reports) {
  const auto all = experts_modules(model);
  if (all.empty()) throw Error("compress: the model has no MoE layers (model.moe.type is none)");
  std::vector<size_t> chosen;
  for (const auto& spec : layers) {
    size_t i = 0;
    while (i < all.size() && all[i].first != spec && std::to_string(i) != spec) ++i;
    if (i == all.size())
      throw Error("--layers: no MoE layer '" + spec + "' (0.." + std::to_string(all.size() - 1) +
                  " or a name such as " + all[0].first + ")");
    chosen.push_back(i);
  }
  if (layers.empty())
    for (size_t i = 0; i < all.size(); ++i) chosen.push_back(i);
  CompressedModel out = already;
  for (size_t i : chosen) {
    LayerReport rep;
    out[all[i].first] = compress_experts(*all[i].second, options, &rep);
    rep.module = all[i].first;
    if (reports) reports->push_back(rep);
  }
  return out;
}

}  // namespace strata::nmt::compress
