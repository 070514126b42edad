#!/usr/bin/env bash
# Issue 21 experiment: `strata analyze modularity` on a dense model and a Switch model of the same
# shape and budget (d128, 3+3 layers, ffn 512; 6,000 updates each): neuron predictivity for the
# source / target language and markup tokens, functional experts (Switch: its experts; dense:
# MoEfied into 16 experts by k-means, co-activation (METIS) and at random), and the dense run's
# stabilisation over its checkpoints (every 1,000 updates), and the perturbation (each language's
# functional experts zeroed, or permuted and scaled, vs as many random experts vs as many top-AP
# neurons; greedy chrF on 20 test sentences per direction; the picture: zeroing). Restricted
# routing on the Switch model: scripts/experiment_perturbation.sh. Tables in docs/RESULTS.md, heat maps in
# docs/modularity_{dense,switch}.png, stabilisation curves in docs/modularity_stability.png.
#   scripts/experiment_modularity.sh           (trains what is missing: ~45–75 min each on 2 cores)
#   scripts/experiment_modularity.sh --quick   (5 updates, 3 sentences per direction, into /tmp)
# Re-running skips finished trainings and analyses; an interrupted training resumes exactly.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
strata=${STRATA:-build/nmt/strata}
dense=work/models/modularity_dense
switch=work/models/core8_compress_switch   # the issue 20 checkpoint (scripts/experiment_compress.sh)
results=docs/RESULTS.md
docs=docs
sentences=25
perturb=20
extra=()
cmd="scripts/experiment_modularity.sh"
if [ "${1:-}" = "--quick" ]; then
  dense=/tmp/strata_modularity_quick/dense
  switch=/tmp/strata_modularity_quick/switch
  extra=(--set train.max_updates=5 --set train.valid_every=5 --restart)
  sentences=3
  perturb=2
  results=/tmp/strata_modularity_quick/RESULTS.md
  docs=/tmp/strata_modularity_quick
  cmd="$cmd --quick"
  rm -rf /tmp/strata_modularity_quick
  mkdir -p "$docs"
fi

