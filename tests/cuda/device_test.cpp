// The GPU path (kernels/device.h, train.device, --device): every model type gives on CUDA the
// logits it gives on the CPU (the checkpoint fixtures), the fused output layer + loss and the
// gradients agree with the CPU's, and `strata train` on CUDA resumes exactly and writes
// checkpoints that load and translate on the CPU. Without a CUDA LibTorch and a GPU the CUDA tests
// skip (CI); scripts/device/gpu_run.sh runs them on a GPU machine (docs/SCALING.md).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "kernels/device.h"
#include "kernels/output_loss.h"
#include "kernels/precision.h"
#include "nmt/model/checkpoint.h"
#include "nmt/train/loss.h"
#include "nmt/util/error.h"
#include "tests/cli_test_util.h"
#include "tests/fixtures/fixture_inputs.h"
#include "tests/torch_test_util.h"

namespace strata {
namespace {

#define SKIP_WITHOUT_GPU() \
  if (!kernels::cuda_available()) GTEST_SKIP() << "no CUDA LibTorch or no GPU here"

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.cpu().to(torch::kDouble) - b.cpu().to(torch::kDouble)).abs().max().item<double>();
}

double rel_norm_diff(const torch::Tensor& a, const torch::Tensor& ref) {
  auto r = ref.cpu().to(torch::kDouble);
  return (a.cpu().to(torch::kDouble) - r).norm().item<double>() / r.norm().item<double>();
}

TEST(DeviceTest, NamesAreCheckedWithOneLineErrorsNamingTheField) {
  for (const char* ok : {"cpu", "cuda", "cuda:0", "cuda:12"})
    EXPECT_TRUE(kernels::valid_device_name(ok)) << ok;
  for (const char* bad : {"", "gpu", "CUDA", "cuda:", "cuda:x", "cuda:-1", "cuda:0 ", "cuda:1234"})
    EXPECT_FALSE(kernels::valid_device_name(bad)) << bad;
  EXPECT_EQ(kernels::parse_device("cpu", "--device"), torch::Device(torch::kCPU));
  try {
    kernels::parse_device("gpu", "train.device");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "train.device: must be cpu, cuda or cuda:N, got 'gpu'");
  }
  if (kernels::cuda_available()) {
    EXPECT_TRUE(kernels::parse_device("cuda", "--device").is_cuda());
    EXPECT_THROW(kernels::parse_device("cuda:99", "--device"), Error);
  } else {
    try {
      kernels::parse_device("cuda", "--device");
      FAIL() << "no error";
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_EQ(m.rfind("--device: cuda asked for, but ", 0), 0u) << m;
      EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    }
  }
}

