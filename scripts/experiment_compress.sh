#!/usr/bin/env bash
# Issue 20 experiment: `strata compress` on a trained Switch checkpoint. ResMoE (barycenter +
# pruned or low-rank residuals) against per-expert pruning, per-expert SVD and merging, each at
# 25 / 50 / 62.5 / 75 % of the experts' parameters removed (every method stores the same number;
# 62.5% is the paper's own point: ResMoE with residuals pruned to s = 0.75 at E = 8), scored
# by valid nll (teacher-forced) and greedy test / OOD chrF; table in docs/RESULTS.md, plot in
# docs/compress.png.
#   scripts/experiment_compress.sh           (training ~40 min on 2 cores, then ~2 min per variant)
#   scripts/experiment_compress.sh --quick   (5 updates, 5 sentences, into /tmp: checks the pipeline)
# Re-running skips variants that have scores; an interrupted training resumes exactly.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
strata=${STRATA:-build/nmt/strata}
config=configs/experiments/core8_compress_switch.yaml
root=work/models/core8_compress_switch
results=docs/RESULTS.md
plot=docs/compress.png
sentences=50
extra=()
cmd="scripts/experiment_compress.sh"
if [ "${1:-}" = "--quick" ]; then
  root=/tmp/strata_compress_quick
  extra=(--set train.max_updates=5 --set train.valid_every=5 --restart)
  sentences=5
  results=$root/RESULTS.md
  plot=$root/compress.png
  cmd="$cmd --quick"
  rm -rf "$root"
  mkdir -p "$root"
fi

