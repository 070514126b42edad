#!/usr/bin/env bash
# Issue 21 experiment, second part: the three perturbation modes of `strata analyze modularity` on
# the issue 20 Switch model (d128, 3+3 layers, 8 experts of ffn 512 in every layer, 6,000 updates;
# scripts/experiment_compress.sh trains the same checkpoint). For each language L, L's functional
# experts in every layer (encoder: source L; decoder: target L) are
#   zero     zeroed,
#   permute  permuted and scaled (the paper's T5 perturbation: the selected outputs of each forward
#            call replaced by a random permutation of them, x4, ReLU),
#   route    the only experts tokens may be routed to (the paper's Switch experiment, without its
#            few-shot tuning),
# against as many random experts (route: random non-functional ones) and, for zero and permute, as
# many top-AP neurons; greedy chrF on the test split. Table in docs/RESULTS.md, bars in
# docs/modularity_perturbation_modes.png.
#   scripts/experiment_perturbation.sh           (training ~45 min on 2 cores if missing, analysis ~30 min)
#   scripts/experiment_perturbation.sh --quick   (5 updates, 2 sentences per direction, into /tmp)
#   scripts/experiment_perturbation.sh --dense   (the quickstart's dense model, trained as
#                                                 scripts/quickstart.sh does if missing; its FFN
#                                                 layers MoEfied by k-means; zero and permute)
# Re-running skips a finished training and analysis; an interrupted training resumes exactly.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
strata=${STRATA:-build/nmt/strata}
config=configs/experiments/core8_compress_switch.yaml
root=work/models/core8_compress_switch
results=docs/RESULTS.md
docs=docs
sentences=25
perturb=${PERTURB_SENTENCES:-20}
extra=()
cmd="scripts/experiment_perturbation.sh"
modes=zero,permute,route
model_desc="the issue 20 Switch model (d128, 3+3 layers, 8 experts of ffn 512 in every layer, 6,000 updates)"
head="## Modularity: zeroing vs permute-and-scale vs restricted routing (issue 21)"
png=modularity_perturbation_modes.png
kind=Switch
if [ "${1:-}" = "--dense" ]; then
  config=configs/quickstart.yaml
  root=work/models/quickstart
  modes=zero,permute
  model_desc="the quickstart's dense model (configs/quickstart.yaml: d128, 3+3 layers, ffn 512, 9,900 updates; scripts/quickstart.sh trains it); each FFN layer split into 16 experts of 32 neurons by balanced k-means (the MoEfication of the tables above)"
  head="## Modularity: zeroing vs permute-and-scale on the dense quickstart model (issue 21)"
  png=modularity_perturbation_modes_dense.png
  kind=dense
  cmd="$cmd --dense"
elif [ "${1:-}" = "--quick" ]; then
  root=/tmp/strata_perturbation_quick
  extra=(--set train.max_updates=5 --set train.valid_every=5 --restart)
  sentences=3
  perturb=2
  results=$root/RESULTS.md
  docs=$root
  cmd="$cmd --quick"
  rm -rf "$root"
  mkdir -p "$root"
fi

