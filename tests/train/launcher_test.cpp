// Tests of nmt/train/launcher: ranks started with their own arguments, a failing rank reported by
// its error line while the others are stopped, and the command-line helpers.
#include "nmt/train/launcher.h"

#include <gtest/gtest.h>

#include <chrono>

#include "nmt/util/error.h"
#include "tests/test_util.h"

using namespace strata;
using namespace strata::nmt;

TEST(LauncherTest, RunsEveryRankWithItsArguments) {
  test::TempDir d;
  LaunchOptions o;
  o.program = "/bin/sh";
  o.args = {"-c", "echo \"$1\" > \"$0/rank$1\"", d.str()};
  o.rank_args = {{"0"}, {"1"}, {"2"}};
  launch_ranks(o);
  for (int r = 0; r < 3; ++r)
    EXPECT_EQ(test::read_file(d / ("rank" + std::to_string(r))), std::to_string(r) + "\n");
}

TEST(LauncherTest, AFailingRankStopsTheOthersAndNamesItsError) {
  LaunchOptions o;
  o.program = "/bin/sh";
  // Rank 1 fails at once; rank 0 would run for a minute unless stopped.
  o.args = {"-c", "if [ \"$0\" = 1 ]; then echo 'strata: error: bad thing' >&2; exit 3; fi; "
                  "exec sleep 60"};
  o.rank_args = {{"0"}, {"1"}};
  const auto t0 = std::chrono::steady_clock::now();
  try {
    launch_ranks(o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "rank 1 of 2 exited with status 3: bad thing");
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(30));
}

TEST(LauncherTest, CommandLineHelpers) {
  EXPECT_EQ(drop_options({"--config", "x.yaml", "--nproc", "2", "--master-port=5", "--restart"},
                         {"--nproc", "--master-port"}),
            (std::vector<std::string>{"--config", "x.yaml", "--restart"}));
  const auto a = local_rank_args(2, {"--file-store", "/tmp/f"}, 3);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[1], (std::vector<std::string>{"--rank", "1", "--world-size", "2", "--file-store",
                                            "/tmp/f", "--set", "train.threads=3"}));
  EXPECT_EQ(local_rank_args(1, {}, 0)[0],
            (std::vector<std::string>{"--rank", "0", "--world-size", "1"}));
  const int port = free_loopback_port();
  EXPECT_GT(port, 0);
  EXPECT_LT(port, 65536);
}
