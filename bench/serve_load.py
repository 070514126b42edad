#!/usr/bin/python3
"""Bounded load test of `strata serve` on loopback (issue 23), next to `strata translate`.

  /usr/bin/python3 bench/serve_load.py -m MODEL [--clients 1,8,32,128] [--sentences 256]
      [--source en --target de] [--beam B] [--strata build/nmt/strata]

Starts the server (--port 0, --max-connections and --max-queued above the largest client count),
then for each level N runs N client threads, each posting one sentence at a time to /translate
(LibreTranslate's JSON, a keep-alive connection per client) until the level's share of the
sentences is done; every level translates the same sentences. Prints a table: requests/s, target
words/s, p50/p95/p99 latency and the server's peak RSS (VmHWM) after the level; then `strata
translate` on the same sentences in one process (its load time, measured with an empty input,
taken off) and the server's best words/s as a share of it. Target words = whitespace-separated
words of the outputs (the same count for both). Stdlib only; nothing leaves the machine.
"""
import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sentences(n, source):
    path = os.path.join(here, "work/data/core8/test.tsv")
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        col = header.index(source)
        out = [line.rstrip("\n").split("\t")[col] for line in f]
    out = [s for s in out if s.strip()]
    return (out * (n // len(out) + 1))[:n]


def start_server(args):
    cmd = [args.strata, "serve", "-m", args.model, "--port", "0", "--max-connections", str(2 * max(args.clients) + 8),
           "--max-queued", str(4 * max(args.clients) + 64)]
    if args.beam:
        cmd += ["--beam", str(args.beam)]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    port = None
    deadline = time.time() + 300
    while port is None and time.time() < deadline:
        line = p.stderr.readline()
        if not line:
            raise SystemExit("serve_load: the server exited before listening")
        m = re.search(r"listening on http://[^:]+:(\d+)", line)
        if m:
            port = int(m.group(1))
    threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()  # drain its log
    return p, port


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_level(port, n_clients, sents, args):
    lock = threading.Lock()
    todo = list(enumerate(sents))
    lat, words, errors = [], [0], [0]

    def client():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        while True:
            with lock:
                if not todo:
                    break
                _, s = todo.pop()
            body = json.dumps({"q": s, "source": args.source, "target": args.target, "format": "text"})
            t0 = time.perf_counter()
            try:
                c.request("POST", "/translate", body, {"Content-Type": "application/json"})
                r = c.getresponse()
                data = r.read()
                ok = r.status == 200
            except (OSError, http.client.HTTPException):
                ok, data = False, b""
                c.close()
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            dt = time.perf_counter() - t0
            with lock:
                if ok:
                    lat.append(dt)
                    words[0] += len(json.loads(data)["translatedText"].split())
                else:
                    errors[0] += 1
        c.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(n_clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")
    return {"clients": n_clients, "requests": len(lat), "errors": errors[0], "wall": wall,
            "rps": len(lat) / wall, "wps": words[0] / wall, "p50": q(0.50), "p95": q(0.95), "p99": q(0.99)}


def offline(sents, args):
    base = [args.strata, "translate", "-m", args.model, "--src-lang", args.source, "--tgt-lang", args.target]
    if args.beam:
        base += ["--beam", str(args.beam)]
    t0 = time.perf_counter()
    subprocess.run(base, input="", capture_output=True, text=True, check=True)
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    r = subprocess.run(base, input="\n".join(sents) + "\n", capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    return sum(len(l.split()) for l in r.stdout.splitlines()) / max(wall - load, 1e-9), wall, load


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-m", "--model", required=True)
    ap.add_argument("--clients", default="1,8,32,128")
    ap.add_argument("--sentences", type=int, default=256)
    ap.add_argument("--source", default="en")
    ap.add_argument("--target", default="de")
    ap.add_argument("--beam", type=int, default=0, help="default: the model's decode config")
    ap.add_argument("--strata", default=os.path.join(here, "build/nmt/strata"))
    args = ap.parse_args()
    args.clients = [int(x) for x in args.clients.split(",")]
    sents = sentences(args.sentences, args.source)
    server, port = start_server(args)
    try:
        rows = []
        for n in args.clients:
            r = run_level(port, n, sents, args)
            r["rss"] = peak_rss_mb(server.pid)
            rows.append(r)
            print(f"[load] {n} clients: {r['requests']} requests in {r['wall']:.1f} s", file=sys.stderr)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    wps, wall, load = offline(sents, args)
    print(f"{len(sents)} {args.source}->{args.target} sentences from the Core-8 test split, one per request; "
          f"model {args.model}; {os.cpu_count()} cores\n")
    print("| clients | requests | errors | requests/s | target words/s | p50 ms | p95 ms | p99 ms | server peak RSS MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['clients']} | {r['requests']} | {r['errors']} | {r['rps']:.1f} | {r['wps']:.0f} | {r['p50']:.0f} | "
              f"{r['p95']:.0f} | {r['p99']:.0f} | {r['rss']:.0f} |")
    best = max(r["wps"] for r in rows)
    print(f"\n`strata translate` on the same sentences: {wps:.0f} target words/s ({wall:.1f} s, of which "
          f"{load:.1f} s loading); the server's best level reaches {100 * best / wps:.0f}% of it.")


if __name__ == "__main__":
    main()
