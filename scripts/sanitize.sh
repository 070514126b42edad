#!/usr/bin/env bash
# Builds the whole project with AddressSanitizer + UndefinedBehaviorSanitizer (-DSTRATA_SANITIZE=ON,
# gcc) in build-asan/ and runs every test through ctest (docs/RELIABILITY.md "Sanitizers").
#   scripts/sanitize.sh [CTEST_ARGS...]      (e.g. -R 'fuzz_replay|Archive' for a subset)
# Environment: BUILD_DIR (build-asan), JOBS (2), STRATA_SPM_ROOT (SentencePiece, default
# build/third_party/sentencepiece). The first report stops the process (halt_on_error), so a
# test with a sanitizer finding fails; the reports are in build-asan/Testing/Temporary/LastTest.log.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$here/build-asan}
jobs=${JOBS:-2}
spm=${STRATA_SPM_ROOT:-$here/build/third_party/sentencepiece}
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSTRATA_SANITIZE=ON \
  -DSTRATA_SPM_ROOT="$spm" >/dev/null
cmake --build "$build" -j"$jobs"
# The tests that run npm packages (@fluent/syntax, LibreTranslate's client) look for them in the
# build directory: reuse the normal build's (scripts/bootstrap.sh installs them there).
if [ ! -e "$build/npm" ] && [ -d "$here/build/npm/node_modules" ]; then ln -s "$here/build/npm" "$build/npm"; fi
# detect_leaks=0: LibTorch (uninstrumented) keeps its allocator caches, thread pools and operator
#   registry alive to exit, so LeakSanitizer would report thousands of "leaks" that are not
#   Strata's; the fuzz targets of data/ (scripts/fuzz.sh) do run with leak detection.
# The tests themselves run the sanitized `strata` binary as child processes: they inherit these.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=0:strict_string_checks=1:detect_stack_use_after_return=0:check_initialization_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
# Symbolized reports (any llvm-symbolizer; gcc's libasan finds it through this variable).
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ]; then
  for s in llvm-symbolizer llvm-symbolizer-15 llvm-symbolizer-14; do
    if command -v "$s" >/dev/null; then export ASAN_SYMBOLIZER_PATH; ASAN_SYMBOLIZER_PATH=$(command -v "$s"); break; fi
  done
fi
cd "$build"
# The sanitized binaries are 2-3x slower: the per-test timeouts are scaled (ctest --timeout is
# only a default for tests without one).
ctest --output-on-failure -j"$jobs" --timeout 600 "$@"
