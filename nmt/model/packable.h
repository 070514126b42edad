#pragma once
// A model's PackableModules (kernels/linear.h) by name prefix, and which of them owns a parameter:
// how int8 weights, stored by full parameter name, find their layer (nmt/model/checkpoint.cpp
// loading an int8 checkpoint; bench_common.h building a model as that load leaves it).
#include <torch/nn/module.h>

#include <string>
#include <utility>
#include <vector>

#include "kernels/linear.h"

namespace strata::nmt {

using PackableModules = std::vector<std::pair<std::string, kernels::PackableModule*>>;

// The PackableModules of `model` with their name prefixes ("" for the model itself).
PackableModules packable_modules(torch::nn::Module& model);

// The innermost module of `modules` whose prefix the parameter `name` starts with, and the
// parameter's name local to it ("encoder_layers.0.ffn.fc1.weight" -> fc1, "weight"); null if none.
std::pair<kernels::PackableModule*, std::string> packable_owner(const PackableModules& modules,
                                                                const std::string& name);

}  // namespace strata::nmt
