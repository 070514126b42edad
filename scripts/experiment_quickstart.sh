#!/usr/bin/env bash
# Issue 4: which model shape learns most in the quickstart's budget? Trains three dense shapes of
# configs/quickstart.yaml for the same wall-clock budget (22 minutes each on this machine, all
# cores), scores every direction of the test and OOD test sets like the quickstart does (greedy,
# first 50 sentences) and writes the table to docs/RESULTS.md.
#   scripts/experiment_quickstart.sh           (about 3 x 23 minutes on 2 cores; keep the machine idle:
#                                               the budget is time, so a busy machine trains less)
#   scripts/experiment_quickstart.sh --quick   (20 seconds each into /tmp: checks the pipeline only)
#   scripts/experiment_quickstart.sh --table   (only rewrites the table from the shapes already scored)
# Re-running skips shapes that have scores.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
strata=${STRATA:-build/nmt/strata}
minutes=22
sentences=50
root=work/models
results=docs/RESULTS.md
cmd=scripts/experiment_quickstart.sh
table_only=0
[ "${1:-}" = "--table" ] && table_only=1
if [ "${1:-}" = "--quick" ]; then
  minutes=0.33
  sentences=5
  root=/tmp/strata_experiment_quickstart
  results=$root/RESULTS.md
  cmd="$cmd --quick"
  rm -rf "$root"
  mkdir -p "$root"
fi
# name d_model ffn lr  (4 heads, 3+3 layers, 4,000-token batches, warm-up 300 for all)
shapes="d256 256 1024 0.003
d128 128 512 0.005
d96 96 384 0.006"
while read -r name d ffn lr; do
  out=$root/qs_shape_$name
  printf '\n== %s (d %s, ffn %s, lr %s, %s minutes)\n' "$name" "$d" "$ffn" "$lr" "$minutes"
  if [ -s "$out/scores.json" ]; then echo "done already: $out/scores.json"; continue; fi
  [ "$table_only" = 1 ] && { echo "not run yet"; continue; }
  rm -rf "$out"  # a time budget cannot be resumed fairly: start again
  "$strata" train --config configs/quickstart.yaml --set train.out_dir="$out" \
    --set model.d_model="$d" --set model.ffn="$ffn" --set train.lr="$lr" \
    --set train.max_minutes="$minutes" --set train.max_updates=0 --set train.valid_every=1000
  "$strata" eval -m "$out/best.pt" --split test,ood_test --max-sentences "$sentences" --beam 1 \
    --json "$out/scores.json" > "$out/scores.txt"
done <<< "$shapes"
/usr/bin/python3 - "$root" "$results" "$minutes" "$cmd" <<'PY'
import json, os, sys
root, results, minutes, cmd = sys.argv[1:5]
rows = []
for name in ["d256", "d128", "d96"]:
    d = f"{root}/qs_shape_{name}"
    if not os.path.exists(f"{d}/scores.json"):
        rows.append(f"| {name} | (not run yet) | | | | | | | | |")
        continue
    s = json.load(open(f"{d}/scores.json"))
    params = valid = updates = tps = None
    for line in open(f"{d}/train.jsonl"):
        e = json.loads(line)
        if e["event"] == "start": params = e["parameters"]
        if e["event"] == "valid": valid, updates = e["nll"], e["update"]
        if e["event"] == "train": tps = e["tokens_per_s"]
    t, o = s["test"], s["ood_test"]
    tps = f"{tps:,.0f}" if tps is not None else "-"  # no progress line yet (--quick)
    rows.append(f"| {name} | {params/1e6:.2f}M | {updates:,} | {tps} | {valid:.3f} | "
                f"{t['averages']['all']['bleu']:.2f} | {t['averages']['all']['chrf']:.2f} | "
                f"{t['beats_copy']}/{len(t['directions'])} | {o['averages']['all']['chrf']:.2f} | {o['beats_copy']}/{len(o['directions'])} |")
section = ("## The quickstart's shape at a fixed time budget (issue 4)\n\n"
    f"Command: `{cmd}`. `configs/quickstart.yaml` (3+3 layers, 4 heads, 4,000-token batches, warm-up 300)\n"
    f"with d_model / ffn / lr set per row, each trained for {minutes} minutes of wall-clock time on 2 cores\n"
    "(`train.max_minutes`), then scored as the quickstart scores: greedy, first 50 sentences of every\n"
    "direction, sacreBLEU-exact BLEU/chrF averaged over the 56 directions; \"beats copy\": directions whose\n"
    "chrF is above copying the source. tokens/s: the last progress line's rate (source + target tokens).\n\n")
if "--quick" in cmd:
    section += "**Quick mode: 20 seconds per model. This checks the pipeline; the numbers mean nothing.**\n\n"
section += ("| shape | parameters | updates | tokens/s | valid nll | test BLEU | test chrF | test beats copy | "
            "OOD chrF | OOD beats copy |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
section += "\n".join(rows) + "\n"
sys.path.insert(0, "scripts")
from results_section import write_section
write_section(results, "## The quickstart's shape at a fixed time budget", section)
PY
