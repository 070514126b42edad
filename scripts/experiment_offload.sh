#!/usr/bin/env bash
# Issue 22: expert offloading where it matters. Trains (resumably) the 192-expert Switch model of
# configs/experiments/core8_switch32.yaml (~101 MB of experts, ~8 MB of the rest), its expert
# predictor, its expert file and slim checkpoint, scores it in memory, in exact mode with prefetch
# at a 10% budget (must equal the in-memory scores) and in SiDA mode (bypass and restrict), and
# measures memory, speed and latency at budgets of 100/50/25/10% of the experts on the first 100
# English test sentences into German (docs/PERFORMANCE.md, "Offloading a 192-expert model"); then
# predictors on 4x the pairs and with SiDA's loss. Steps already done (their files exist) are
# skipped.
#   scripts/experiment_offload.sh [UPDATES] [--batch 1] [--repeat 2]
# (bf16 training ~18 min for 4,000 updates on 2 quiet cores; predictor ~3 min; evals ~1 min each;
# the speed table ~20 min at batch 1. Nothing else should run.)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
strata=${STRATA:-build/nmt/strata}
bench=${BENCH:-build/bench/bench_expert_memory}
updates=${1:-4000}
shift || true
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--batch 1 --repeat 2)
root=${ROOT:-work/models/offload_switch32}
mkdir -p "$root"
log() { printf '\n== %s\n' "$*"; }

log "train ($updates updates; resumes from $root/last.pt)"
"$strata" train --config configs/experiments/core8_switch32.yaml --set train.out_dir="$root" \
  --set train.max_updates="$updates" --set train.valid_every=$(( updates / 4 ))
model=$root/last.pt

log "expert predictor"
[ -s "$root/model.predictor" ] || "$strata" predictor train -m "$model" -o "$root/model.predictor" \
  --max-sentences 600 | tee "$root/predictor_train.txt"
[ -s "$root/predictor_test.json" ] || "$strata" predictor eval -m "$model" -p "$root/model.predictor" --split test \
  --json "$root/predictor_test.json" | tee "$root/predictor_test.txt"

log "expert file and slim checkpoint (the model without its experts)"
[ -s "$root/model.experts" ] && [ -s "$root/model.slim.pt" ] || "$strata" checkpoint experts --in "$model" \
  --out "$root/model.experts" --slim "$root/model.slim.pt"

# Quality: in memory; exact mode at a 10% budget with prefetch (the router decides: the same
# scores); SiDA mode (the predictor routes the encoder, decoder layers choose among the batch's
# predicted experts); SiDA restrict (every layer chooses among the batch's predicted experts).
ev=(eval -m "$model" --split test --max-sentences 50 --beam 1 --no-shuffled)
off=(--expert-file "$root/model.experts" --expert-predictor "$root/model.predictor")
for mode in memory exact sida restrict; do
  log "eval: $mode"
  case $mode in
    memory) extra=() ;;
    exact) extra=("${off[@]}" --expert-memory 10%) ;;
    sida) extra=("${off[@]}" --expert-memory 100% --sida) ;;
    restrict) extra=("${off[@]}" --expert-memory 100% --sida=restrict) ;;
  esac
  [ -s "$root/eval_$mode.json" ] || "$strata" "${ev[@]}" "${extra[@]}" --json "$root/eval_$mode.json" > "$root/eval_$mode.txt"
  grep -E "^\| (all|en->xx|xx->en|non-English) " "$root/eval_$mode.txt" | head -4
done

cmp -s <(grep "^|" "$root/eval_memory.txt") <(grep "^|" "$root/eval_exact.txt") \
  && echo "exact mode at 10%: every direction's scores equal the in-memory model's" \
  || { echo "exact mode at 10% differs from the in-memory model" >&2; exit 1; }

log "memory, speed, latency (${args[*]})"
# English column (2) of the test split's first 100 rows, into German.
awk -F'\t' 'NR > 1 && NR <= 101 { print $2 }' work/data/core8/test.tsv > "$root/in.en"
# The in-memory row loads best.pt (no optimizer state, as a user translates) when it holds
# last.pt's weights (the last validation was the best: the same translations); the other rows
# load the slim checkpoint and read the experts from the expert file.
whole=$model
if cmp -s <("$strata" translate -m "$root/best.pt" --tgt-lang de < "$root/in.en" 2>/dev/null) \
          <("$strata" translate -m "$model" --tgt-lang de < "$root/in.en" 2>/dev/null); then
  whole=$root/best.pt
fi
echo "in-memory row: $whole"
"$bench" -m "$model" --original "$whole" --slim "$root/model.slim.pt" -i "$root/in.en" --tgt-lang de --budgets "" \
  --expert-file "$root/model.experts" --file-budgets 10%,25%,50%,100% --predictor "$root/model.predictor" \
  --pred-budgets 10%,25%,50%,100% --pred-modes pred,sida,restrict "${args[@]}" | tee "$root/bench.md"

log "quality that SiDA keeps at batch 1 and 32 (chrF against the German references)"
awk -F'\t' 'NR > 1 && NR <= 101 { print $3 }' work/data/core8/test.tsv > "$root/ref.de"
for b in 1 32; do
  "$bench" -m "$model" --original "$model" -i "$root/in.en" --ref "$root/ref.de" --tgt-lang de --budgets "" \
    --expert-file "$root/model.experts" --file-budgets "" --predictor "$root/model.predictor" \
    --pred-budgets 100% --pred-modes sida,restrict --batch $b | tee "$root/bench_quality_b$b.md"
done

# One more predictor NAME trained with ARGS: its test accuracy and both SiDA modes' scores
# (files model_NAME.predictor, predictor_NAME_test.json, eval_NAME_{sida,restrict}.json).
predictor_variant() {
  local name=$1 mode flag
  shift
  [ -s "$root/model_$name.predictor" ] || "$strata" predictor train -m "$model" -o "$root/model_$name.predictor" \
    "$@" | tee "$root/predictor_${name}_train.txt"
  [ -s "$root/predictor_${name}_test.json" ] || "$strata" predictor eval -m "$model" -p "$root/model_$name.predictor" \
    --split test --json "$root/predictor_${name}_test.json" | tee "$root/predictor_${name}_test.txt"
  for mode in sida restrict; do
    flag=--sida; [ "$mode" = restrict ] && flag=--sida=restrict
    [ -s "$root/eval_${name}_$mode.json" ] || "$strata" "${ev[@]}" --expert-file "$root/model.experts" \
      --expert-predictor "$root/model_$name.predictor" --expert-memory 100% $flag \
      --json "$root/eval_${name}_$mode.json" > "$root/eval_${name}_$mode.txt"
    grep -E "^\| all " "$root/eval_${name}_$mode.txt" | head -1
  done
}

log "a predictor on 4x the pairs (2,400 per direction, 6,000 updates): accuracy and the two SiDA modes"
predictor_variant 2400 --max-sentences 2400 --updates 6000

log "predictors trained with SiDA's loss (L1 between the softmaxes over the router's top experts + CE weighted 0.005, as SiDA, or 1), 600 pairs per direction"
predictor_variant sidaloss --max-sentences 600 --loss sida --ce-weight 0.005
predictor_variant sidaloss_ce1 --max-sentences 600 --loss sida --ce-weight 1
