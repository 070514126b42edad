// Int8 checkpoints (`strata quantize`, checkpoint format 4) on every model kind of the fixtures:
// the stored values are the per-row quantization of the float32 weights (checked against a plain
// loop), loading restores exactly those values (dequantized, or kept int8 only), the int8-only
// model gives the dequantized model's int8 logits bit for bit, holds no float32 copy of those
// weights and refuses the other compute types in one line; quantizing again changes nothing.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <c10/core/CPUAllocator.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>

#include "kernels/linear.h"
#include "kernels/precision.h"
#include "nmt/config.h"
#include "nmt/model/checkpoint.h"
#include "nmt/util/error.h"
#include "tests/fixtures/fixture_inputs.h"
#include "tests/test_util.h"

namespace strata {
namespace {

// Per-row symmetric quantization by hand: s = 127 / max|w[n,:]|, q = round-half-even(w · s).
std::pair<torch::Tensor, torch::Tensor> quantize_by_hand(const torch::Tensor& w2d) {
  auto w = w2d.contiguous();
  const int64_t N = w.size(0), K = w.size(1);
  auto q = torch::empty({N, K}, torch::kChar);
  auto s = torch::empty({N}, torch::kFloat);
  auto wa = w.accessor<float, 2>();
  auto qa = q.accessor<int8_t, 2>();
  for (int64_t n = 0; n < N; ++n) {
    float amax = 0;
    for (int64_t k = 0; k < K; ++k) amax = std::max(amax, std::fabs(wa[n][k]));
    const float scale = amax > 0 ? 127.f / amax : 1.f;
    for (int64_t k = 0; k < K; ++k) qa[n][k] = static_cast<int8_t>(std::nearbyint(wa[n][k] * scale));
    s[n] = scale;
  }
  return {q, s};
}

int64_t storage_bytes(const torch::Tensor& t) { return static_cast<int64_t>(t.storage().nbytes()); }

torch::Tensor logits_in(nmt::Transformer& m, kernels::ComputeType t) {
  kernels::pack_weights(*m, t);
  kernels::ComputeTypeGuard g(t);
  return test::fixture_logits(m, test::FixtureInputs{});
}

// LibTorch's CPU allocator with a count of the bytes its tensors hold and their peak, while
// installed (install/uninstall); a second, independent measure of what a load allocates.
class CountingAllocator final : public at::Allocator {
 public:
  at::DataPtr allocate(size_t n) const override {
    at::DataPtr inner = c10::GetDefaultCPUAllocator()->allocate(n);
    void* data = inner.get();
    const auto device = inner.device();
    const int64_t now = live_ += static_cast<int64_t>(n);
    int64_t peak = peak_.load();
    while (now > peak && !peak_.compare_exchange_weak(peak, now)) {}
    return {data, new Held{std::move(inner), static_cast<int64_t>(n), this}, &Held::release, device};
  }
  void install() {
    peak_ = live_.load();
    start_ = live_.load();
    c10::SetCPUAllocator(this, /*priority=*/100);
  }
  // The peak above the bytes held when installed.
  int64_t uninstall() {
    c10::SetCPUAllocator(c10::GetDefaultCPUAllocator(), /*priority=*/100);
    return peak_.load() - start_;
  }

