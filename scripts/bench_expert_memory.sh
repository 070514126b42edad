#!/usr/bin/env bash
# Issues 20 and 22: resident memory and speed of a Switch model's experts held in memory, restored
# from the ResMoE-compressed checkpoint at load time or on dispatch, and read from an expert file on
# dispatch, at several budgets (build/bench/bench_expert_memory; one child process per row).
# Model: the issue 20 Switch checkpoint (scripts/experiment_compress.sh or experiment_perturbation.sh
# train it); input: the first 200 English sentences of the Core-8 test split, translated into German.
#   scripts/bench_expert_memory.sh [--beam 1]      (a few minutes; pause other jobs while it runs)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
strata=${STRATA:-build/nmt/strata}
bench=${BENCH:-build/bench/bench_expert_memory}
root=${ROOT:-work/models/core8_compress_switch}
out=$root/expert_memory
mkdir -p "$out"
[ -s "$root/best.pt" ] || { echo "no $root/best.pt: train it with scripts/experiment_perturbation.sh" >&2; exit 1; }
if [ ! -s "$out/resmoe_0.5.pt" ]; then
  "$strata" compress -m "$root/best.pt" -o "$out/resmoe_0.5.pt" --method resmoe --compression 0.5 > "$out/resmoe_0.5.txt"
fi
if [ ! -s "$out/best.experts" ]; then
  "$strata" checkpoint experts --in "$root/best.pt" --out "$out/best.experts"
fi
# English column (2) of the test split's first 200 rows.
awk -F'\t' 'NR > 1 && NR <= 201 { print $2 }' work/data/core8/test.tsv > "$out/in.en"
"$bench" -m "$out/resmoe_0.5.pt" --original "$root/best.pt" -i "$out/in.en" --tgt-lang de \
  --budgets load,0B,25%,50%,100% --expert-file "$out/best.experts" --file-budgets 0B,12.5%,25%,50%,100% "$@"
