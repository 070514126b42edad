#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: set-up, build, prepare Core-8, train the small
# quickstart model (a fixed 9,900 updates: about 22 minutes on 2 cores with native bf16, about 3x
# that without), translate a few sentences, print the score table.
#   scripts/quickstart.sh            (about 35-50 minutes on 2 cores with AVX512_BF16)
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
say "language identifier (off-target rate of strata eval)"
"$strata" data lid --config configs/data/core8.yaml
say "vocabulary shortlist (each language's pieces: decoding scores only the target language's)"
"$strata" data shortlist --config configs/data/core8.yaml
say "train the quickstart model (configs/quickstart.yaml: 9,900 updates, about 22 minutes with native bf16)"
"$strata" train --config configs/quickstart.yaml
model=work/models/quickstart/best.pt
say "translate"
while IFS='|' read -r tgt text; do
  printf '%-6s %s\n  -> %s\n' "$tgt" "$text" "$(printf '%s\n' "$text" | "$strata" translate -m "$model" --tgt-lang "$tgt")"
done <<'EXAMPLES'
de|Save the document before closing the window.
ja|Select the cells that you want to copy.
fr|Die Datei konnte nicht geöffnet werden.
en|Показать скрытые файлы
zh-CN|Insert a new table
tr|Click OK to apply the changes.
el|Open the file in a new window
EXAMPLES
say "score: every direction of the test and OOD test sets (first 50 sentences each, greedy)"
"$strata" eval -m "$model" --split test,ood_test --max-sentences 50 --beam 1 \
  --json work/models/quickstart/scores.json
stopped=$(/usr/bin/python3 -c 'import json,sys; e=[json.loads(l) for l in open(sys.argv[1])][-1]; print(e.get("stopped","?"), e["update"])' work/models/quickstart/train.jsonl 2>/dev/null || echo "? ?")
case "$stopped" in
  max_updates*) note="trained the full ${stopped#* } updates" ;;
  *) note="WARNING: training stopped early (${stopped% *} after ${stopped#* } updates): scores are below the README's" ;;
esac
printf '\nquickstart finished in %d min (%s)\n' $(( ($(date +%s) - start) / 60 )) "$note"