 private:
  struct Held {
    at::DataPtr inner;
    int64_t bytes;
    const CountingAllocator* owner;
    static void release(void* p) {
      auto* h = static_cast<Held*>(p);
      h->owner->live_ -= h->bytes;
      delete h;
    }
  };
  mutable std::atomic<int64_t> live_{0}, peak_{0};
  int64_t start_ = 0;
};

class Int8CheckpointTest : public ::testing::TestWithParam<std::string> {};

TEST_P(Int8CheckpointTest, StoresThePerRowQuantizationAndRestoresIt) {
  test::TempDir d;
  const std::string fp32 = std::string(STRATA_FIXTURES) + "/" + GetParam() + ".pt";
  nmt::Checkpoint a = nmt::load_checkpoint(fp32);
  a.model->eval();
  const std::string path = d / "model.int8.pt";
  nmt::save_checkpoint(path, a.config, a.langs, a.spm_model, a.model, nullptr, nullptr, nullptr, nullptr, true);

  // The file: format 4, the int8 member lists every linear weight, every expert matrix and the
  // shared embedding; each is the hand quantization of the float32 weight as the layer packs it.
  torch::serialize::InputArchive ar;
  ar.load_from(path);
  torch::Tensor format;
  ar.read("strata_format", format);
  EXPECT_EQ(format.item<int64_t>(), 4);
  const nmt::Int8Weights stored = nmt::collect_int8_weights(*a.model);
  auto params = a.model->named_parameters();
  int64_t linears = 0, experts = 0;
  for (const auto& p : params) {
    const std::string& n = p.key();
    const bool packable = n == "embed.weight" || (p.value().dim() == 2 && n.size() > 7 &&
                                                  n.compare(n.size() - 7, 7, ".weight") == 0 &&
                                                  n.find("router") == std::string::npos &&
                                                  n.find("norm") == std::string::npos) ||
                          (n.size() > 3 && (n.compare(n.size() - 3, 3, ".w1") == 0 || n.compare(n.size() - 3, 3, ".w2") == 0));
    EXPECT_EQ(stored.count(n), packable ? 1u : 0u) << n;
    if (!stored.count(n)) continue;
    const auto& w = stored.at(n);
    if (p.value().dim() == 3) {
      ++experts;
      for (int64_t e = 0; e < p.value().size(0); ++e) {
        auto [q, s] = quantize_by_hand(p.value()[e].t());
        EXPECT_TRUE(torch::equal(w.q[e], q)) << n << " expert " << e;
        EXPECT_TRUE(torch::equal(w.scale[e], s)) << n << " expert " << e;
      }
    } else {
      ++linears;
      auto [q, s] = quantize_by_hand(p.value());
      EXPECT_TRUE(torch::equal(w.q, q)) << n;
      EXPECT_TRUE(torch::equal(w.scale, s)) << n;
    }
  }
  EXPECT_GE(linears, 9);  // at least the attention projections of every layer and the embedding
  if (GetParam() != "dense" && GetParam() != "lms") EXPECT_GT(experts, 0);
  // (The fixtures' files are mostly their SentencePiece models: sizes are checked in the CLI test.)

  // Loaded back: the int8 weights become q / s, everything else is the float32 checkpoint's.
  nmt::Checkpoint b = nmt::load_checkpoint(path);
  b.model->eval();
  EXPECT_TRUE(b.int8);
  EXPECT_FALSE(a.int8);
  for (const auto& p : b.model->named_parameters()) {
    if (!stored.count(p.key())) {
      EXPECT_TRUE(torch::equal(p.value(), params[p.key()])) << p.key();
      continue;
    }
    const auto& w = stored.at(p.key());
    auto deq = w.q.to(torch::kFloat) * (1.0 / w.scale).unsqueeze(-1);
    if (deq.dim() == 3) deq = deq.transpose(1, 2);
    EXPECT_TRUE(torch::equal(p.value(), deq)) << p.key();
  }

  // Int8 only: no float32 copy of those weights, the int8 logits of the dequantized model bit for
  // bit (the same stored values packed), and the other compute types refused.
  nmt::LoadOptions only;
  only.int8_only = true;
  nmt::Checkpoint c = nmt::load_checkpoint(path, only);
  c.model->eval();
  for (const auto& p : c.model->named_parameters())
    if (stored.count(p.key())) {
      EXPECT_TRUE(kernels::is_released(p.value())) << p.key();
      EXPECT_LE(storage_bytes(p.value()), 4) << p.key();
    }
  for (auto t : {kernels::ComputeType::kInt8, kernels::ComputeType::kInt8Bfloat16}) {
    if (t == kernels::ComputeType::kInt8Bfloat16 && !kernels::bf16_is_fast()) continue;
    auto lb = logits_in(b.model, t), lc = logits_in(c.model, t);
    EXPECT_TRUE(torch::equal(lb, lc)) << "max |diff| " << (lb - lc).abs().max().item<double>();
    EXPECT_TRUE(torch::isfinite(lc).all().item<bool>());
  }
  // Near the float32 model's int8 logits (those quantize the same linear weights the same way;
  // only the embedding lookup differs, by its rounding), and far from an unrelated model's.
  auto la = logits_in(a.model, kernels::ComputeType::kInt8), lb = logits_in(b.model, kernels::ComputeType::kInt8);
  const double spread = (la - la.mean()).abs().max().item<double>();
  EXPECT_LT((la - lb).abs().max().item<double>(), 0.05 * spread);
  try {
    logits_in(c.model, kernels::ComputeType::kFloat32);
    ADD_FAILURE() << "float32 on an int8-only model must fail";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("loaded as int8 only"), std::string::npos) << e.what();
  }

