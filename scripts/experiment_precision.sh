#!/usr/bin/env bash
# Issue 17: does bf16 train like fp32? The quickstart config for 300 updates in each precision
# (train.precision fp32 | bf16; everything else equal), the logged training loss side by side, the
# validation nll at 300 and the wall time; writes "## bf16 vs fp32 training" in docs/RESULTS.md.
#   scripts/experiment_precision.sh              (about 4 + 6 minutes on 2 cores without AVX512_BF16)
#   scripts/experiment_precision.sh --quickstart (the whole quickstart, 3,300 updates, in each
#       precision, scored as the quickstart scores; "## bf16 vs fp32: the whole quickstart";
#       about 15 + 13 minutes of training on 2 Zen 4 cores, over an hour without AVX512_BF16)
# Resumable: a finished run is not repeated (training resumes from its last checkpoint).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
strata=${STRATA:-build/nmt/strata}
if [ "${1:-}" = "--quickstart" ]; then
  for p in fp32 bf16; do
    out=work/models/qs_$p
    "$strata" train --config configs/quickstart.yaml --set train.out_dir=$out --set train.precision=$p \
      --set train.max_updates=3300
    [ -s $out/scores.json ] || "$strata" eval -m $out/best.pt --split test,ood_test --max-sentences 50 \
      --beam 1 --json $out/scores.json > $out/scores.txt
  done
  /usr/bin/python3 - <<'PY'
import json, platform, sys
sys.path.insert(0, "scripts")
from results_section import write_section
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
bf16 = "avx512_bf16" in open("/proc/cpuinfo").read()
rows = []
import glob, os
# qs_fp32 and qs_bf16, and any other qs_* run kept beside them (e.g. qs_bf16_passive, a bf16 run
# moved aside before the OpenMP switch: same weights, other speed)
for d in sorted(glob.glob("work/models/qs_*"), key=lambda d: (d != "work/models/qs_fp32", d)):
    if not os.path.exists(f"{d}/scores.json"): continue
    p = json.loads(open(f"{d}/train.jsonl").readline())["precision"]
    valid, train, cur, policy = None, [], "PASSIVE", "PASSIVE"  # (older start records lack it)
    for e in map(json.loads, open(f"{d}/train.jsonl")):
        if e["event"] == "valid": valid = e["nll"]
        if e["event"] == "start": cur = e.get("omp_wait_policy") or "PASSIVE"
        if e["event"] == "train": train.append(e); policy = cur  # the run that made the updates
    s = json.load(open(f"{d}/scores.json"))
    t, o = s["test"], s["ood_test"]
    a = t["averages"]
    tps = sum(e["tokens_per_s"] for e in train) / len(train)
    rows.append(f"| {p} | {policy} | {train[-1]['update']:,} | {train[-1]['elapsed_s'] / 60:.1f} | {tps:,.0f} | {valid:.3f} | "
                f"{a['all']['bleu']:.2f} | {a['all']['chrf']:.2f} | {a['en->xx']['chrf']:.2f} | {a['xx->en']['chrf']:.2f} | "
                f"{a['all']['chrf_gap']:.2f} | {t['beats_copy']}/{t['num_directions']} | "
                f"{o['averages']['all']['chrf']:.2f} | {o['beats_copy']}/{o['num_directions']} |")
section = f"""## bf16 vs fp32: the whole quickstart

`scripts/experiment_precision.sh --quickstart`: configs/quickstart.yaml (3,300 updates, seed 1) with
`train.precision` fp32 and bf16, each scored as the quickstart scores (greedy, first 50 sentences of
every direction, float32 decoding). CPU: {cpu}, 2 cores{" (AVX512_BF16)" if bf16 else " (no AVX512_BF16)"}.
minutes: training wall time as logged; tokens/s: the mean of the progress lines. gap: test chrF minus
shuffled-source chrF (source use). OpenMP: the run's OMP_WAIT_POLICY (bf16 training spins since
nmt/util/system.h's switch; the scores do not depend on it).

| precision | OpenMP | updates | minutes | tokens/s | valid nll | test BLEU | test chrF | en→xx chrF | xx→en chrF | gap | test above copy | OOD chrF | OOD above copy |
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
""" + "\n".join(rows) + "\n"
write_section("docs/RESULTS.md", "## bf16 vs fp32: the whole quickstart", section)
PY
  exit 0
fi
for p in fp32 bf16; do
  "$strata" train --config configs/quickstart.yaml --set train.out_dir=work/models/precision_$p \
    --set train.max_updates=300 --set train.valid_every=300 --set train.log_every=25 \
    --set train.precision=$p
done
/usr/bin/python3 - <<'PY'
import json, sys
sys.path.insert(0, "scripts")
from results_section import write_section
def load(p):
    train, valid, end = {}, None, None
    for e in map(json.loads, open(f"work/models/precision_{p}/train.jsonl")):
        if e["event"] == "train": train[e["update"]] = (e["loss"], e["elapsed_s"])
        if e["event"] == "valid": valid = e["nll"]
    return train, valid
(a, va), (b, vb) = load("fp32"), load("bf16")
rows, worst = [], 0.0
for u in sorted(a):
    d = b[u][0] - a[u][0]
    worst = max(worst, abs(d) / a[u][0])
    rows.append(f"| {u} | {a[u][0]:.3f} | {b[u][0]:.3f} | {d:+.3f} |")
last = max(a)
section = f"""## bf16 vs fp32 training

`scripts/experiment_precision.sh`: configs/quickstart.yaml for 300 updates with `train.precision`
fp32 and bf16 (bf16 operands of every product, fp32 accumulation, master weights, Adam state,
norms, softmax and loss). Training loss as logged (per target token, label-smoothed) every 25
updates; the two runs see the same batches.

| update | fp32 loss | bf16 loss | bf16 − fp32 |
|---:|---:|---:|---:|
""" + "\n".join(rows) + f"""

Largest relative difference over the logged points: {100 * worst:.2f}% (stated tolerance: 2%).
Validation nll at 300: fp32 {va:.3f}, bf16 {vb:.3f}. Wall time for the 300 updates:
fp32 {a[last][1] / 60:.1f} min, bf16 {b[last][1] / 60:.1f} min on the machine that ran it (on a CPU
without AVX512_BF16 bf16 is emulated and slower; docs/PERFORMANCE.md).
"""
write_section("docs/RESULTS.md", "## bf16 vs fp32 training", section)
PY
