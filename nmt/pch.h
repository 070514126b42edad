#pragma once
// Precompiled header for LibTorch targets: <torch/torch.h> costs ~25 s per translation unit.
#include <torch/torch.h>