  // The int8-only model saves as an int8 checkpoint with the same values, and refuses a float32 one.
  {
    const std::string again = d / "again.int8.pt";
    nmt::save_checkpoint(again, c.config, c.langs, c.spm_model, c.model, nullptr, nullptr, nullptr, nullptr, true);
    nmt::Checkpoint e = nmt::load_checkpoint(again);
    for (const auto& p : e.model->named_parameters())
      EXPECT_TRUE(torch::equal(p.value(), b.model->named_parameters()[p.key()])) << p.key();
    EXPECT_THROW(nmt::save_checkpoint(d / "f32.pt", c.config, c.langs, c.spm_model, c.model, nullptr, nullptr), Error);
    EXPECT_FALSE(std::filesystem::exists(d / "f32.pt"));
  }
  // Quantizing the int8 checkpoint again stores the same values.
  const nmt::Int8Weights again = nmt::collect_int8_weights(*b.model);
  ASSERT_EQ(again.size(), stored.size());
  for (const auto& [n, w] : stored) {
    EXPECT_TRUE(torch::equal(again.at(n).q, w.q)) << n;
    EXPECT_TRUE(torch::equal(again.at(n).scale, w.scale)) << n;
  }
  // A weight changed after loading (fine-tuning) is quantized anew, not taken from the file.
  {
    torch::NoGradGuard ng;
    b.model->embed->weight.mul_(2);
  }
  EXPECT_FALSE(torch::equal(nmt::collect_int8_weights(*b.model).at("embed.weight").scale, stored.at("embed.weight").scale));
}

// An int8 checkpoint loaded int8-only builds its layers without their float32 weights
// (kernels::DeferredStorage, Deferred::kPackable). The fixture's model made 8x wider (d 256, ffn 1024: its
// packable weights then outweigh the file, which the load reads whole): the int8-only load's peak
// of tensor memory stays below those weights' float32 bytes, which the same file loaded
// dequantized (and the int8-only load before the deferral) exceeds.
TEST_P(Int8CheckpointTest, Int8OnlyLoadNeverAllocatesTheFloat32Weights) {
  test::TempDir d;
  nmt::Checkpoint a = nmt::load_checkpoint(std::string(STRATA_FIXTURES) + "/" + GetParam() + ".pt");
  a.config.model.d_model = 256;
  a.config.model.ffn = 1024;
  auto wide = nmt::build_model(a.config.model, a.model->options.vocab_size(), static_cast<int64_t>(a.langs.size()));
  const std::string path = d / "model.int8.pt";
  nmt::save_checkpoint(path, a.config, a.langs, a.spm_model, wide, nullptr, nullptr, nullptr, nullptr, true);
  int64_t f32_bytes = 0;
  auto params = wide->named_parameters();
  for (const auto& [name, w] : nmt::collect_int8_weights(*wide)) f32_bytes += params[name].numel() * 4;
  ASSERT_GT(f32_bytes, 2 * static_cast<int64_t>(std::filesystem::file_size(path)));
  static CountingAllocator counter;  // outlives every tensor it made
  nmt::LoadOptions only;
  only.int8_only = true;
  int64_t peak_only = 0, peak_dequantized = 0;
  {
    counter.install();
    nmt::Checkpoint c = nmt::load_checkpoint(path, only);
    peak_only = counter.uninstall();
  }
  {
    counter.install();
    nmt::Checkpoint c = nmt::load_checkpoint(path);
    peak_dequantized = counter.uninstall();
  }
  EXPECT_LT(peak_only, f32_bytes) << "float32 bytes of the int8 weights " << f32_bytes;
  EXPECT_GE(peak_dequantized, f32_bytes) << "float32 bytes of the int8 weights " << f32_bytes;
}

INSTANTIATE_TEST_SUITE_P(Models, Int8CheckpointTest,
                         ::testing::Values("dense", "switch", "gshard", "smoe", "sigma", "ac", "omni", "lms"));

TEST(Int8CheckpointFileTest, BadInt8MembersAreOneLineErrorsNamingTheFile) {
  test::TempDir d;
  nmt::Checkpoint a = nmt::load_checkpoint(std::string(STRATA_FIXTURES) + "/dense.pt");
  const std::string path = d / "model.int8.pt";
  nmt::save_checkpoint(path, a.config, a.langs, a.spm_model, a.model, nullptr, nullptr, nullptr, nullptr, true);
  // A byte of the file changed: caught before anything is restored.
  std::string bytes = test::read_file(path);
  bytes[bytes.size() / 2] ^= 0x20;
  const std::string bad = d / "bad.int8.pt";
  test::write_file(bad, bytes);
  try {
    nmt::load_checkpoint(bad);
    ADD_FAILURE() << "a corrupt int8 checkpoint must not load";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind(bad + ": corrupt", 0), 0u) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

TEST(Int8CheckpointFileTest, AnInt8OnlyLoadNamesAWeightWithoutItsInt8Form) {
  // An int8 file whose index lacks one packable weight: loaded int8-only, that weight was built
  // without storage and nothing would restore it, so the load stops and names it. The file holds
  // the members read before the int8 weights (the loader stops before "model" and the digest).
  test::TempDir d;
  nmt::Checkpoint a = nmt::load_checkpoint(std::string(STRATA_FIXTURES) + "/dense.pt");
  auto int8 = nmt::collect_int8_weights(*a.model);
  ASSERT_GT(int8.size(), 1u);
  const std::string dropped = std::next(int8.begin())->first;
  int8.erase(dropped);
  torch::serialize::OutputArchive ar, q;
  ar.write("strata_format", torch::tensor(int64_t{4}));
  ar.write("config", c10::IValue(nmt::to_yaml(a.config)));
  std::string langs;
  for (const auto& l : a.langs) langs += l + " ";
  ar.write("langs", c10::IValue(langs));
  ar.write("spm_model", c10::IValue(a.spm_model));
  std::string index;
  for (const auto& [name, w] : int8) {
    index += name + "\n";
    q.write(name + ".q", w.q);
    q.write(name + ".scale", w.scale);
  }
  q.write("index", c10::IValue(index));
  ar.write("int8", q);
  const std::string path = d / "partial.int8.pt";
  ar.save_to(path);
  nmt::LoadOptions int8_only;
  int8_only.int8_only = true;
  try {
    nmt::load_checkpoint(path, int8_only);
    ADD_FAILURE() << "an int8-only load without the int8 form of " << dropped << " must fail";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": int8 checkpoint without an int8 form of '" + dropped +
                                         "' (write it again with `strata quantize`)");
  }
}

}  // namespace
}  // namespace strata
