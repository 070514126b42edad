#!/usr/bin/env bash
# Int8 checkpoints (`strata quantize`): file size, peak RSS and wall time of `strata translate` on the
# float32 checkpoint and on its int8 file, in each compute type, one run each, printed as a table.
#   bench/int8_checkpoint.sh MODEL [SENTENCES]     (SENTENCES: first N English test sentences, default 32)
# A Transformer-base checkpoint to try it on (2 updates: the shape is what matters here):
#   build/nmt/strata train --config configs/transformer_base.yaml --set train.max_updates=2 \
#     --set train.max_tokens=2000 --set train.out_dir=/tmp/base --restart
#   bench/int8_checkpoint.sh /tmp/base/best.pt
# Pause other work on the machine first: the wall times are only comparable on quiet cores.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
strata=${STRATA:-$here/build/nmt/strata}
model=${1:?usage: bench/int8_checkpoint.sh MODEL [SENTENCES]}
n=${2:-32}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
int8=$tmp/model.int8.pt
"$strata" quantize -m "$model" -o "$int8" >&2
awk -F'\t' -v n="$n" 'NR>1 && NR<=n+1 {print $2}' "$here/work/data/core8/test.tsv" > "$tmp/in.txt"
mb() { awk -v b="$(stat -c %s "$1")" 'BEGIN {printf "%.1f", b / 1e6}'; }
echo "| checkpoint | file MB | compute type | peak RSS MB | wall s |"
echo "|---|---:|---|---:|---:|"
for file in "$model" "$int8"; do
  name=float32; [ "$file" = "$int8" ] && name=int8
  for t in float32 int8; do
    /usr/bin/time -f "%M %e" -o "$tmp/time" "$strata" translate -m "$file" --tgt-lang de --compute-type "$t" \
      --beam 1 < "$tmp/in.txt" > "$tmp/out_${name}_$t.txt" 2> "$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
    read -r rss wall < "$tmp/time"
    printf '| %s | %s | %s | %.0f | %s |\n' "$name" "$(mb "$file")" "$t" "$(awk -v k="$rss" 'BEGIN {print k / 1024}')" "$wall"
  done
done
# The int8 file under int8 decodes the float32 file's int8 product weights exactly; only the
# embedding lookup reads the rounded rows, so the outputs may differ in places.
same=$(paste "$tmp/out_float32_int8.txt" "$tmp/out_int8_int8.txt" | awk -F'\t' '$1 == $2' | wc -l)
echo
echo "int8 outputs identical for the two files: $same of $n sentences"