train() {  # train OUT_DIR CONFIG [--set ...]
  local out=$1 config=$2
  shift 2
  if [ ! -s "$out/best.pt" ] || [ ${#extra[@]} -gt 0 ] || ! grep -q '"event":"end"' "$out/train.jsonl" 2>/dev/null; then
    printf '\n== train %s (%s)\n' "$out" "$config"
    "$strata" train --config "$config" --set train.out_dir="$out" "$@" "${extra[@]}"
  fi
}
# The quickstart's dense shape, as long as the Switch model, numbered checkpoints every 1,000.
train "$dense" configs/quickstart.yaml --set train.max_updates=6000 --set train.valid_every=1000 \
  --set train.keep_last=6 --set train.max_minutes=180
train "$switch" configs/experiments/core8_compress_switch.yaml

analyze() {  # analyze MODEL_DIR: the earlier numbered checkpoints go to the stabilisation
  local out=$1/modularity earlier=()
  for c in "$1"/checkpoint_*.pt; do
    [ -e "$c" ] && ! cmp -s "$c" "$1/best.pt" && earlier+=("$c")
  done
  local checkpoints=()
  if [ ${#earlier[@]} -gt 0 ]; then checkpoints=(--checkpoints "$(IFS=,; echo "${earlier[*]}")"); fi
  if [ ! -s "$out/modularity.json" ] || [ ${#extra[@]} -gt 0 ]; then
    printf '\n== analyze modularity %s\n' "$1"
    "$strata" analyze modularity -m "$1/best.pt" --split valid --max-sentences $sentences --out "$out" \
      --perturb-split test --perturb-sentences $perturb --perturb-modes zero,permute \
      "${checkpoints[@]}" > "$out.txt.tmp" && mv "$out.txt.tmp" "$out.txt"
  fi
}
mkdir -p "$dense/modularity" "$switch/modularity"
analyze "$dense"
analyze "$switch"

/usr/bin/python3 - "$dense" "$switch" "$results" "$cmd" "$sentences" "$docs" "$perturb" <<'PY'
import json, sys
dense, switch, results, cmd, sentences, docs, perturb = sys.argv[1:8]
models = [("dense", json.load(open(f"{dense}/modularity/modularity.json"))),
          ("Switch", json.load(open(f"{switch}/modularity/modularity.json")))]
def mean(xs):
    xs = list(xs)
    return sum(xs) / len(xs) if xs else 0.0
rows_ap, rows_fx = [], []
for name, m in models:
    for l in m["layers"]:
        p = l["predictivity"]
        langs = [k for k in p if k != "markup"]
        mk = p.get("markup")
        rows_ap.append(f"| {name} | {l['name']} | {l['neurons']:,} | {mean(p[k]['max'] for k in langs):.3f} | "
                       f"{mean(p[k]['mean_top'] for k in langs):.3f} | {mean(p[k]['median'] for k in langs):.3f} | "
                       + (f"{mk['max']:.3f} | {mk['mean_top']:.3f} |" if mk else "– | – |"))
        for part in l["partitions"]:
            subs = part["sub_functions"]
            lang_share = mean(subs[k]["share"] for k in langs)
            lang_ext = mean(subs[k]["extent"] for k in langs if subs[k]["share"] > 0)
            rows_fx.append(f"| {name} | {l['name']} | {part['kind']} | {part['experts']} | {lang_share:.2f} | "
                           f"{lang_ext:.2f} | {part['languages']['share']:.2f} ({part['languages']['extent']:.2f}) | "
                           f"{part['markup']['share']:.2f} ({part['markup']['extent']:.2f}) |")
m0 = models[0][1]
section = (
    "## Modularity: functional neurons and experts per language (issue 21)\n\n"
    f"Command: `{cmd}` (`strata analyze modularity -m MODEL --split valid --max-sentences {sentences}`).\n"
    "Models: the quickstart's dense shape (d128, 3+3 layers, ffn 512) and the issue 20 Switch model (the same\n"
    "shape with 8 experts of ffn 512 in every layer), 6,000 updates each. Activations: every FFN neuron's\n"
    "ReLU output, teacher-forced on the valid references, max-pooled over each sentence's non-pad positions\n"
    "(the markup function: each token's own); Switch layers: every expert's neurons on every token.\n"
    "Sub-functions: encoder \"source language is L\", decoder \"target language is L\", both \"the token is\n"
    f"part of a placeholder, markup or number\"; at most {m0['encoder_functions'][0]['positives'] if m0['encoder_functions'] else 0}"
    " positives and as many negatives each. AP = max(AP(y), AP(1 − y)).\n"
    f"Functional experts: the top {m0['top']:g} of a layer's neurons per sub-function; hypergeometric test per\n"
    f"language (p ≤ {m0['alpha']:g}), binomial test (p = 1/E) for the languages together and for markup.\n"
    "Dense layers are split into 16 experts of 32 neurons (k-means on normalised input weights,\n"
    "METIS on the co-activation graph, random); Switch layers have their own 8 experts and a random\n"
    "partition of the same sizes.\n\n"
    "Neuron predictivity, per layer (language columns: mean over the languages):\n\n"
    "| model | layer | neurons | language: best AP | language: mean AP of top 1% | language: median AP | "
    "markup: best AP | markup: mean AP of top 1% |\n|---|---|---:|---:|---:|---:|---:|---:|\n"
    + "\n".join(rows_ap) + "\n\n"
    "Functional experts (share of the layer's experts; modularisation extent = mean count over the\n"
    "count expected by chance, over the functional ones):\n\n"
    "| model | layer | partition | experts | per language: share | per language: extent | "
    "languages together: share (extent) | markup: share (extent) |\n|---|---|---|---:|---:|---:|---:|---:|\n"
    + "\n".join(rows_fx) + "\n\n"
    "Functional experts per layer (rows: sub-functions; columns: experts; darker = more selected neurons\n"
    "than chance; white = not functional):\n\n![dense](modularity_dense.png)\n\n![switch](modularity_switch.png)\n")
if "--quick" in cmd:
    section = section.replace("\n\n", "\n\n**Quick mode: 5 updates. This checks the pipeline; the numbers mean nothing.**\n\n", 1)
pert = [(name, m) for name, m in models if m.get("perturbation")]
if pert:
    section += ("\nPerturbation (the hypothesis: zeroing L's functional experts hurts the directions that involve L\n"
                "most): each language's functional experts zeroed in every layer (encoder: source L, decoder:\n"
                "target L), against as many random experts of the same layers and as many top-AP neurons for L;\n"
                "mean chrF drop from the unperturbed model on the directions from L, into L and the rest\n"
                f"(test split, greedy, {perturb} sentences per direction).\n\n"
                "| model | L | mode | condition | experts | neurons | from L | into L | other |\n"
                "|---|---|---|---|---:|---:|---:|---:|---:|\n")
    for name, m in pert:
        base = mean(d["chrf"] for d in m["perturbation"]["unperturbed"])
        for run in m["perturbation"]["runs"]:
            if "drop" not in run:
                section += f"| {name} | {run['lang']} | {run.get('mode', 'zero')} | {run['condition']} | 0 | 0 | no functional experts | | |\n"
                continue
            dr = run["drop"]
            section += (f"| {name} | {run['lang']} | {run.get('mode', 'zero')} | {run['condition']} | {run['experts']} | {run['neurons']:,} | "
                        f"{dr['from']:.2f} | {dr['into']:.2f} | {dr['other']:.2f} |\n")
        section += f"\n{name}: unperturbed test chrF {base:.2f} (mean over directions).\n"
        section += f"\n![{name} perturbation](modularity_perturbation_{name.lower()}.png)\n"
# Labelled pictures (the C++ heat maps in each model's modularity/ folder are unlabelled quick looks).
try:
    import os
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    for name, m in models:
        L = len(m["layers"])
        fig, axes = plt.subplots(1, L, figsize=(2.1 * L, 3.3), squeeze=False)
        for ax, l in zip(axes[0], m["layers"]):
            part = l["partitions"][0]
            names = [f["name"] for f in m["encoder_functions" if l["encoder"] else "decoder_functions"]]
            grid = []
            for f in names:
                t = part["sub_functions"][f]
                E, sel = part["experts"], max(1, t["selected"])
                grid.append([t["counts"][e] / (sel / E) if e in t["functional"] else 0 for e in range(E)])
            ax.imshow(grid, cmap="Blues", vmin=0, aspect="auto")
            ax.set_title(f"{l['name']} ({part['kind']})", fontsize=8)
            ax.set_yticks(range(len(names)))
            ax.set_yticklabels(names if l["name"] in ("enc0", "dec0") else [], fontsize=6)
            ax.set_xlabel("expert", fontsize=7)
            ax.tick_params(axis="x", labelsize=6)
        fig.suptitle(f"{name}: functional experts per sub-function (colour: selected neurons / chance; white: not functional)", fontsize=8)
        fig.tight_layout()
        out = f"{docs}/modularity_{name.lower()}.png"
        fig.savefig(out + ".tmp.png", dpi=110); os.replace(out + ".tmp.png", out); plt.close(fig)
        if m.get("perturbation"):
            runs = [r for r in m["perturbation"]["runs"] if "drop" in r and r.get("mode", "zero") == "zero"]
            langs = sorted({r["lang"] for r in runs}, key=[r["lang"] for r in m["perturbation"]["runs"]].index)
            fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
            for ax, (title, key) in zip(axes, (("directions from or into L", "involving"), ("other directions", "other"))):
                for k, cond in enumerate(("functional", "random", "top-AP")):
                    ys = []
                    for lang in langs:
                        r = next((r for r in runs if r["lang"] == lang and r["condition"] == cond), None)
                        ys.append(0 if r is None else ((r["drop"]["from"] + r["drop"]["into"]) / 2 if key == "involving" else r["drop"]["other"]))
                    ax.bar([i + 0.27 * (k - 1) for i in range(len(langs))], ys, width=0.27, label=cond)
                ax.set_xticks(range(len(langs))); ax.set_xticklabels(langs, fontsize=8)
                ax.axhline(0, color="black", linewidth=0.5); ax.set_title(title, fontsize=9)
            axes[0].set_ylabel("chrF drop"); axes[1].legend(fontsize=7)
            fig.suptitle(f"{name}: zeroing L's functional experts vs random experts vs top-AP neurons", fontsize=9)
            fig.tight_layout()
            out = f"{docs}/modularity_perturbation_{name.lower()}.png"
            fig.savefig(out + ".tmp.png", dpi=110); os.replace(out + ".tmp.png", out); plt.close(fig)
except ImportError:
    pass
stab = [(name, m) for name, m in models if m.get("stability")]
if stab:
    section += ("\nStabilisation (the paper: modular structure settles before single neurons do): Spearman\n"
                "correlation of each earlier checkpoint's predictivity with the final one's, on the same\n"
                "examples, mean over sub-functions and layers; experts: the final checkpoint's partition (dense:\n"
                "k-means), and a random one as the baseline.\n\n"
                "| model | update | neurons | experts | random experts |\n|---|---:|---:|---:|---:|\n")
    for name, m in stab:
        for p in m["stability"]:
            section += (f"| {name} | {p['update']:,} | {mean(p['neuron']):.3f} | {mean(p['expert']):.3f} | "
                        f"{mean(p['random']):.3f} |\n")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(5.5, 3.6))
        for name, m in stab:
            xs = [p["update"] for p in m["stability"]]
            for key, style in (("neuron", "-"), ("expert", "--"), ("random", ":")):
                ax.plot(xs, [mean(p[key]) for p in m["stability"]], style, marker="o", label=f"{name}: {key}")
        ax.set_xlabel("update"); ax.set_ylabel("Spearman ρ with the final checkpoint")
        ax.legend(fontsize=7); fig.tight_layout()
        out = f"{docs}/modularity_stability.png"
        fig.savefig(out + ".tmp.png", dpi=110)
        import os
        os.replace(out + ".tmp.png", out)
        section += "\n![stabilisation](modularity_stability.png)\n"
    except ImportError:
        section += "\n(no plot: python3-matplotlib is not installed)\n"
sys.path.insert(0, "scripts")
from results_section import write_section
write_section(results, "## Modularity: functional neurons", section)
PY
