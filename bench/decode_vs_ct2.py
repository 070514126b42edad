#!/usr/bin/python3
"""bench/decode_vs_ct2: Strata's beam search in each compute type next to CTranslate2, interleaved
in one run on exactly the same workload: random-weight Transformer-base (6+6, d 512, ffn 2048,
8 heads, pre-norm, V 8000), 320 sentences of 24 source tokens, exactly 24 output tokens, batch 32,
2 threads. Each configuration runs in its own process (its own peak RSS); the rounds alternate
Strata and CTranslate2 so that a slower minute of this VM hits both. Prints a markdown table of
the median target tokens/s with the ratios.

  /usr/bin/python3 bench/decode_vs_ct2.py [--rounds 2] [--peers /work/peers] [--strata-types float32,int8]
      [--strata-types float32,int8,int8+shortlist --shortlist 2500]   (T+shortlist: the output layer
      over 2,500 of the 8,000 pieces, as Strata decodes with a per-language shortlist; CTranslate2
      runs without its vmap)

Needs CTranslate2 built by ../shared/peers (build_ct2.sh, build_ct2_dnnl.sh) under --peers: its
Python module in PEERS/CTranslate2/python, the oneDNN library in PEERS/ct2-install-dnnl/lib and
the models in PEERS/ct2_models (ct2_bench.py makes them on first use).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def strata(exe, ctype, beam, threads, shortlist):
    # 10 repeats of one batch of 32 = CTranslate2's 320 sentences in batches of 32. A type named
    # T+shortlist decodes in T with the output layer over `shortlist` pieces (bench_decode --shortlist).
    ctype, _, sl = ctype.partition("+")
    extra = ["--shortlist", str(shortlist)] if sl == "shortlist" else []
    out = subprocess.run([exe, "--one", "base", str(beam), "--compute-type", ctype, "--steps", "24",
                          "--batch", "32", "--repeat", "10", "--threads", str(threads)] + extra,
                         capture_output=True, text=True, check=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    return r["tokens_per_s"], r["peak_rss_mb"]


def ct2(peers, bench, ctype, beam, threads):
    env = dict(os.environ, PYTHONPATH=os.path.join(peers, "CTranslate2", "python"),
               LD_LIBRARY_PATH=os.path.join(peers, "ct2-install-dnnl", "lib"))
    p = subprocess.run([sys.executable, bench, "--models-dir", os.path.join(peers, "ct2_models"),
                        "--reps", "1", "--intra", str(threads), "--n-sent", "320", "--min-len", "24",
                        "--max-len", "24", "--out-len", "24", "--max-batch", "32",
                        "--_child", os.path.join(peers, "ct2_models", "transformer_base_" + ctype),
                        ctype, str(beam)], capture_output=True, text=True, env=env)
    line = [l for l in p.stdout.splitlines() if l.startswith("RESULT ")]
    if p.returncode != 0 or not line:
        raise SystemExit("CTranslate2 %s beam %d failed:\n%s%s" % (ctype, beam, p.stdout, p.stderr))
    r = json.loads(line[0][7:])
    return r["tgt_tok_per_s"], r["peak_rss_mb"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--peers", default="/work/peers")
    ap.add_argument("--ct2-bench", default=os.path.join(ROOT, "..", "shared", "peers", "ct2_bench.py"))
    ap.add_argument("--strata", default=os.path.join(ROOT, "build", "bench", "bench_decode"))
    ap.add_argument("--strata-types", default="float32,int8")
    ap.add_argument("--ct2-types", default="float32,int8")
    ap.add_argument("--shortlist", type=int, default=2500,
                    help="pieces in the shortlist of the T+shortlist types (Core-8's lists: 2.0k-3.0k of 8k)")
    a = ap.parse_args()
    rows = {}  # (engine, type, beam) -> [(tok/s, rss)]
    for rnd in range(a.rounds):
        for beam in (1, 4):
            for t in a.strata_types.split(","):
                rows.setdefault(("Strata", t, beam), []).append(
                    strata(a.strata, t, beam, a.threads, a.shortlist))
            for t in a.ct2_types.split(","):
                rows.setdefault(("CTranslate2 4.8.1 (oneDNN)", t, beam), []).append(
                    ct2(a.peers, a.ct2_bench, t, beam, a.threads))
            print("round %d beam %d done" % (rnd + 1, beam), file=sys.stderr, flush=True)
    med = {k: (statistics.median(x[0] for x in v), max(x[1] for x in v), [x[0] for x in v])
           for k, v in rows.items()}
    ct2_i8 = {b: med.get(("CTranslate2 4.8.1 (oneDNN)", "int8", b), (0,))[0] for b in (1, 4)}
    ct2_f32 = {b: med.get(("CTranslate2 4.8.1 (oneDNN)", "float32", b), (0,))[0] for b in (1, 4)}
    print("Transformer-base, batch 32, 24 -> 24 tokens, %d threads, %d rounds interleaved; "
          "target tokens/s (median; every round in brackets)\n" % (a.threads, a.rounds))
    print("| engine | compute type | search | tok/s | rounds | peak RSS MB | / CT2 int8 | / CT2 float32 |")
    print("|---|---|---|---:|---|---:|---:|---:|")
    for (eng, t, beam), (tps, rss, every) in sorted(med.items(), key=lambda kv: (kv[0][2], kv[0][0] != "Strata", kv[0][1])):
        print("| %s | %s | %s | %.0f | %s | %.0f | %s | %s |" % (
            eng, t, "greedy" if beam == 1 else "beam 4", tps, " ".join("%.0f" % x for x in every), rss,
            "%.2f×" % (tps / ct2_i8[beam]) if ct2_i8[beam] else "n/a",
            "%.2f×" % (tps / ct2_f32[beam]) if ct2_f32[beam] else "n/a"))


if __name__ == "__main__":
    main()