printf '\n== train %s\n' "$config"
if [ ! -s "$root/best.pt" ] || [ ${#extra[@]} -gt 0 ] || ! grep -q '"event":"end"' "$root/train.jsonl" 2>/dev/null; then
  "$strata" train --config "$config" --set train.out_dir="$root" "${extra[@]}"
fi

# One scoring of a checkpoint: valid (nll), test and OOD test (chrF), greedy, float32.
score() {  # score MODEL JSON
  [ -s "$2" ] && return 0
  "$strata" eval -m "$1" --split valid,test,ood_test --max-sentences $sentences --beam 1 --nll \
    --no-shuffled --json "$2.tmp" > "${2%.json}.txt" && mv "$2.tmp" "$2"
}
mkdir -p "$root/compress"
printf '\n== original\n'
score "$root/best.pt" "$root/compress/original.scores.json"
for c in 0.25 0.5 0.625 0.75; do
  for variant in "resmoe" "resmoe --residual svd" "prune" "svd" "merge" "resmoe --int8"; do
    name=$(echo "$variant" | tr -d '-' | tr ' ' '_')_$c
    out=$root/compress/$name
    # Done already (a report from before the residual share was reported is remade: seconds).
    if [ -s "$out.scores.json" ] && { [ -e "$out.error" ] || grep -q residual_share "$out.json"; }; then
      echo "done already: $out.scores.json"
      continue
    fi
    printf '\n== %s at %s\n' "$variant" "$c"
    # shellcheck disable=SC2086  # $variant is the method and its options
    if ! "$strata" compress -m "$root/best.pt" -o "$out.pt" --method $variant --compression $c \
        --json "$out.json" > "$out.compress.txt" 2>&1; then
      # A setting a method cannot meet (e.g. merge's groups, or below the barycenter's cost) is a
      # row that says why.
      tail -1 "$out.compress.txt" | tee "$out.error"
      echo '{}' > "$out.scores.json"
      continue
    fi
    tail -2 "$out.compress.txt"
    score "$out.pt" "$out.scores.json"
    rm -f "$out.pt"  # the scores and the report stay; the 25 MB checkpoints are remade in seconds
  done
done

/usr/bin/python3 - "$root" "$results" "$plot" "$cmd" "$sentences" <<'PY'
import json, os, sys
root, results, plot, cmd, sentences = sys.argv[1:6]
d = f"{root}/compress"
orig = json.load(open(f"{d}/original.scores.json"))
def cells(s):
    return (s["valid"]["averages"]["all"]["nll"], s["test"]["averages"]["all"]["chrf"],
            s["ood_test"]["averages"]["all"]["chrf"], s["test"]["averages"]["all"]["bleu"],
            s["test"]["beats_copy"])
variants = [("resmoe", "ResMoE, pruned residuals"), ("resmoe_residual_svd", "ResMoE, rank-r residuals"),
            ("prune", "magnitude pruning"), ("svd", "truncated SVD"), ("merge", "merging (aligned)"),
            ("resmoe_int8", "ResMoE, pruned residuals, int8 values")]
o = cells(orig)
first = None
for f in sorted(os.listdir(d)):
    if f.endswith(".json") and not f.endswith("scores.json"):
        first = json.load(open(f"{d}/{f}"))
        break
rows, series = [], {}
def pct(c):
    return f"{100 * float(c):g}%"
base_mb = first["file_bytes"] / 1e6 if first else 0
rows.append(f"| original | 0% | {first['parameters'] if first else 0:,} | – | – | {base_mb:.1f} | {o[0]:.3f} | "
            f"{o[1]:.2f} | {o[2]:.2f} | {o[3]:.2f} | {o[4]}/56 |")
for key, label in variants:
    for c in ("0.25", "0.5", "0.625", "0.75"):
        rep_path, sc_path = f"{d}/{key}_{c}.json", f"{d}/{key}_{c}.scores.json"
        if os.path.exists(f"{d}/{key}_{c}.error"):
            rows.append(f"| {label} | {pct(c)} | – | – | – | – | cannot: {open(f'{d}/{key}_{c}.error').read().strip()} | | | | |")
            continue
        if not os.path.exists(sc_path) or not os.path.exists(rep_path):
            rows.append(f"| {label} | {pct(c)} | (not run yet) | | | | | | | | |")
            continue
        r, s = json.load(open(rep_path)), cells(json.load(open(sc_path)))
        err = sum(l["relative_error"] ** 2 * l["parameters"] for l in r["layers"]) / r["parameters"]
        share = "–"
        if key.startswith("resmoe") or key == "merge":
            share = f'{sum(l["residual_share"] * l["parameters"] for l in r["layers"]) / r["parameters"]:.3f}'
        rows.append(f"| {label} | {pct(c)} | {r['stored_parameters']:,} | {share} | {err ** 0.5:.3f} | "
                    f"{r['output_file_bytes'] / 1e6:.1f} | {s[0]:.3f} | {s[1]:.2f} | {s[2]:.2f} | {s[3]:.2f} | {s[4]}/56 |")
        series.setdefault(label, []).append((float(c), s[0], s[1]))
section = (
    "## ResMoE vs pruning, SVD and merging: compressing a Switch checkpoint (issue 20)\n\n"
    f"Command: `{cmd}`. Checkpoint: `configs/experiments/core8_compress_switch.yaml` (the quickstart's\n"
    "d128 shape with 8 Switch experts in all 6 layers, 6,000 updates). `strata compress --compression c`\n"
    "removes the share c of the experts' parameters with every method (ResMoE: the barycenter expert plus\n"
    "each expert's aligned residual, pruned by magnitude or cut to rank r; prune / SVD: each expert on its\n"
    "own; merge: the aligned experts averaged in G groups, G = round((1−c)·E)). One shot, no data, no\n"
    "retraining. Scores: float32, greedy, first " + sentences + " sentences of every direction; valid nll:\n"
    "teacher-forced, per reference token, on the same valid sentences. residual share: ‖PX − C‖²/‖X‖²,\n"
    "what the barycenter C (merge: each group's) leaves for the residuals to carry (0 for experts that\n"
    "are neuron permutations of each other; the plain mean of unrelated zero-mean experts leaves\n"
    "1 − 1/E = 0.875). rel. error: ‖X̂ − X‖/‖X‖ over the experts' weights (what is stored vs the\n"
    "original). file: the checkpoint on disk (restored at load time: the file shrinks, the resident\n"
    "model does not).\n\n")
if "--quick" in cmd:
    section += "**Quick mode: 5 updates, 5 sentences. This checks the pipeline; the numbers mean nothing.**\n\n"
section += ("| method | removed | expert parameters stored | residual share | rel. error | file MB | valid nll | "
            "test chrF | OOD chrF | test BLEU | test dirs above copy |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
section += "\n".join(rows) + "\n"
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    for label, pts in series.items():
        pts.sort()
        xs = [0] + [100 * p[0] for p in pts]
        style = "--" if "int8" in label else "-"  # int8 lies on its f32 twin: dashed
        ax[0].plot(xs, [o[0]] + [p[1] for p in pts], style, marker="o", label=label)
        ax[1].plot(xs, [o[1]] + [p[2] for p in pts], style, marker="o", label=label)
    ax[0].set_xlabel("experts' parameters removed (%)"); ax[0].set_ylabel("valid nll (lower is better)")
    ax[1].set_xlabel("experts' parameters removed (%)"); ax[1].set_ylabel("test chrF")
    ax[1].legend(fontsize=7)
    fig.suptitle(f"strata compress on a Switch checkpoint ({cmd})", fontsize=9)
    fig.tight_layout()
    fig.savefig(plot + ".tmp.png", dpi=110)
    os.replace(plot + ".tmp.png", plot)
    section += f"\n![valid nll and test chrF against the share removed]({os.path.basename(plot)})\n"
except ImportError:
    section += "\n(no plot: python3-matplotlib is not installed)\n"
sys.path.insert(0, "scripts")
from results_section import write_section
write_section(results, "## ResMoE vs pruning, SVD and merging", section)
PY