TEST(DeviceTest, TrainDeviceIsAConfigFieldWithItsRangeOfNames) {
  test::TempDir d;
  const std::string p = d / "c.yaml";
  test::write_file(p, "train: {device: tpu}\n");
  try {
    nmt::load_config(p, {});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("train.device: must be cpu, cuda or cuda:N, got 'tpu'"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(nmt::load_config(p, {"train.device=cuda:1"}).train.device, "cuda:1");
  EXPECT_EQ(nmt::load_config(p, {"train.device=cpu"}).train.device, "cpu");
}

// Without a GPU, asking for one is a one-line error before anything is tokenised or loaded.
TEST(DeviceTest, CudaWithoutAGpuIsAOneLineErrorOfTrainAndTranslate) {
  if (kernels::cuda_available()) GTEST_SKIP() << "this machine has a GPU";
  test::TempDir d;
  std::string data_yaml = test::make_tiny_corpus(d);
  auto t = test::run_command(test::kStrata + " train --config " +
                                 test::tiny_train_config(d, data_yaml, "a", 2, 2) +
                                 " --set train.device=cuda",
                             d.str());
  test::expect_one_line_error(t, "train.device: cuda asked for, but ");
  EXPECT_FALSE(std::filesystem::exists(d / "a/last.pt"));
  auto r = test::run_command(test::kStrata + " translate -m " + std::string(STRATA_FIXTURES) +
                                 "/dense.pt --tgt-lang de --device cuda:1 < /dev/null",
                             d.str());
  test::expect_one_line_error(r, "--device: cuda:1 asked for, but ");
  auto bad = test::run_command(test::kStrata + " eval -m " + std::string(STRATA_FIXTURES) +
                                   "/dense.pt --device gpu",
                               d.str());
  test::expect_one_line_error(bad, "--device: must be cpu, cuda or cuda:N, got 'gpu'");
}

// The checkpoint fixtures (tests/fixtures/), loaded and moved to the GPU: the CPU's logits,
// teacher-forced and incremental, for every model type.
class CudaFixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CudaFixtureTest, GivesTheCpuLogitsOnTheGpu) {
  SKIP_WITHOUT_GPU();
  auto [ck, logits, steps] = test::load_fixture(STRATA_FIXTURES, GetParam());
  ck.model->to(torch::kCUDA);
  ASSERT_TRUE(ck.model->device().is_cuda());
  test::FixtureInputs in;  // CPU tensors: the model moves its inputs
  auto now = test::fixture_logits(ck.model, in);
  auto now_steps = test::fixture_step_logprobs(ck.model, in);
  EXPECT_TRUE(now.is_cuda());
  ASSERT_EQ(now.sizes(), logits.sizes());
  ASSERT_EQ(now_steps.sizes(), steps.sizes());
  EXPECT_LT(max_abs_diff(now, logits), 1e-4);
  EXPECT_LT(max_abs_diff(now_steps, steps), 1e-4);
  // bf16 products on the GPU (train.precision bf16): bf16 rounding of the operands only.
  kernels::PrecisionGuard bf16(kernels::Precision::kBf16);
  EXPECT_LT(rel_norm_diff(test::fixture_logits(ck.model, in), logits), 3e-2);
}

INSTANTIATE_TEST_SUITE_P(Models, CudaFixtureTest,
                         ::testing::Values("dense", "switch", "gshard", "smoe", "sigma", "ac",
                                           "omni", "lms"));

TEST(CudaKernelsTest, FusedOutputLayerLossAndGradientsEqualTheCpu) {
  SKIP_WITHOUT_GPU();
  torch::manual_seed(3);
  const int64_t N = 700, d = 64, V = 3000;  // several chunks of rows
  auto h = torch::randn({N, d}), w = torch::randn({V, d}) * 0.1;
  auto t = torch::randint(0, V, {N}, torch::kLong);
  t.slice(0, 0, 50).fill_(0);  // padding rows
  auto run = [&](const torch::Device& dev) {
    auto hd = h.to(dev).requires_grad_(), wd = w.to(dev).requires_grad_();
    auto out = kernels::output_layer_loss(hd, wd, t.to(dev), 0.1, 0);
    out.loss.backward();
    return std::vector<torch::Tensor>{out.loss.detach(), out.nll, hd.grad(), wd.grad()};
  };
  auto cpu = run(torch::kCPU), gpu = run(torch::kCUDA);
  for (size_t i = 0; i < cpu.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_TRUE(gpu[i].is_cuda());
    EXPECT_LT(rel_norm_diff(gpu[i], cpu[i]), 1e-5);
  }
}

// One teacher-forced step of every model type: the loss and every parameter's gradient on the
// GPU equal the CPU's (the same initial weights: both are built on the CPU from one seed).
TEST(CudaKernelsTest, GradientsOfEveryModelTypeEqualTheCpu) {
  SKIP_WITHOUT_GPU();
  for (const std::string type : {"dense", "switch", "gshard", "smoe"}) {
    SCOPED_TRACE(type);
    auto build = [&] {
      torch::manual_seed(5);
      nmt::TransformerOptions o(200);
      o.d_model(32).heads(4).ffn(64).encoder_layers(2).decoder_layers(2).dropout(0.0)
          .max_positions(32);
      moe::MoeConfig mc;
      if (type != "dense") {
        mc.type = type;
        mc.num_experts = 4;
        mc.every_k_layers = 1;
        if (type == "smoe") mc.strata = {2, 2};
        o.moe(mc);
      }
      return nmt::Transformer(o);
    };
    auto cpu = build(), gpu = build();
    gpu->to(torch::kCUDA);
    test::FixtureInputs in;
    auto loss_of = [&](nmt::Transformer& m) {
      m->train();
      nmt::MoeAux aux;
      auto logits = m->forward(in.src, in.prev, &aux);
      auto lp = torch::log_softmax(logits, -1).view({-1, logits.size(-1)});
      auto l = nmt::label_smoothed_nll(lp, in.prev.view(-1).to(lp.device()), 0.1, 0).loss;
      if (aux.layers > 0) l = l + 0.01 * aux.aux_loss;
      l.backward();
      return l.detach();
    };
    auto lc = loss_of(cpu), lg = loss_of(gpu);
    EXPECT_LT(std::abs(lc.item<double>() - lg.item<double>()), 1e-4 * std::abs(lc.item<double>()));
    auto pc = cpu->named_parameters(), pg = gpu->named_parameters();
    for (const auto& p : pc) {
      const auto& g = pg[p.key()].grad();
      if (!p.value().grad().defined()) {
        EXPECT_FALSE(g.defined() && g.abs().sum().item<double>() > 0) << p.key();
        continue;
      }
      ASSERT_TRUE(g.defined()) << p.key();
      EXPECT_LT(max_abs_diff(g, p.value().grad()), 1e-4 + 1e-3 * p.value().grad().abs().max().item<double>())
          << p.key();
    }
  }
}

// `strata train` with train.device=cuda on the tiny corpus: 8 updates in one go equal 4 + a
// resume to 8 (Adam's state and the GPU's dropout generator are restored), the checkpoint loads
// on the CPU, and `strata translate --device cuda` prints what `--device cpu` prints.
TEST(CudaTrainTest, TrainsResumesAndTranslatesOnTheGpu) {
  SKIP_WITHOUT_GPU();
  test::TempDir d;
  std::string data_yaml = test::make_tiny_corpus(d);
  const std::string set = " --set train.device=cuda --set train.precision=fp32";
  auto a = test::run_command(test::kStrata + " train --config " +
                                 test::tiny_train_config(d, data_yaml, "a", 8, 4) + set,
                             d.str());
  ASSERT_EQ(a.status, 0) << a.err;
  EXPECT_NE(a.err.find("products on cuda:0"), std::string::npos) << a.err;
  std::string cfg_b = test::tiny_train_config(d, data_yaml, "b", 8, 4);
  auto b1 = test::run_command(
      test::kStrata + " train --config " + cfg_b + set + " --set train.max_updates=4", d.str());
  ASSERT_EQ(b1.status, 0) << b1.err;
  auto b2 = test::run_command(test::kStrata + " train --config " + cfg_b + set, d.str());
  ASSERT_EQ(b2.status, 0) << b2.err;
  EXPECT_NE(b2.err.find("resumed from"), std::string::npos) << b2.err;
  nmt::Checkpoint ca = nmt::load_checkpoint(d / "a/last.pt"),
                  cb = nmt::load_checkpoint(d / "b/last.pt");
  ASSERT_TRUE(ca.trainer && cb.trainer);
  EXPECT_EQ(cb.trainer->updates, 8);
  EXPECT_TRUE(ca.trainer->device_rng_state.defined());
  auto pa = ca.model->named_parameters(), pb = cb.model->named_parameters();
  double worst = 0;
  for (const auto& p : pa) {
    EXPECT_TRUE(p.value().is_cpu());
    worst = std::max(worst, max_abs_diff(p.value(), pb[p.key()]));
  }
  // Bit for bit where the GPU's kernels are deterministic; 1e-5 leaves room for atomics.
  EXPECT_LT(worst, 1e-5) << "resumed vs uninterrupted";
  // The same run on the CPU learns the same thing (other products, other dropout masks).
  auto c = test::run_command(test::kStrata + " train --config " +
                                 test::tiny_train_config(d, data_yaml, "c", 8, 4) +
                                 " --set train.precision=fp32 --set model.dropout=0",
                             d.str());
  ASSERT_EQ(c.status, 0) << c.err;
  auto g = test::run_command(test::kStrata + " train --config " +
                                 test::tiny_train_config(d, data_yaml, "g", 8, 4) + set +
                                 " --set model.dropout=0",
                             d.str());
  ASSERT_EQ(g.status, 0) << g.err;
  auto valid_nll = [&](const std::string& run) {
    std::istringstream log(test::read_file(d / (run + "/train.jsonl")));
    double nll = -1;
    for (std::string line; std::getline(log, line);) {
      auto j = nlohmann::json::parse(line);
      if (j["event"] == "valid") nll = j["nll"].get<double>();
    }
    return nll;
  };
  const double nc = valid_nll("c"), ng = valid_nll("g");
  EXPECT_GT(nc, 0);
  EXPECT_NEAR(ng, nc, 0.02 * nc) << "valid nll after 8 updates, cuda vs cpu";
  // A GPU checkpoint translates on either device, to the same text.
  test::write_file(d / "in.txt", "open the file\nsave the page\nclose the window\n");
  std::string out[2];
  int i = 0;
  for (const char* dev : {"cpu", "cuda"}) {
    auto t = test::run_command(test::kStrata + " translate -m " + (d / "a/last.pt") +
                                   " --tgt-lang de --beam 1 --device " + dev + " -i " + (d / "in.txt"),
                               d.str());
    ASSERT_EQ(t.status, 0) << t.err;
    out[i++] = t.out;
  }
  EXPECT_EQ(out[0], out[1]);
}

}  // namespace
}  // namespace strata
