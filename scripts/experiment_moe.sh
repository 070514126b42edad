#!/usr/bin/env bash
# Issue 5 experiment: dense vs Switch vs GShard vs SMoE on Core-8 at equal active FFN FLOPs and an
# equal budget (configs/experiments/core8_*.yaml, 1,400 updates each), then scores every direction
# of the test and OOD test sets and writes the table to docs/RESULTS.md.
#   scripts/experiment_moe.sh            (about 4 x 22 minutes on 2 cores)
#   scripts/experiment_moe.sh --quick    (5 updates each into /tmp: checks the pipeline only)
#   scripts/experiment_moe.sh --set train.threads=1   (extra --set overrides go to every `strata train`)
# Re-running skips models that have scores and resumes an interrupted training exactly.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
strata=${STRATA:-build/nmt/strata}
quick=0
[ "${1:-}" = "--quick" ] && { quick=1; shift; }
overrides=("$@")
results=docs/RESULTS.md
extra=()
sentences=200
root=work/models
if [ "$quick" = 1 ]; then
  root=/tmp/strata_experiment_quick
  extra=(--set train.max_updates=5 --set train.valid_every=5 --restart)
  sentences=5
  results=$root/RESULTS.md
  mkdir -p "$root"
fi
cmd="scripts/experiment_moe.sh"
[ "$quick" = 1 ] && cmd="$cmd --quick"
[ ${#overrides[@]} -gt 0 ] && cmd="$cmd ${overrides[*]}"
for n in dense switch gshard smoe; do
  out=$root/core8_$n
  printf '\n== %s\n' "$n"
  # A model whose scores exist is done; an interrupted one resumes from its last checkpoint.
  if [ "$quick" = 0 ] && [ -s "$out/scores.json" ]; then echo "done already: $out/scores.json"; continue; fi
  "$strata" train --config configs/experiments/core8_$n.yaml --set train.out_dir=$out "${extra[@]}" "${overrides[@]}"
  "$strata" eval -m $out/best.pt --split test,ood_test --max-sentences $sentences --beam 1 \
    --json $out/scores.json > $out/scores.txt
done
/usr/bin/python3 - "$root" "$results" "$sentences" "$cmd" <<'PY'
import json, os, re, sys
root, results, sentences, cmd = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]


def active_params(total, cfg):
    """Parameters a token uses: all minus the experts it is not routed to (SMoE: one pass, top-2)."""
    num = lambda k, default=0: int(re.search(rf"\b{k}: (\d+)", cfg).group(1)) if re.search(rf"\b{k}: (\d+)", cfg) else default
    mtype = re.search(r"type: (\w+)", cfg)
    if not mtype or mtype.group(1) == "none":
        return total, ""
    d, E, k_every = num("d_model"), num("num_experts"), num("every_k_layers", 2)
    f = num("expert_ffn") or num("ffn")
    top_k = {"switch": 1, "gshard": 2, "smoe": 2}[mtype.group(1)]
    if num("top_k"):
        top_k = num("top_k")
    layers = sum((i + 1) % k_every == 0 for n in ("encoder_layers", "decoder_layers") for i in range(num(n)))
    expert = 2 * d * f + f + d
    return total - (E - top_k) * expert * layers, "≥ " if mtype.group(1) == "smoe" else ""


rows = []
for n in ["dense", "switch", "gshard", "smoe"]:
    d = f"{root}/core8_{n}"
    if not os.path.exists(f"{d}/scores.json"):
        rows.append(f"| {n} | (not run yet) | | | | | | | | | | | |")
        continue
    s = json.load(open(f"{d}/scores.json"))
    params, valid, cfg = None, None, ""
    for line in open(f"{d}/train.jsonl"):
        e = json.loads(line)
        if e["event"] == "start": params, cfg = e["parameters"], e.get("config", "")
        if e["event"] == "valid": valid = e["nll"]
    act, prefix = active_params(params, cfg)
    t, o = s["test"]["averages"], s["ood_test"]["averages"]
    rows.append(f"| {n} | {params/1e6:.2f}M | {prefix}{act/1e6:.2f}M | {valid:.3f} | {t['all']['bleu']:.2f} | "
                f"{t['all']['chrf']:.2f} | {t['en->xx']['chrf']:.2f} | {t['xx->en']['chrf']:.2f} | "
                f"{t['non-English']['chrf']:.2f} | {o['all']['bleu']:.2f} | {o['all']['chrf']:.2f} | "
                f"{t['all']['copy_chrf']:.2f} | {s['test']['beats_copy']}/{s['test']['num_directions']} |")
section = ("## Dense vs Switch vs GShard vs SMoE on Core-8 (issue 5)\n\n"
    f"Command: `{cmd}`. Configs: `configs/experiments/core8_{{dense,switch,gshard,smoe}}.yaml` (d 256, 3+3\n"
    "layers, MoE in every second layer, 8 experts; equal active FFN FLOPs per token; 1,400 updates of 4,000\n"
    f"tokens each). Scores: greedy, first {sentences} sentences of every direction (56), sacreBLEU 2.6.0-exact\n"
    "BLEU/chrF averaged over directions; copy chrF: the source copied as the translation. Active\n"
    "parameters: those one token uses (SMoE: at least one pass of two experts). Each model's thread count\n"
    "is in the start event of its train.jsonl (threads change only the summation order).\n\n")
if "--quick" in cmd:
    section += "**Quick mode: 5 updates per model. This checks the pipeline; the numbers mean nothing.**\n\n"
section += ("| model | parameters | active | valid nll | test BLEU | test chrF | en→xx chrF | xx→en chrF | "
            "non-En chrF | OOD BLEU | OOD chrF | test copy chrF | test dirs beating copy |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
section += "\n".join(rows) + "\n"
# Every average, BLEU and chrF, in-domain and OOD.
groups = ["en->xx", "xx->en", "non-English", "all"]
section += ("\nBLEU / chrF per group of directions (test | OOD test):\n\n| model | " +
            " | ".join(f"test {g}" for g in groups) + " | " + " | ".join(f"OOD {g}" for g in groups) +
            " |\n|---|" + "---:|" * 8 + "\n")
for n in ["dense", "switch", "gshard", "smoe"]:
    path = f"{root}/core8_{n}/scores.json"
    if not os.path.exists(path):
        continue
    s = json.load(open(path))
    cells = [f"{s[split]['averages'][g]['bleu']:.2f} / {s[split]['averages'][g]['chrf']:.2f}"
             for split in ("test", "ood_test") for g in groups]
    section += f"| {n} | " + " | ".join(cells) + " |\n"
sys.path.insert(0, "scripts")
from results_section import write_section
write_section(results, "## Dense vs Switch vs GShard vs SMoE", section)
PY
