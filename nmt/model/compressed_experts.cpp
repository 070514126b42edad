#include "nmt/model/compressed_experts.h"

#include <sstream>

#include "nmt/util/error.h"

namespace strata::nmt {

namespace {

torch::Tensor bit_values() {
  return torch::tensor({1, 2, 4, 8, 16, 32, 64, 128}, torch::kByte);
}

// f32 rows of an int8 tensor with one scale per row (x = q / scale), or the tensor itself.
torch::Tensor dequantize(const torch::Tensor& q, const torch::Tensor& scale) {
  if (!scale.defined()) return q;
  return q.to(torch::kFloat) / scale.unsqueeze(-1);
}

std::string shape_of(const torch::Tensor& t) {
  std::ostringstream os;
  os << t.sizes() << " " << t.scalar_type();
  return os.str();
}

}  // namespace

torch::Tensor pack_bits(const torch::Tensor& mask) {
  TORCH_CHECK(mask.dim() == 2 && mask.scalar_type() == torch::kBool, "pack_bits: expected [E, m] bool");
  const int64_t E = mask.size(0), m = mask.size(1), bytes = (m + 7) / 8;
  auto padded = torch::zeros({E, bytes * 8}, torch::kByte);
  padded.slice(1, 0, m).copy_(mask);
  return (padded.view({E, bytes, 8}).to(torch::kInt) * bit_values().to(torch::kInt))
      .sum(-1)
      .to(torch::kByte);
}

torch::Tensor unpack_bits(const torch::Tensor& bits, int64_t m) {
  TORCH_CHECK(bits.dim() == 2 && bits.scalar_type() == torch::kByte && bits.size(1) * 8 >= m,
              "unpack_bits: expected [E, >= m/8] u8");
  return torch::bitwise_and(bits.unsqueeze(-1), bit_values())
      .ne(0)
      .view({bits.size(0), bits.size(1) * 8})
      .slice(1, 0, m);
}

torch::Tensor expert_features(const moe::ExpertsImpl& experts, int64_t e) {
  torch::NoGradGuard no_grad;
  return torch::cat({experts.w1[e].t(), experts.b1[e].unsqueeze(1), experts.w2[e]}, 1)
      .to(torch::kFloat)
      .contiguous();
}

int64_t expert_parameters(const moe::ExpertsImpl& experts) {
  const int64_t E = experts.w1.size(0), d = experts.w1.size(1), n = experts.w1.size(2);
  return E * (n * (2 * d + 1) + d);
}

std::string CompressedExperts::residual() const {
  if (bitmap.defined()) return "sparse";
  if (a.defined()) return "lowrank";
  return "none";
}

bool CompressedExperts::int8() const { return value_scale.defined() || a_scale.defined(); }

torch::Tensor CompressedExperts::features(int64_t e) const {
  torch::NoGradGuard no_grad;
  const int64_t n = ffn, D = 2 * d_model() + 1;
  auto x = centers.defined() ? centers[group[e].item<int64_t>()].clone()
                             : torch::zeros({n, D}, torch::kFloat);
  if (bitmap.defined()) {
    auto mask = unpack_bits(bitmap.slice(0, e, e + 1), n * D)[0];
    auto r = torch::zeros({n * D}, torch::kFloat);
    auto v = value_scale.defined() ? dequantize(values.slice(0, e, e + 1), value_scale.slice(0, e, e + 1))[0]
                                   : values[e];
    r.masked_scatter_(mask, v);
    x += r.view({n, D});
  }
  if (a.defined()) {
    auto A = a_scale.defined() ? dequantize(a[e], a_scale[e]) : a[e];
    auto B = b_scale.defined() ? dequantize(b[e], b_scale[e]) : b[e];
    x += A.matmul(B);
  }
  return x;
}

void CompressedExperts::restore_into(moe::ExpertsImpl& experts) const {
  torch::NoGradGuard no_grad;
  const int64_t d = d_model();
  for (int64_t e = 0; e < num_experts(); ++e) {
    auto x = features(e);
    experts.w1[e].copy_(x.slice(1, 0, d).t());
    experts.b1[e].copy_(x.select(1, d));
    experts.w2[e].copy_(x.slice(1, d + 1));
  }
  experts.b2.copy_(b2);
}

moe::ExpertWeights CompressedSource::load(int64_t e) const {
  auto x = layer_.features(e);
  const int64_t d = layer_.d_model();
  return {x.slice(1, 0, d).t().contiguous(), x.select(1, d).contiguous(),
          x.slice(1, d + 1).contiguous()};
}

int64_t CompressedExperts::stored_parameters() const {
  int64_t n = b2.numel();
  for (const auto* t : {&centers, &values, &a, &b})
    if (t->defined()) n += t->numel();
  return n;
}

int64_t CompressedExperts::stored_bytes() const {
  int64_t n = 0;
  for (const auto& [name, t] : tensors()) n += static_cast<int64_t>(t.nbytes());
  return n;
}

std::vector<std::pair<std::string, torch::Tensor>> CompressedExperts::tensors() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  out.emplace_back("shape", torch::tensor({b2.defined() ? num_experts() : 0, ffn,
                                           b2.defined() ? d_model() : 0}));
  const std::pair<const char*, const torch::Tensor*> fields[] = {
      {"centers", &centers}, {"group", &group},   {"b2", &b2},           {"bitmap", &bitmap},
      {"values", &values},   {"value_scale", &value_scale},              {"a", &a},
      {"a_scale", &a_scale}, {"b", &b},           {"b_scale", &b_scale}};
  for (const auto& [name, t] : fields)
    if (t->defined()) out.emplace_back(name, *t);
  return out;
}

