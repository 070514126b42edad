#!/usr/bin/env bash
# Issue 24: machine-filled gettext catalogues of Debian packages that are NOT in the benchmark's
# training sources (configs/data/core8.yaml), scored against their real translations.
#   scripts/experiment_catalog.sh [MODEL ...]      (default: work/models/quickstart/best.pt)
# For each package's English template (PKG.pot from Debian's source package) and each Core-8
# target language: `strata translate --format po` with placeholder protection and with
# --no-protect; `msgfmt --check --use-fuzzy` on every written file; entries written vs refused,
# printf directives checked by an independent regular expression (scripts/catalog_scores.py),
# chrF/BLEU of the filled entries against the real catalogues. Writes work/catalog/results.md.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
strata=${STRATA:-build/nmt/strata}
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(work/models/quickstart/best.pt)
packages=(grep sed tar wget)
langs=(de fr ru ja zh-CN tr el)
root=work/catalog
src=$root/src
mkdir -p "$src"

# Debian source packages, fetched with a private deb-src list (the system's is left untouched).
if [ ! -f "$src/.fetched" ]; then
  lists=$src/apt-lists; mkdir -p "$lists/partial"
  echo "deb-src http://deb.debian.org/debian bookworm main" > "$src/sources.list"
  opts=(-o Dir::Etc::SourceList="$here/$src/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o Dir::State::Lists="$here/$lists" -o Debug::NoLocking=1)
  apt-get "${opts[@]}" update -qq
  (cd "$src" && apt-get "${opts[@]}" source -qq --download-only "${packages[@]}" >/dev/null 2>&1)
  touch "$src/.fetched"
fi
for p in "${packages[@]}"; do
  [ -d "$src/$p" ] && continue
  tarball=$(ls "$src"/${p}_*.orig.tar.* | head -n1)
  mkdir -p "$src/$p"
  tar -xf "$tarball" -C "$src/$p" --strip-components=1 --wildcards '*/po/*.po' '*/po/*.pot'
done

for model in "${models[@]}"; do
  tag=$(basename "$(dirname "$model")")
  for mode in protect no-protect; do
    out=$root/$tag/$mode
    mkdir -p "$out"
    flag=""; [ "$mode" = no-protect ] && flag=--no-protect
    for lang in "${langs[@]}"; do
      code=${lang/-/_}
      for p in "${packages[@]}"; do
        hyp=$out/$p.$lang.po
        if [ ! -s "$hyp" ]; then
          "$strata" translate -m "$model" --tgt-lang "$lang" --beam 1 $flag \
            -i "$src/$p/po/$p.pot" -o "$hyp" 2> "$out/$p.$lang.log"
        fi
      done
    done
  done
done

# Scores: one row per model, mode and language (the packages together).
report=$root/results.md
{
  echo "| model | protection | target | entries | written | refused | printf exact | msgfmt --check | chrF | BLEU |"
  echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"
  for model in "${models[@]}"; do
    tag=$(basename "$(dirname "$model")")
    for mode in protect no-protect; do
      out=$root/$tag/$mode
      for lang in "${langs[@]}"; do
        code=${lang/-/_}
        pairs=(); pass=0
        for p in "${packages[@]}"; do
          pairs+=("$out/$p.$lang.po" "$src/$p/po/$code.po")
          msgfmt --check --use-fuzzy -o /dev/null "$out/$p.$lang.po" 2>/dev/null && pass=$((pass + 1))
        done
        counts=$(/usr/bin/python3 scripts/catalog_scores.py "$out/score.$lang" "${pairs[@]}")
        scores=$("$strata" eval --hyp "$out/score.$lang/hyp.txt" --ref "$out/score.$lang/ref.txt" --tgt-lang "$lang")
        chrf=$(echo "$scores" | awk -F' = ' '/^chrF2/ {split($2, a, " "); print a[1]}')
        bleu=$(echo "$scores" | awk -F' = ' '/^BLEU/ {split($2, a, " "); print a[1]}')
        /usr/bin/python3 - "$tag" "$mode" "$lang" "$counts" "$pass" "${#packages[@]}" "$chrf" "$bleu" <<'PY'
import json, sys
tag, mode, lang, counts, ok, n, chrf, bleu = sys.argv[1:]
c = json.loads(counts)
pct = lambda a, b: f"{100 * a / b:.1f}%" if b else "–"
print(f"| {tag} | {mode} | {lang} | {c['entries']} | {pct(c['written'], c['entries'])} | "
      f"{c['refused']} | {pct(c['printf_exact'], c['printf_entries'])} of {c['printf_entries']} | "
      f"{ok}/{n} | {chrf} | {bleu} |")
PY
      done
    done
  done
} > "$report"
cat "$report"
