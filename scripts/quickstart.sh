#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: set-up, build, prepare Core-8, train the shared
# SentencePiece model. (Training, translation and the score table join as they land: issue 4.)
#   scripts/quickstart.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
build=${BUILD_DIR:-build}
say() { printf '\n== %s\n' "$*"; }
start=$(date +%s)
say "bootstrap (Debian packages, SentencePiece)"
scripts/bootstrap.sh "$build"
say "build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target strata
strata="$build/nmt/strata"
say "prepare Core-8 (configs/data/core8.yaml)"
"$strata" data prepare --config configs/data/core8.yaml
say "SentencePiece model"
"$strata" data spm --config configs/data/core8.yaml
say "a few test pairs (de -> ja)"
"$strata" data pairs --config configs/data/core8.yaml --split test --src de --tgt ja --min-words 5 | head -n 3
printf '\nquickstart finished in %d s\n' $(( $(date +%s) - start ))