if [ ! -s "$root/best.pt" ] || [ ${#extra[@]} -gt 0 ] || ! grep -q '"event":"end"' "$root/train.jsonl" 2>/dev/null; then
  printf '\n== train %s (%s)\n' "$root" "$config"
  "$strata" train --config "$config" --set train.out_dir="$root" "${extra[@]}"
fi

out=$root/perturbation
if [ ! -s "$out/modularity.json" ] || [ ${#extra[@]} -gt 0 ]; then
  printf '\n== analyze modularity %s (%s)\n' "$root/best.pt" "$modes"
  mkdir -p "$out"
  "$strata" analyze modularity -m "$root/best.pt" --split valid --max-sentences $sentences --out "$out" \
    --perturb-split test --perturb-sentences $perturb --perturb-modes $modes \
    > "$out.txt.tmp" && mv "$out.txt.tmp" "$out.txt"
fi

/usr/bin/python3 - "$out/modularity.json" "$results" "$cmd" "$docs" "$perturb" "$modes" "$model_desc" "$head" "$png" "$kind" <<'PY'
import json, os, sys
path, results, cmd, docs, perturb, modes_arg, model_desc, head, png_name, kind = sys.argv[1:11]
m = json.load(open(path))
p = m["perturbation"]
def mean(xs):
    xs = list(xs)
    return sum(xs) / len(xs) if xs else 0.0
base = mean(d["chrf"] for d in p["unperturbed"])
runs = [r for r in p["runs"] if "drop" in r]
kinds = []
for r in runs:
    if (r["mode"], r["condition"]) not in kinds:
        kinds.append((r["mode"], r["condition"]))
langs = []
for r in p["runs"]:
    if r["lang"] not in langs:
        langs.append(r["lang"])
section = (
    f"{head}\n\n"
    f"Command: `{cmd}` (`strata analyze modularity -m best.pt --perturb-split test --perturb-sentences {perturb} "
    f"--perturb-modes {modes_arg}`).\n"
    f"Model: {model_desc}.\n"
    "For each language L, L's functional experts in every layer (encoder: source L; decoder: target L; the\n"
    "hypergeometric test above) are zeroed, permuted and scaled (the paper's T5 perturbation: the selected\n"
    "outputs of each forward call replaced by a random permutation of them, x4, ReLU)" +
    (", or made the only\n"
     "experts tokens may be routed to (the paper's Switch experiment, without its few-shot tuning; gates keep\n"
     "the router's unrestricted probabilities). Baselines: as many random experts of the same layers (route:\n"
     "random non-functional ones)" if "route" in modes_arg else
     ".\nBaselines: as many random experts of the same layers") +
    " and as many top-AP neurons for L. Numbers: mean chrF drop from the\n"
    f"unperturbed model (test chrF {base:.2f}; greedy, {perturb} sentences per direction) on the directions\n"
    "from L, into L and the rest.\n\n"
    "Mean over the languages that have functional experts:\n\n"
    "| mode | condition | languages | from L | into L | other directions |\n|---|---|---:|---:|---:|---:|\n")
for mode, cond in kinds:
    rs = [r for r in runs if r["mode"] == mode and r["condition"] == cond]
    section += (f"| {mode} | {cond} | {len(rs)} | {mean(r['drop']['from'] for r in rs):.2f} | "
                f"{mean(r['drop']['into'] for r in rs):.2f} | {mean(r['drop']['other'] for r in rs):.2f} |\n")
section += ("\nPer language (experts: functional experts over the layers" +
            ("; route: those of them in layers\nwhose routing can be restricted" if "route" in modes_arg else "") +
            "):\n\n"
            "| L | mode | condition | experts | neurons | from L | into L | other |\n|---|---|---|---:|---:|---:|---:|---:|\n")
none = []
for r in p["runs"]:
    if "drop" not in r:
        if r["lang"] not in none:
            none.append(r["lang"])
        continue
    d = r["drop"]
    neurons = "" if r["mode"] == "route" else f"{r['neurons']:,}"
    section += (f"| {r['lang']} | {r['mode']} | {r['condition']} | {r['experts']} | {neurons} | "
                f"{d['from']:.2f} | {d['into']:.2f} | {d['other']:.2f} |\n")
if none:
    section += f"\nNo functional experts (nothing to perturb): {', '.join(none)}.\n"
section += f"\n![perturbation modes]({png_name})\n"
if "--quick" in cmd:
    section = section.replace("\n\n", "\n\n**Quick mode: 5 updates. This checks the pipeline; the numbers mean nothing.**\n\n", 1)
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    modes = [k for k in ("zero", "permute", "route") if any(r["mode"] == k for r in runs)]
    if modes:
        fig, axes = plt.subplots(1, len(modes), figsize=(4.2 * len(modes), 3.2), sharey=True, squeeze=False)
        for ax, mode in zip(axes[0], modes):
            conds = [c for k, c in kinds if k == mode]
            groups = ("from L", "into L", "other")
            for i, cond in enumerate(conds):
                rs = [r for r in runs if r["mode"] == mode and r["condition"] == cond]
                ys = [mean(r["drop"][g] for r in rs) for g in ("from", "into", "other")]
                w = 0.8 / len(conds)
                ax.bar([j + w * (i - (len(conds) - 1) / 2) for j in range(3)], ys, width=w, label=cond)
            ax.set_xticks(range(3)); ax.set_xticklabels(groups, fontsize=8)
            ax.axhline(0, color="black", linewidth=0.5); ax.set_title(mode, fontsize=9); ax.legend(fontsize=7)
        axes[0][0].set_ylabel("mean chrF drop")
        fig.suptitle(f"{kind}: perturbing L's functional experts vs baselines (mean over languages)", fontsize=9)
        fig.tight_layout()
        png = f"{docs}/{png_name}"
        fig.savefig(png + ".tmp.png", dpi=110); os.replace(png + ".tmp.png", png); plt.close(fig)
except ImportError:
    print("note: no plot (python3-matplotlib is not installed: apt-get install python3-matplotlib)", file=sys.stderr)
text = open(results).read() if os.path.exists(results) else ""
if head in text:
    start = text.index(head)
    nxt = text.find("\n## ", start + len(head))
    text = text[:start] + section + (text[nxt + 1:] if nxt >= 0 else "")
else:
    after = next((h for h in ("## Reading the perturbation modes (issue 21)", "## Reading the issue 21 tables") if h in text), None)
    anchor = text.find("\n## ", text.find(after) + 1) if after else -1
    text = (text[:anchor + 1] + section + "\n" + text[anchor + 1:]) if anchor >= 0 else text.rstrip("\n") + "\n\n" + section
tmp = results + ".tmp"
open(tmp, "w").write(text)
os.replace(tmp, results)
print(section)
PY
