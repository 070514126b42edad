#!/usr/bin/env bash
# The test command: set-up (idempotent), build, and run every test through ctest.
#   scripts/test.sh            (BUILD_DIR=build by default)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$here/build}
jobs=${JOBS:-$(nproc)}
"$here/scripts/bootstrap.sh" "$build"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$jobs"
cd "$build"
ctest --output-on-failure -j"$jobs"
