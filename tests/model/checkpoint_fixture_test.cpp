// Checkpoints saved by earlier code (tests/fixtures/, written by make_fixtures.cpp on the day
// named in tests/fixtures/README.md) load with today's code and give the logits they gave then:
// teacher-forced and incremental, for a dense, Switch, GShard, SMoE, σ-MoE, AC, Omni-router and
// LMS model.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "nmt/model/checkpoint.h"
#include "tests/fixtures/fixture_inputs.h"

namespace strata {
namespace {

class CheckpointFixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CheckpointFixtureTest, LoadsAndGivesTheSavedLogits) {
  auto [ck, logits, steps] = test::load_fixture(STRATA_FIXTURES, GetParam());
  test::FixtureInputs in;
  auto now = test::fixture_logits(ck.model, in);
  auto now_steps = test::fixture_step_logprobs(ck.model, in);
  ASSERT_EQ(now.sizes(), logits.sizes());
  ASSERT_EQ(now_steps.sizes(), steps.sizes());
  // Equal to fp32 rounding: OpenBLAS picks its kernels by CPU (the fixtures' CPU and this one may
  // sum in another order; on the same CPU the teacher-forced logits are bit for bit). Incremental
  // decoding runs kernels/attention (issue 18), which sums in another order than the LibTorch ops
  // the fixtures were saved with. A format or model change moves logits by far more.
  EXPECT_TRUE(torch::allclose(now, logits, 1e-5, 1e-5))
      << "max |diff| " << (now - logits).abs().max().item<double>();
  EXPECT_TRUE(torch::allclose(now_steps, steps, 1e-5, 1e-5))
      << "max |diff| " << (now_steps - steps).abs().max().item<double>();
  // The fixture is not degenerate: the sentences' distributions differ.
  EXPECT_GT((logits[0][1] - logits[1][1]).abs().max().item<double>(), 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Models, CheckpointFixtureTest,
                         ::testing::Values("dense", "switch", "gshard", "smoe", "sigma", "ac",
                                           "omni", "lms"));

}  // namespace
}  // namespace strata
