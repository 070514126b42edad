#!/usr/bin/env bash
# Quality of each inference compute type next to float32 (issue 18): scores MODEL on test and
# ood_test (first 50 sentences per direction, greedy, as the quickstart scores) in every compute
# type given, then prints per split the average chrF/BLEU per type, the change from float32 and
# the largest per-direction change. Results: <model dir>/compute_<type>.json (reused if present).
#   scripts/experiment_compute_types.sh MODEL.pt [TYPES]      (TYPES default: float32,int8)
# TYPES may include int8_file: MODEL quantized by `strata quantize` (MODEL.int8.pt beside it), in int8;
# a type with "+shortlist" (float32+shortlist, int8+shortlist) decodes with --shortlist auto (the
# vocabulary shortlist of the model's data, `strata data shortlist`). The last column is the wall
# seconds of the eval (both splits; rerun a type after deleting its json to time it again).
#   STRATA=build/nmt/strata MAX_SENTENCES=50
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:?usage: experiment_compute_types.sh MODEL.pt [float32,int8,...]}
types=${2:-float32,int8}
strata=${STRATA:-build/nmt/strata}
n=${MAX_SENTENCES:-50}
dir=$(dirname "$model")
stem=$(basename "$model" .pt)
for t in ${types//,/ }; do
  out="$dir/${stem}_compute_${t}.json"
  if [ ! -s "$out" ]; then
    echo "[compute-types] $model in $t" >&2
    m=$model ct=${t%+shortlist} list=none
    [ "$ct" != "$t" ] && list=auto
    if [ "$ct" = int8_file ]; then
      m=$dir/$stem.int8.pt ct=int8
      [ -s "$m" ] || "$strata" quantize -m "$model" -o "$m" >&2
    fi
    t0=$(date +%s.%N)
    "$strata" eval -m "$m" --split test,ood_test --max-sentences "$n" --beam 1 \
      --repetition-penalty 1 --no-shuffled --compute-type "$ct" --shortlist "$list" \
      --json "$out.tmp" > "$dir/${stem}_compute_${t}.txt"
    echo "$(date +%s.%N) - $t0" | bc > "$dir/${stem}_compute_${t}.seconds"
    mv "$out.tmp" "$out"
  fi
done
/usr/bin/python3 - "$dir" "$stem" "$types" "$model" <<'PY'
import json, sys
d, stem, types, model = sys.argv[1], sys.argv[2], sys.argv[3].split(","), sys.argv[4]
res = {t: json.load(open("%s/%s_compute_%s.json" % (d, stem, t))) for t in types}
base = res[types[0]]
print("%s, greedy, first 50 sentences per direction; change from %s\n" % (model, types[0]))
def seconds(t):
    try:
        return "%.0f" % float(open("%s/%s_compute_%s.seconds" % (d, stem, t)).read())
    except (OSError, ValueError):
        return "n/a"
print("| split | compute type | chrF | BLEU | Δ chrF | Δ BLEU | largest |Δ chrF| (direction) | largest |Δ BLEU| (direction) | eval s |")
print("|---|---|---:|---:|---:|---:|---|---|---:|")
for split in ("test", "ood_test"):
    for t in types:
        dirs, ref = res[t][split]["directions"], base[split]["directions"]
        n = len(dirs)
        c = sum(v["chrf"] for v in dirs.values()) / n
        b = sum(v["bleu"] for v in dirs.values()) / n
        c0 = sum(v["chrf"] for v in ref.values()) / n
        b0 = sum(v["bleu"] for v in ref.values()) / n
        dc = max(dirs, key=lambda k: abs(dirs[k]["chrf"] - ref[k]["chrf"]))
        db = max(dirs, key=lambda k: abs(dirs[k]["bleu"] - ref[k]["bleu"]))
        print("| %s | %s | %.2f | %.2f | %+.2f | %+.2f | %.2f (%s) | %.2f (%s) | %s |" % (
            split, t, c, b, c - c0, b - b0, abs(dirs[dc]["chrf"] - ref[dc]["chrf"]), dc,
            abs(dirs[db]["bleu"] - ref[db]["bleu"]), db, seconds(t) if split == "test" else ""))
PY
