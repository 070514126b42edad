#!/usr/bin/env bash
# One-off probe of a lent GPU machine (docs/SCALING.md): what the build of Strata against its CUDA
# LibTorch can use. Writes $OUT/probe.txt, the LibTorch headers (for compile checks elsewhere) and
# the exported symbols of its libraries.
set -u
OUT=${OUT:-/tmp/probe_out}; mkdir -p "$OUT"
p() { echo "== $*"; eval "$@" 2>&1 | head -${N:-40}; }
{
p cat /etc/os-release
p uname -a
p nproc
p free -g
p which g++ gcc c++ clang++ cmake ninja nvcc python3 ccache make
p g++ --version
p cmake --version
p nvcc --version
p ldd --version
p nvidia-smi
p python3 -c "'import torch,sys; print(torch.__version__, torch.version.cuda, torch.utils.cmake_prefix_path, torch._C._GLIBCXX_USE_CXX11_ABI, torch.cuda.is_available(), torch.backends.cudnn.version())'"
T=$(python3 -c 'import torch,os; print(os.path.dirname(torch.__file__))')
echo "TORCH=$T"
p du -sh "$T/include" "$T/lib" "$T/share"
p ls "$T/include" "$T/lib"
N=400 p ls "$T/include/torch/csrc/distributed/c10d"
p "find $T/include -path '*gloo*' -name '*.h' | head -5"
p "find / -name nccl.h -not -path '/proc/*' 2>/dev/null"
p "find / -name 'libnccl.so*' -not -path '/proc/*' 2>/dev/null"
p "find / -name 'libcudart.so*' -not -path '/proc/*' 2>/dev/null"
p "nm -D --defined-only $T/lib/libtorch_cpu.so | grep -c ' dnnl_'"
p "nm -D --defined-only $T/lib/libtorch_cpu.so | grep -c gloo"
N=200 p "ldconfig -p | grep -E 'yaml|boost|archive|png|ssl|crypto|protobuf|gtest|sentencepiece|dnnl|openblas|gomp|stdc'"
p "ls /usr/include | head -100"
p "ls /usr/include/boost /usr/include/yaml-cpp /usr/include/nlohmann /usr/include/gtest /usr/include/openssl /usr/include/archive.h /usr/include/png.h 2>&1 | head -20"
p "python3 -c 'import sentencepiece, sacrebleu; print(sentencepiece.__version__, sacrebleu.__version__)'"
p "ls $T/share/cmake"
p "df -h / /tmp"
} > "$OUT/probe.txt" 2>&1
T=$(python3 -c 'import torch,os; print(os.path.dirname(torch.__file__))')
# The headers (no pybind11), in pieces under 15 MiB.
tar -C "$T" --exclude=include/pybind11 -cf - include share/cmake | xz -T16 -4 | split -b 15m - "$OUT/torch_include.tar.xz."
for l in libtorch_cpu libtorch_cuda libtorch libc10 libc10_cuda; do
  [ -e "$T/lib/$l.so" ] && { echo "## $l.so"; nm -D --defined-only "$T/lib/$l.so" | awk '{print $2, $3}'; }
done | xz -T16 -4 > "$OUT/torch_symbols.txt.xz"
# Does a minimal LibTorch program build with the image's compiler and run on the GPU?
d=$(mktemp -d); cat > $d/CMakeLists.txt <<'CM'
cmake_minimum_required(VERSION 3.18)
project(p LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 17)
find_package(Torch REQUIRED)
message(STATUS "TORCH_LIBRARIES=${TORCH_LIBRARIES}")
message(STATUS "TORCH_CXX_FLAGS=${TORCH_CXX_FLAGS}")
message(STATUS "TORCH_INCLUDE_DIRS=${TORCH_INCLUDE_DIRS}")
add_executable(p p.cpp)
target_link_libraries(p ${TORCH_LIBRARIES})
CM
cat > $d/p.cpp <<'CP'
#include <torch/torch.h>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <iostream>
int main() {
  std::cout << "cuda " << torch::cuda::is_available() << " devices " << torch::cuda::device_count() << std::endl;
  auto a = torch::randn({1024, 1024}, torch::kCUDA).to(torch::kBFloat16);
  auto b = torch::mm(a, a).sum().item<float>();
  std::cout << "ok " << b << " cxx " << __cplusplus << std::endl;
}
CP
( cd $d && time (cmake -S . -B b -G Ninja -DCMAKE_PREFIX_PATH=$(python3 -c 'import torch.utils; print(torch.utils.cmake_prefix_path)') > cfg.log 2>&1; tail -30 cfg.log; timeout 150 cmake --build b -v 2>&1 | tail -20; ./b/p; ldd b/p | head -30) ) >> "$OUT/probe.txt" 2>&1
ls -la "$OUT" >> "$OUT/probe.txt"
tail -5 "$OUT/probe.txt"
