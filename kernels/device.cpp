#include "kernels/device.h"

#include <torch/torch.h>

#include <cctype>

#include "nmt/util/error.h"

namespace strata::kernels {

bool valid_device_name(const std::string& name) {
  if (name == "cpu" || name == "cuda") return true;
  if (name.rfind("cuda:", 0) != 0 || name.size() == 5 || name.size() > 8) return false;
  for (size_t i = 5; i < name.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return false;
  return true;
}

bool cuda_available() { return torch::cuda::is_available(); }

c10::Device parse_device(const std::string& name, const std::string& field) {
  if (!valid_device_name(name))
    throw Error(field + ": must be cpu, cuda or cuda:N, got '" + name + "'");
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (!cuda_available())
    throw Error(field + ": " + name + " asked for, but " +
                (torch::cuda::device_count() == 0 && at::hasCUDA()
                     ? std::string("no GPU is visible")
                     : std::string("this LibTorch has no CUDA (build Strata against a CUDA "
                                   "LibTorch: docs/SCALING.md)")));
  const int index = name == "cuda" ? 0 : std::stoi(name.substr(5));
  const int n = static_cast<int>(torch::cuda::device_count());
  if (index >= n)
    throw Error(field + ": " + name + " asked for, but this machine has " + std::to_string(n) +
                " GPU" + (n == 1 ? "" : "s"));
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

}  // namespace strata::kernels
