#!/usr/bin/env bash
# Packs what scripts/device/gpu_run.sh needs on a lent GPU machine into .devkit/ (git-ignored via
# .git/info/exclude; carried by the device tool): the CUDA build's binaries (build-dev/, compiled
# here against that machine's LibTorch headers, docs/SCALING.md), the Debian libraries its image
# lacks, and the prepared Core-8 data (work/data/core8).
#   scripts/device/pack.sh [BUILD_DIR]      (default build-dev)
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$here"
build=${1:-build-dev}
kit=.devkit
grep -qx '/.devkit/' .git/info/exclude 2>/dev/null || echo '/.devkit/' >> .git/info/exclude
rm -rf "$kit" && mkdir -p "$kit/bin" "$kit/lib"
for b in nmt/strata tests/strata_cuda_tests tests/strata_nmt_tests; do
  [ -x "$build/$b" ] && strip -o "$kit/bin/$(basename "$b")" "$build/$b"
done
# Libraries the binaries need that Ubuntu 24.04's CUDA image does not have (Debian 12's builds;
# the rest, e.g. libpng16, libcrypto3, libprotobuf32, libxml2, is there).
arch=/usr/lib/x86_64-linux-gnu
spm=$(sed -n 's/^STRATA_SPM_ROOT:PATH=//p' "$build/CMakeCache.txt")
# libarchive's own dependencies come along too (the image may lack libxml2 and ICU 72; Debian's
# copies load only into Strata's processes, by LD_LIBRARY_PATH).
for l in "$arch/libdnnl.so.2" "$arch/libOpenCL.so.1" "$arch/libarchive.so.13" \
         "$arch/libyaml-cpp.so.0.7" "$arch/libboost_program_options.so.1.74.0" \
         "$spm/lib/libsentencepiece.so.0" "$spm/lib/libsentencepiece_train.so.0" \
         "$arch/libnettle.so.8" "$arch/libacl.so.1" "$arch/liblz4.so.1" "$arch/libxml2.so.2" \
         "$arch/libicuuc.so.72" "$arch/libicudata.so.72" "$arch/libzstd.so.1" "$arch/liblzma.so.5" \
         "$arch/libbz2.so.1.0"; do
  cp -L "$l" "$kit/lib/$(basename "$l")"
done
xz -T0 -6 "$kit/lib/libdnnl.so.2" "$kit/lib/libicudata.so.72"
# The data: splits, SentencePiece model, language identifier.
if [ -f work/data/core8/train.tsv ]; then
  tar -C work/data -cf - core8/train.tsv core8/valid.tsv core8/test.tsv core8/ood_test.tsv \
      core8/spm.model core8/spm.vocab core8/lid.model 2>/dev/null | xz -T0 -6 > "$kit/core8.tar.xz"
fi
du -ah "$kit" | sort -h | tail -20
