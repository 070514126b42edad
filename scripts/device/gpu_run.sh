#!/usr/bin/env bash
# Runs on a lent GPU machine (one H200, Ubuntu 24.04, PyTorch 2.11 + CUDA 13 in /opt/torch/.venv),
# from the repository root, with .devkit/ from scripts/device/pack.sh carried along
# (docs/SCALING.md "Strata on a GPU").
#   scripts/device/gpu_run.sh check          the CUDA tests, then 150 updates of every comparison
#                                            model at once (speed, and that each type trains)
#   UPDATES=N scripts/device/gpu_run.sh run  the comparison: every model N updates at once on the
#                                            one GPU, then scored on the GPU (test and OOD test)
# Results go to $OUT (the device tool brings them back): logs, per-model train.jsonl and
# scores.json in one archive, and a summary table at the end of the output.
set -u
mode=${1:-check}
OUT=${OUT:-/tmp/gpu_out}
mkdir -p "$OUT"
t0=$(date +%s)
say() { printf '\n== [%4ds] %s\n' $(( $(date +%s) - t0 )) "$*"; }

# The test binaries name /work/main/... (compiled-in paths): run from there.
here=$(pwd)
if [ "$here" != /work/main ]; then mkdir -p /work && ln -sfn "$here" /work/main; fi
cd /work/main
T=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')
NV=$(dirname "$T")/nvidia
mkdir -p build-dev/nmt build-dev/tests
for f in .devkit/lib/*.xz; do [ -e "$f" ] && xz -dkf "$f"; done
for b in .devkit/bin/*; do
  case $(basename "$b") in strata) cp "$b" build-dev/nmt/ ;; *) cp "$b" build-dev/tests/ ;; esac
done
export LD_LIBRARY_PATH=/work/main/.devkit/lib:$T/lib:$NV/cu13/lib:$NV/nccl/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
export OMP_WAIT_POLICY=PASSIVE
# STRATA=build/nmt/strata DEVICE=cpu: a dry run of this script on a CPU machine.
strata=${STRATA:-build-dev/nmt/strata}
device=${DEVICE:-cuda}
say "machine"
nvidia-smi -L
nproc
if ldd "$strata" build-dev/tests/* 2>/dev/null | grep -B30 "not found" | grep -E "^[^ \t]|not found"; then
  echo "missing libraries (above)"; exit 1
fi
"$strata" --version || true

if [ -f .devkit/core8.tar.xz ]; then
  mkdir -p work/data && tar -C work/data -xJf .devkit/core8.tar.xz
fi
# The comparison models: configs/experiments/core8_*.yaml (d 256, 3+3 layers, equal active FFN
# FLOPs per token), with GPU-sized batches; dense_s2 is dense with train.seed 2 (the noise level).
models=${MODELS:-"dense dense_s2 switch gshard smoe lms_fd"}
max_tokens=${MAX_TOKENS:-16000}
train_one() {  # name updates valid_every extra...
  local n=$1 updates=$2 valid=$3; shift 3
  local cfg=configs/experiments/core8_${n%_s2}.yaml seed=()
  [ "$n" = dense_s2 ] && seed=(--set train.seed=2)
  "$strata" train --config "$cfg" --set train.out_dir=work/gpu/$n --set train.device=$device \
    --set train.max_tokens=$max_tokens --set train.max_updates=$updates \
    --set train.valid_every=$valid --set train.log_every=50 --set train.threads=2 \
    --set train.max_minutes=${MAX_MINUTES:-0} "${seed[@]}" "$@" > "work/gpu/$n.log" 2>&1
  echo "$n: exit $?"
}

case "$mode" in
  check)
    say "CUDA tests (strata_cuda_tests)"
    timeout 240 build-dev/tests/strata_cuda_tests 2>&1 | tee "$OUT/cuda_tests.txt" | \
      grep -E "^\[  (PASSED|FAILED|  OK|SKIPPED) |FAILED|Failure|error" | head -60
    say "150 updates of every comparison model at once"
    mkdir -p work/gpu
    for n in $models; do train_one "$n" 150 150 --set train.valid_sentences=2 & done
    wait
    for n in $models; do
      echo "-- $n"; grep -E "\[train\] (update 150|[0-9.]+ parameters)|\[valid\]|error|WARNING" "work/gpu/$n.log" | tail -4
    done
    say "eval on the GPU (one model, 10 sentences per direction)"
    timeout 120 "$strata" eval -m work/gpu/dense/best.pt --split test --max-sentences 10 --beam 1 \
      --device $device --json "$OUT/eval_check.json" 2>&1 | tail -8
    tar -czf "$OUT/check_logs.tar.gz" work/gpu/*.log work/gpu/*/train.jsonl 2>/dev/null
    ;;
  run)
    updates=${UPDATES:?UPDATES=N}
    mkdir -p work/gpu
    say "train ${models} (${updates} updates of ${max_tokens} tokens each, all at once)"
    for n in $models; do train_one "$n" "$updates" $((updates / 4)) & done
    # The CPU test suite against this LibTorch, next to the training (16 cores).
    if [ -x build-dev/tests/strata_nmt_tests ]; then
      (timeout 400 build-dev/tests/strata_nmt_tests --gtest_brief=1 > "$OUT/nmt_tests.txt" 2>&1;
       echo "strata_nmt_tests exit $?" >> "$OUT/nmt_tests.txt") &
    fi
    wait
    for n in $models; do tail -2 "work/gpu/$n.log"; done
    say "condense the LMS+FD model (its shared slot as a dense model)"
    "$strata" distill condense -m work/gpu/lms_fd/best.pt -o work/gpu/lms_fd_condensed.pt 2>&1 | tail -2
    say "score every model on the GPU (test and OOD test, 200 sentences per direction, greedy)"
    for n in $models lms_fd_condensed; do
      m=work/gpu/$n/best.pt; [ "$n" = lms_fd_condensed ] && m=work/gpu/lms_fd_condensed.pt
      mkdir -p "work/gpu/$n"
      "$strata" eval -m "$m" --split test,ood_test --max-sentences 200 --beam 1 --device $device \
        --json "work/gpu/$n/scores.json" > "work/gpu/$n/scores.txt" 2> "work/gpu/$n/eval.log" &
    done
    wait
    tar -czf "$OUT/run_results.tar.gz" work/gpu/*.log work/gpu/*/train.jsonl work/gpu/*/scores.json \
      work/gpu/*/scores.txt work/gpu/*/eval.log 2>/dev/null
    say "summary"
    for n in $models lms_fd_condensed; do
      printf '%-18s ' "$n"
      python3 - "work/gpu/$n/scores.json" <<'PY' || echo "(no scores)"
import json, sys
s = json.load(open(sys.argv[1]))
t, o = s["test"], s["ood_test"]
print(f"test chrF {t['averages']['all']['chrf']:.2f} BLEU {t['averages']['all']['bleu']:.2f} "
      f"above copy {t['beats_copy']}/{t['num_directions']} | "
      f"OOD chrF {o['averages']['all']['chrf']:.2f} {o['beats_copy']}/{o['num_directions']}")
PY
    done
    ;;
esac
say "done"