bool CompressedExperts::set(const std::string& field, const torch::Tensor& t) {
  if (field == "shape") {
    if (t.numel() != 3 || t.scalar_type() != torch::kLong) return false;
    ffn = t[1].item<int64_t>();
    return true;
  }
  torch::Tensor* fields[] = {&centers, &group, &b2, &bitmap, &values, &value_scale,
                             &a,       &a_scale, &b, &b_scale};
  const char* names[] = {"centers", "group", "b2", "bitmap", "values", "value_scale",
                         "a",       "a_scale", "b", "b_scale"};
  for (size_t i = 0; i < std::size(names); ++i)
    if (field == names[i]) {
      *fields[i] = t;
      return true;
    }
  return false;
}

void CompressedExperts::validate(const moe::ExpertsImpl& experts, const std::string& where) const {
  const int64_t E = experts.w1.size(0), d = experts.w1.size(1), n = experts.w1.size(2), D = 2 * d + 1;
  auto fail = [&](const std::string& what) { throw Error(where + ": " + what); };
  auto expect = [&](const torch::Tensor& t, const char* name, torch::ScalarType type,
                    std::vector<int64_t> shape) {
    if (!t.defined()) fail(std::string("no '") + name + "'");
    if (t.scalar_type() != type || t.sizes() != c10::IntArrayRef(shape)) {
      std::ostringstream want;
      want << c10::IntArrayRef(shape) << " " << type;
      fail(std::string("'") + name + "' is " + shape_of(t) + ", expected " + want.str());
    }
    if (t.is_floating_point() && !torch::isfinite(t).all().item<bool>())
      fail(std::string("'") + name + "' has values that are not finite");
  };
  auto expect_scale = [&](const torch::Tensor& t, const char* name, std::vector<int64_t> shape) {
    expect(t, name, torch::kFloat, std::move(shape));
    if (!t.gt(0).all().item<bool>()) fail(std::string("'") + name + "' has scales <= 0");
  };
  if (ffn != n) fail("stored for experts of ffn " + std::to_string(ffn) + ", the model has " + std::to_string(n));
  expect(b2, "b2", torch::kFloat, {E, d});
  if (centers.defined()) {
    if (centers.dim() != 3 || centers.size(0) < 1) fail("'centers' is " + shape_of(centers));
    const int64_t G = centers.size(0);
    expect(centers, "centers", torch::kFloat, {G, n, D});
    expect(group, "group", torch::kLong, {E});
    if (group.lt(0).any().item<bool>() || group.ge(G).any().item<bool>())
      fail("'group' names a center outside [0, " + std::to_string(G) + ")");
  } else if (group.defined()) {
    fail("'group' without 'centers'");
  }
  const bool sparse = bitmap.defined() || values.defined(), low = a.defined() || b.defined();
  if (sparse && low) fail("both a sparse and a low-rank residual");
  if (!sparse && !low && !centers.defined()) fail("neither centers nor residuals");
  if (sparse) {
    expect(bitmap, "bitmap", torch::kByte, {E, (n * D + 7) / 8});
    if (!values.defined() || values.dim() != 2) fail("'values' missing or not [E, k]");
    const int64_t k = values.size(1);
    const bool q = value_scale.defined();
    expect(values, "values", q ? torch::kChar : torch::kFloat, {E, k});
    if (q) expect_scale(value_scale, "value_scale", {E});
    // Every kept entry has one value, and no bit is set past the end of the residual.
    if (!unpack_bits(bitmap, n * D).sum(1).eq(k).all().item<bool>() ||
        unpack_bits(bitmap, bitmap.size(1) * 8).sum().item<int64_t>() != E * k)
      fail("'bitmap' does not mark " + std::to_string(k) + " entries per expert");
  } else if (value_scale.defined()) {
    fail("'value_scale' without sparse values");
  }
  if (low) {
    if (!a.defined() || !b.defined() || a.dim() != 3) fail("low-rank factors 'a' and 'b' must both be [E, …]");
    const int64_t r = a.size(2);
    const bool q = a_scale.defined();
    expect(a, "a", q ? torch::kChar : torch::kFloat, {E, n, r});
    expect(b, "b", q ? torch::kChar : torch::kFloat, {E, r, D});
    if (q || b_scale.defined()) {
      expect_scale(a_scale, "a_scale", {E, n});
      expect_scale(b_scale, "b_scale", {E, r});
    }
  } else if (a_scale.defined() || b_scale.defined()) {
    fail("factor scales without low-rank factors");
  }
}

}  // namespace strata::nmt
