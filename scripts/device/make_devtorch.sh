#!/usr/bin/env bash
# Turns what scripts/device/probe.sh brought back from a GPU machine (its LibTorch's headers and
# the symbols its libraries export) into a LibTorch prefix for cross-building Strata HERE:
# include/ and share/cmake/ as they are there, and lib/ with stub libraries that export the same
# symbols (link-time only; at run time the GPU machine's real libraries load instead).
#   scripts/device/make_devtorch.sh PROBE_DIR [PREFIX]     (default PREFIX /work/devtorch)
# then (docs/SCALING.md "Strata on a GPU"):
#   cmake -S . -B build-dev -DSTRATA_WITH_CUDA=ON -DSTRATA_WITH_GLOO=OFF -DCMAKE_CXX_FLAGS=-fPIC \
#         -DTorch_DIR=PREFIX/share/cmake/Torch -DSTRATA_SPM_ROOT=$PWD/build/third_party/sentencepiece
#   cmake --build build-dev --target strata strata_cuda_tests strata_nmt_tests
# (-fPIC: no copy relocations against the stubs' data symbols, whose sizes are not the real ones.)
set -euo pipefail
probe=${1:?PROBE_DIR}
prefix=${2:-/work/devtorch}
mkdir -p "$prefix/lib" "$prefix/stubsrc"
cat "$probe"/torch_include.tar.xz.* | tar -C "$prefix" -xJf -
xz -dc "$probe/torch_symbols.txt.xz" | python3 -c '
import sys
out = None
for line in sys.stdin:
    line = line.rstrip("\n")
    if line.startswith("## "):
        if out: out.close()
        out = open(sys.argv[1] + "/" + line[3:].replace(".so", ".s"), "w")
        continue
    kind, name = line.split(" ", 1)
    if kind in "TWi":  # functions
        out.write(f".text\n{'.weak' if kind == 'W' else '.globl'} {name}\n.type {name},@function\n{name}:\nret\n")
    else:              # data (B D R V u)
        typ = "@gnu_unique_object" if kind == "u" else "@object"
        out.write(f".data\n{'.weak' if kind in 'Vv' else '.globl'} {name}\n.type {name},{typ}\n"
                  f".size {name},8\n{name}:\n.quad 0\n")
out.close()
' "$prefix/stubsrc"
for s in "$prefix"/stubsrc/*.s; do
  n=$(basename "${s%.s}")
  gcc -shared -nostdlib -Wl,-soname,$n.so -o "$prefix/lib/$n.so" "$s" &
done
wait
ls -la "$prefix/lib"
