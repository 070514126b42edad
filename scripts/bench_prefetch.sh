#!/usr/bin/env bash
# Issue 22: the expert predictor of an MoE checkpoint (SiDA), its accuracy, translation quality with
# the routers deciding (exact) and in SiDA mode, and speed with and without prefetching at several
# budgets (docs/PERFORMANCE.md, "The expert predictor"). Default model: the Switch of the seed
# comparison (scripts/experiment_seeds.sh 9900 d128 trains it).
#   scripts/bench_prefetch.sh [MODEL] [--batch 4]     (~10 minutes; pause other jobs while it runs)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
strata=${STRATA:-build/nmt/strata}
bench=${BENCH:-build/bench/bench_expert_memory}
model=${1:-work/models/seeds_d128_9900/switch/last.pt}
shift || true
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--batch 4)
out=${OUT:-work/predictor}
mkdir -p "$out"
[ -s "$model" ] || { echo "no $model: train it with scripts/experiment_seeds.sh 9900 d128" >&2; exit 1; }
name=$(basename "$(dirname "$model")")
[ -s "$out/$name.predictor" ] || "$strata" predictor train -m "$model" -o "$out/$name.predictor" | tee "$out/${name}_train.txt"
[ -s "$out/$name.experts" ] || "$strata" checkpoint experts --in "$model" --out "$out/$name.experts"
for mode in exact sida; do
  extra=(); [ "$mode" = sida ] && extra=(--sida)
  "$strata" eval -m "$model" --split test --max-sentences 50 --beam 1 --expert-file "$out/$name.experts" \
    --expert-memory 100% --expert-predictor "$out/$name.predictor" "${extra[@]}" --no-shuffled \
    --json "$out/eval_$mode.json" > "$out/eval_$mode.txt"
  echo "== $mode"; grep -E "^\| (all|en->xx|xx->en|non-English) " "$out/eval_$mode.txt" | head -4
done
# English column (2) of the test split's first 200 rows.
awk -F'\t' 'NR > 1 && NR <= 201 { print $2 }' work/data/core8/test.tsv > "$out/in.en"
"$bench" -m "$model" --original "$model" -i "$out/in.en" --tgt-lang de --budgets "" \
  --expert-file "$out/$name.experts" --file-budgets 25%,50%,100% --predictor "$out/$name.predictor" \
  --pred-budgets 25%,50%,100% "${args[@]}"
