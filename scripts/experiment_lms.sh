#!/usr/bin/env bash
# Issue 6 experiment on Core-8: Switch (from scripts/experiment_moe.sh) vs LMS at equal extra
# parameters, LMS + Fuse Distillation (its language-specific side and its condensed shared model),
# and a dense student distilled (sequence-level KD) from the best sparse teacher of the MoE
# experiment. Writes its section of docs/RESULTS.md.
#   scripts/experiment_lms.sh                 (2 cores: Switch ~30 min, LMS ~30 min, LMS+FD ~75 min,
#                                              KD data ~10 min + student ~20 min, ~8 min scoring each)
#   scripts/experiment_lms.sh --quick         (5 updates each into /tmp: checks the pipeline only)
#   scripts/experiment_lms.sh --kd-rows 5000  (a random sample of training rows the teacher translates; default 5000)
#   scripts/experiment_lms.sh --set train.threads=1   (extra --set overrides go to every training)
# Re-running skips finished models and resumes interrupted ones.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
strata=${STRATA:-build/nmt/strata}
quick=0
kd_rows=5000
overrides=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --kd-rows) kd_rows=$2; shift ;;
    --set) overrides+=(--set "$2"); shift ;;
    *) echo "experiment_lms.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
results=docs/RESULTS.md
extra=()
sentences=200
root=work/models
if [ "$quick" = 1 ]; then
  root=/tmp/strata_experiment_lms_quick
  extra=(--set train.max_updates=5 --set train.valid_every=5 --restart)
  sentences=5
  kd_rows=20
  results=$root/RESULTS.md
  mkdir -p "$root"
fi
cmd="scripts/experiment_lms.sh"
[ "$quick" = 1 ] && cmd="$cmd --quick"
[ "$kd_rows" != 5000 ] && [ "$quick" = 0 ] && cmd="$cmd --kd-rows $kd_rows"
[ ${#overrides[@]} -gt 0 ] && cmd="$cmd ${overrides[*]}"

evaluate() {  # model-dir checkpoint
  if [ "$quick" = 1 ] || [ ! -s "$1/scores.json" ]; then
    "$strata" eval -m "$2" --data configs/data/core8.yaml --split test,ood_test --max-sentences $sentences \
      --beam 1 --json "$1/scores.json" > "$1/scores.txt"
  fi
}
train() {  # name config
  local out=$root/core8_$1
  printf '\n== %s\n' "$1"
  if [ "$quick" = 0 ] && [ -s "$out/scores.json" ]; then echo "done already: $out/scores.json"; return; fi
  "$strata" train --config "$2" --set train.out_dir=$out "${extra[@]}" "${overrides[@]}"
  evaluate "$out" "$out/best.pt"
}

train switch configs/experiments/core8_switch.yaml   # shared with scripts/experiment_moe.sh
train lms configs/experiments/core8_lms.yaml
train lms_fd configs/experiments/core8_lms_fd.yaml
printf '\n== lms_fd condensed\n'
mkdir -p $root/core8_lms_fd_shared
"$strata" distill condense -m $root/core8_lms_fd/best.pt -o $root/core8_lms_fd_shared/best.pt \
  | tee $root/core8_lms_fd_shared/condense.txt
evaluate $root/core8_lms_fd_shared $root/core8_lms_fd_shared/best.pt

# Teacher: the sparse model of the MoE experiment with the lowest validation nll.
teacher=$(/usr/bin/python3 - "$root" <<'PY'
import json, os, sys
best = None
for n in ["switch", "gshard", "smoe"]:
    log = f"{sys.argv[1]}/core8_{n}/train.jsonl"
    if not os.path.exists(log): continue
    nll = [json.loads(l)["nll"] for l in open(log) if '"event":"valid"' in l]
    if nll and (best is None or nll[-1] < best[0]): best = (nll[-1], n)
print(best[1] if best else "switch")
PY
)
printf '\n== kd student (teacher: %s, %s rows)\n' "$teacher" "$kd_rows"
out=$root/core8_kd_student
if [ "$quick" = 1 ] || [ ! -s "$out/scores.json" ]; then
  "$strata" distill kd --teacher $root/core8_$teacher/best.pt --config configs/experiments/core8_kd_student.yaml \
    --set train.out_dir=$out --max-rows "$kd_rows" "${extra[@]}" "${overrides[@]}"
  evaluate $out $out/best.pt
fi
echo "$teacher" > $out/teacher.txt

/usr/bin/python3 - "$root" "$results" "$sentences" "$cmd" "$kd_rows" <<'PY'
import json, os, sys
root, results, sentences, cmd, kd_rows = sys.argv[1:6]
rows = []
names = [("switch", "Switch (8 experts, top-1)"), ("lms", "LMS pair, r 53"), ("lms_fd", "LMS + FD, language-specific side"),
         ("lms_fd_shared", "LMS + FD, condensed shared model"), ("kd_student", "dense student, seq-level KD")]
for n, label in names:
    d = f"{root}/core8_{n}"
    if not os.path.exists(f"{d}/scores.json"):
        rows.append(f"| {label} | (not run) | | | | | | |")
        continue
    s = json.load(open(f"{d}/scores.json"))
    log = f"{d}/train.jsonl" if n != "lms_fd_shared" else f"{root}/core8_lms_fd/train.jsonl"
    params, valid = None, None
    for line in open(log):
        e = json.loads(line)
        if e["event"] == "start": params = e["parameters"]
        if e["event"] == "valid": valid = e.get("nll_shared" if n == "lms_fd_shared" else "nll", e["nll"])
    if n == "lms_fd_shared":  # the condensed model's own count, from strata distill condense
        for line in open(f"{d}/condense.txt"):
            if "dense" in line: params = int(line.split(": ")[1].split()[0])
    if n == "kd_student":
        label += f" from {open(d + '/teacher.txt').read().strip()} ({kd_rows} rows)"
    size = os.path.getsize(f"{d}/best.pt") / 1e6
    t, o = s["test"]["averages"], s["ood_test"]["averages"]
    rows.append(f"| {label} | {params/1e6:.2f}M | {size:.1f} MB | {valid:.3f} | {t['all']['bleu']:.2f} | "
                f"{t['all']['chrf']:.2f} | {o['all']['bleu']:.2f} | {o['all']['chrf']:.2f} |")
section = ("## Switch vs LMS vs LMS + Fuse Distillation vs a KD student on Core-8 (issue 6)\n\n"
    f"Command: `{cmd}`. Configs: `configs/experiments/core8_{{switch,lms,lms_fd,kd_student}}.yaml` (d 256,\n"
    "3+3 layers, 1,400 updates of 4,000 tokens each; LMS rank 53 gives the same extra parameters as\n"
    "Switch's 7 extra experts). The condensed model is `strata distill condense` of the LMS + FD model\n"
    "(valid nll: its shared side during training). The KD student has the dense shape and trains on\n"
    "the teacher's beam-4 translations of a random sample of the training rows. Scores: greedy, first "
    f"{sentences} sentences\nof every direction (56), sacreBLEU-exact BLEU/chrF averaged over directions; "
    "file size of best.pt.\n\n")
if "--quick" in cmd:
    section += "**Quick mode: 5 updates per model. This checks the pipeline; the numbers mean nothing.**\n\n"
section += ("| model | parameters | file | valid nll | test BLEU | test chrF | OOD BLEU | OOD chrF |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|\n")
section += "\n".join(rows) + "\n"
sys.path.insert(0, "scripts")
from results_section import write_section
write_section(results, "## Switch vs LMS", section)
PY
