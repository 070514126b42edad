#!/usr/bin/env bash
# Issue 7 experiment: Switch vs Omni-router vs AC router vs σ-MoE on Core-8 at equal parameters and
# active FFN FLOPs, MoE in every layer, equal budget (configs/experiments/core8_{switch_all,omni,ac,
# sigma}.yaml, 1,400 updates each). Scores every direction of the test and OOD test sets, analyses
# the routing on valid (strata analyze routing) and writes its section of docs/RESULTS.md.
#   scripts/experiment_routers.sh            (several hours on 2 cores: MoE in all 6 layers)
#   scripts/experiment_routers.sh --quick    (5 updates each into /tmp: checks the pipeline only)
# Re-running skips finished models and resumes an interrupted one from its last checkpoint.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
strata=${STRATA:-build/nmt/strata}
quick=0
[ "${1:-}" = "--quick" ] && quick=1
results=docs/RESULTS.md
extra=()
sentences=200
root=work/models
if [ "$quick" = 1 ]; then
  root=/tmp/strata_routers_quick
  extra=(--set train.max_updates=5 --set train.valid_every=5 --set train.log_every=1 --restart)
  sentences=5
  results=$root/RESULTS.md
  mkdir -p "$root"
fi
cmd="scripts/experiment_routers.sh${1:+ $1}"
models="switch_all omni ac sigma"
for n in $models; do
  out=$root/core8_$n
  printf '\n== %s\n' "$n"
  # A model with scores and a routing analysis is done; an interrupted training resumes exactly.
  if [ "$quick" = 0 ] && [ -s "$out/scores.json" ] && [ -s "$out/routing.txt" ]; then
    echo "done already: $out"
    continue
  fi
  "$strata" train --config configs/experiments/core8_$n.yaml --set train.out_dir=$out "${extra[@]}"
  "$strata" eval -m $out/best.pt --split test,ood_test --max-sentences $sentences --beam 1 \
    --json $out/scores.json > $out/scores.txt
  "$strata" analyze routing -m $out/best.pt --split valid --max-sentences $sentences \
    --out $out/routing > $out/routing.txt
done
/usr/bin/python3 - "$root" "$results" "$sentences" "$cmd" "$models" <<'PY'
import json, math, os, re, sys
root, results, sentences, cmd, models = sys.argv[1:6]
rows = []
for n in models.split():
    d = f"{root}/core8_{n}"
    s = json.load(open(f"{d}/scores.json"))
    params, valid, losses, agree = None, None, [], []
    for line in open(f"{d}/train.jsonl"):
        e = json.loads(line)
        if e["event"] == "start": params = e["parameters"]
        if e["event"] == "valid": valid = e["nll"]
        if e["event"] == "train":
            losses.append(e["loss"])
            if "moe" in e and "agreement" in e["moe"]: agree.append(e["moe"]["agreement"])
    r = json.load(open(f"{d}/routing/routing.json"))
    nmi = [l["nmi"] for l in r["layers"] if "nmi" in l]
    ag = [l["agreement"] for l in r["layers"] if "agreement" in l]
    mean = lambda v: sum(v) / len(v) if v else float("nan")
    q = max(1, len(losses) // 4)
    t, o = s["test"]["averages"], s["ood_test"]["averages"]
    rows.append(f"| {n} | {params/1e6:.2f}M | {mean(losses[:q]):.3f} → {mean(losses[-q:]):.3f} | {valid:.3f} | "
                f"{t['all']['bleu']:.2f} | {t['all']['chrf']:.2f} | {o['all']['bleu']:.2f} | {o['all']['chrf']:.2f} | "
                f"{mean(agree):.3f} | {mean(ag):.3f} | {mean(nmi):.3f} |")
section = ("## Switch vs Omni-router vs AC vs σ-MoE on Core-8 (issue 7)\n\n"
    f"Command: `{cmd}`. Configs: `configs/experiments/core8_{{switch_all,omni,ac,sigma}}.yaml` (d 256, 3+3 layers,\n"
    "MoE in every layer; 8 experts of ffn 1024 top-1, σ-MoE 32 of ffn 256 top-4: equal parameters and\n"
    "active FFN FLOPs; 1,400 updates of 4,000 tokens each). Scores: greedy, first "
    f"{sentences} sentences of every direction,\nsacreBLEU-exact BLEU/chrF averaged over directions. "
    "Train loss: mean of the first → last quarter of the logged\nvalues. Agreement: fraction of tokens whose "
    "top-1 expert equals the previous MoE layer's (train: last\nlogged batch; valid: `strata analyze routing`), NMI: "
    "normalised mutual information of consecutive layers'\ntop-1 choices on valid (both averaged over layer pairs).\n\n")
if "--quick" in cmd:
    section += "**Quick mode: 5 updates per model. This checks the pipeline; the numbers mean nothing.**\n\n"
section += ("| model | parameters | train loss | valid nll | test BLEU | test chrF | OOD BLEU | OOD chrF | "
            "train agreement | valid agreement | valid NMI |\n|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
section += "\n".join(rows) + "\n"
sys.path.insert(0, "scripts")
from results_section import write_section
write_section(results, "## Switch vs Omni-router vs AC vs σ-MoE", section)
PY
