#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz/ one after the other (docs/RELIABILITY.md "Fuzzing").
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 600 s, every data target)
# Targets: mo ftl properties dtd help_html html_text zip deb data_config split_tsv catalog eval_input,
# and, only when named (they build strata_nmt, LibTorch's headers, with clang: ~30 min on 2 cores),
# checkpoint, train_config and serve_request.
# Configures and builds build-fuzz/ (clang++-15, -DSTRATA_FUZZ=ON; scripts/bootstrap.sh --fuzz
# installs clang and libFuzzer). Each target runs in one process (-jobs=1 -workers=1) on the
# corpus work/fuzz/<target>/ (seeded from tests/fuzz/corpus/<target>/ and the regressions; it
# grows across runs); crash, leak, timeout and out-of-memory inputs are copied into
# tests/fuzz/regressions/<target>/ (ctest replays them: fix the reader, then commit them).
# Prints a table (target, seconds, executions, crashes) and appends one JSON line per target to
# work/fuzz/runs.jsonl. Exit status 1 when any target found something.
# Environment: BUILD_DIR (build-fuzz), JOBS (build jobs, 2), CXX (clang++-15), STRATA_SPM_ROOT
# (SentencePiece, default build/third_party/sentencepiece), FUZZ_ARGS (extra libFuzzer flags).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-600}
shift || true
all_data=(mo ftl properties dtd help_html html_text zip deb data_config split_tsv catalog eval_input)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_data[@]}")
build=${BUILD_DIR:-$here/build-fuzz}
jobs=${JOBS:-2}
cxx=${CXX:-clang++-15}
spm=${STRATA_SPM_ROOT:-$here/build/third_party/sentencepiece}
work=$here/work/fuzz
say() { printf '[fuzz] %s\n' "$*" >&2; }
die() { printf '[fuzz] error: %s\n' "$*" >&2; exit 2; }

[[ "$seconds" =~ ^[0-9]+$ ]] && [ "$seconds" -gt 0 ] || die "SECONDS_PER_TARGET must be a positive integer, got '$seconds'"
command -v "$cxx" >/dev/null || die "$cxx not found (scripts/bootstrap.sh --fuzz installs clang-15 and libfuzzer-15-dev)"
for t in "${targets[@]}"; do
  [ -d "$here/tests/fuzz/corpus/$t" ] || die "unknown target '$t' (no tests/fuzz/corpus/$t)"
done

if [ ! -f "$build/CMakeCache.txt" ]; then
  say "configuring $build ($cxx, STRATA_FUZZ=ON)"
  cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$cxx" \
    -DSTRATA_FUZZ=ON -DSTRATA_SPM_ROOT="$spm" >/dev/null
fi
say "building ${targets[*]}"
cmake --build "$build" -j"$jobs" --target "${targets[@]/#/fuzz_}" >/dev/null

mkdir -p "$work"
# Symbolized reports (Debian's clang-15 ships no llvm-symbolizer-15; any llvm-symbolizer works).
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ]; then
  for s in llvm-symbolizer-15 llvm-symbolizer llvm-symbolizer-14; do
    if command -v "$s" >/dev/null; then export ASAN_SYMBOLIZER_PATH; ASAN_SYMBOLIZER_PATH=$(command -v "$s"); break; fi
  done
fi
commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
rows=()
found=0
for t in "${targets[@]}"; do
  corpus=$work/$t
  artifacts=$work/artifacts/$t
  mkdir -p "$corpus" "$artifacts" "$here/tests/fuzz/regressions/$t"
  # Seeds: the checked-in corpus, the regressions and (checkpoint) the fixtures; -n keeps what
  # earlier runs found.
  find "$here/tests/fuzz/corpus/$t" "$here/tests/fuzz/regressions/$t" -type f ! -name '.*' \
    -exec cp -n {} "$corpus/" \;
  if [ "$t" = checkpoint ]; then
    for f in "$here"/tests/fixtures/*.pt; do
      case "$f" in *.expected.pt) ;; *) cp -n "$f" "$corpus/" ;; esac
    done
  fi
  extra=()
  # LibTorch (uninstrumented, never freed at exit) would make LeakSanitizer report noise.
  case "$t" in checkpoint|train_config|serve_request) extra+=(-detect_leaks=0 -rss_limit_mb=4096) ;; esac
  log=$work/$t.log
  stamp=$work/.$t.start
  touch "$stamp"
  say "$t: ${seconds}s (log $log)"
  start=$(date +%s)
  set +e
  # shellcheck disable=SC2086
  (cd "$work" && "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -jobs=1 -workers=1 \
     -timeout=20 -print_final_stats=1 -artifact_prefix="$artifacts/" "${extra[@]}" \
     ${FUZZ_ARGS:-} "$corpus") >"$log" 2>&1
  rc=$?
  set -e
  elapsed=$(( $(date +%s) - start ))
  # -jobs=1 runs the fuzzer in a child whose output goes to fuzz-0.log in the working directory.
  [ -f "$work/fuzz-0.log" ] && { cat "$work/fuzz-0.log" >>"$log"; rm -f "$work/fuzz-0.log"; }
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  execs=${execs:-0}
  crashes=0
  while IFS= read -r -d '' a; do
    cp -n "$a" "$here/tests/fuzz/regressions/$t/"
    crashes=$((crashes + 1))
  done < <(find "$artifacts" -type f -newer "$stamp" -print0)
  if [ "$crashes" -gt 0 ] || [ "$rc" -ne 0 ]; then
    found=1
    say "$t: exit $rc, $crashes new input(s) in tests/fuzz/regressions/$t/ (see $log)"
  fi
  rows+=("$(printf '%-12s %8s %14s %8s' "$t" "$elapsed" "$execs" "$crashes")")
  printf '{"date":"%s","commit":"%s","target":"%s","seconds":%d,"executions":%d,"crashes":%d,"exit":%d}\n' \
    "$(date -u +%FT%TZ)" "$commit" "$t" "$elapsed" "$execs" "$crashes" "$rc" >>"$work/runs.jsonl"
done

printf '%-12s %8s %14s %8s\n' target seconds executions crashes
printf '%s\n' "${rows[@]}"
exit "$found"
