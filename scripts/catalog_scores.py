#!/usr/bin/python3
"""Scores machine-filled gettext catalogues against the real translations (issue 24).

  catalog_scores.py OUT_DIR HYP.po REF.po [HYP.po REF.po ...]

For every entry of each HYP.po that is machine-translated (fuzzy, or carrying a "# strata: not
translated" comment) and has a real, non-fuzzy translation in REF.po (same msgctxt and msgid):
counts it, counts whether it was written or refused, checks the written translation's printf
directives against the msgid with a regular expression of its own (independent of Strata's
scanner), and appends the pair (first plural form, new lines as spaces) to OUT_DIR/hyp.txt and
OUT_DIR/ref.txt for `strata eval --hyp --ref`. Prints one JSON line of counts. The files are read
after `msgcat --no-wrap`, so every string is on one line.
"""
import json
import os
import re
import subprocess
import sys

PRINTF = re.compile(r"%(?:\d+\$)?[-+#0']*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|ll|[hlLqjzt])?[diouxXeEfFgGaAcspn%]|%<PRI[a-zA-Z0-9]+>")


def unescape(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            e = s[i + 1]
            out.append({"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}.get(e, e))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def read_po(path):
    text = subprocess.run(["msgcat", "--no-wrap", "--use-first", "--to-code=UTF-8", path], check=True,
                          capture_output=True, text=True).stdout
    entries, cur, last = [], None, None

    def flush():
        if cur is not None and "msgid" in cur:
            entries.append(cur)

    for line in text.split("\n"):
        if not line.strip():
            flush()
            cur, last = None, None
            continue
        if cur is None:
            cur = {"flags": [], "comments": [], "msgstr": {}}
        if line.startswith("#,"):
            cur["flags"] += [f.strip() for f in line[2:].split(",")]
        elif line.startswith("#~"):
            cur["obsolete"] = True
        elif line.startswith("#"):
            cur["comments"].append(line)
        else:
            m = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?) "(.*)"$', line)
            if m:
                key, value = m.group(1), unescape(m.group(3))
                if key.startswith("msgstr"):
                    cur["msgstr"][int(m.group(2) or 0)] = value
                else:
                    cur[key] = value
            elif line.startswith('"'):
                pass  # --no-wrap: only headers continue
    flush()
    return {(e.get("msgctxt"), e["msgid"]): e for e in entries if not e.get("obsolete") and e["msgid"]}


def main():
    out_dir, files = sys.argv[1], sys.argv[2:]
    os.makedirs(out_dir, exist_ok=True)
    counts = {"entries": 0, "written": 0, "refused": 0, "printf_exact": 0, "printf_entries": 0}
    with open(os.path.join(out_dir, "hyp.txt"), "w") as hyp_out, \
         open(os.path.join(out_dir, "ref.txt"), "w") as ref_out:
        for hyp_path, ref_path in zip(files[0::2], files[1::2]):
            hyp, ref = read_po(hyp_path), read_po(ref_path)
            for key, h in hyp.items():
                r = ref.get(key)
                machine = "fuzzy" in h["flags"] or any(c.startswith("# strata:") for c in h["comments"])
                if not machine or r is None or "fuzzy" in r["flags"] or not r["msgstr"].get(0):
                    continue
                counts["entries"] += 1
                text = h["msgstr"].get(0, "")
                if not text:
                    counts["refused"] += 1
                    continue
                counts["written"] += 1
                want = sorted(PRINTF.findall(h["msgid"]))
                if want:
                    counts["printf_entries"] += 1
                    counts["printf_exact"] += sorted(PRINTF.findall(text)) == want
                hyp_out.write(" ".join(text.split()) + "\n")
                ref_out.write(" ".join(r["msgstr"][0].split()) + "\n")
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
