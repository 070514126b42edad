// nmt/util/system: the BLAS LibTorch runs on.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "nmt/util/system.h"

using namespace strata;

TEST(SystemTest, FindsTheLoadedBlas) {
  // LibTorch links libblas.so.3; whichever alternative is selected must show up in the maps.
  torch::mm(torch::ones({4, 4}), torch::ones({4, 4}));
  EXPECT_NE(loaded_blas(), "");
  EXPECT_GE(set_threads(1), 1);
}
