#pragma once
// Where a model and its tensors live: "cpu" (the default everywhere), "cuda" or "cuda:N".
// Training (train.device) and inference (--device on translate/eval) parse the name here, once,
// and check it against this build and this machine before anything is loaded.
//
//   torch::Device d = kernels::parse_device(cfg.train.device, "train.device");
//   model->to(d);   // the model moves its inputs itself (TransformerImpl::device())
#include <c10/core/Device.h>

#include <string>

namespace strata::kernels {

// True when the name is "cpu", "cuda" or "cuda:N" (N a small non-negative integer).
bool valid_device_name(const std::string& name);

// Parses and checks `name`; throws strata::Error naming `field` ("train.device", "--device") when
// it is malformed, when this LibTorch has no CUDA, or when the GPU index does not exist. (fp32 on a
// GPU stays IEEE fp32, no TF32: the fast GPU precision is bf16, train.precision auto there.)
c10::Device parse_device(const std::string& name, const std::string& field);

// True when this LibTorch was built with CUDA and sees at least one GPU.
bool cuda_available();

}  // namespace strata::kernels
