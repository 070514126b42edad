#!/usr/bin/python3
"""PyTorch (eager) reference for bench/decode and bench/train: the same pre-LN Transformer shapes as
strata (fused QKV self-attention, fused KV cross-attention, shared embeddings, sinusoidal
positions), random weights, fixed lengths. Prints one JSON line.

Run with Debian's python3 (python3-torch 1.13):  /usr/bin/python3 bench/ref_transformer.py decode ...
"""
import argparse, json, math, resource, time
import torch
import torch.nn as nn
import torch.nn.functional as F


class MHA(nn.Module):
    def __init__(s, d, h, self_attn):
        super().__init__()
        s.d, s.h, s.self_attn = d, h, self_attn
        if self_attn:
            s.in_proj = nn.Linear(d, 3 * d)
        else:
            s.q_proj, s.kv_proj = nn.Linear(d, d), nn.Linear(d, 2 * d)
        s.out_proj = nn.Linear(d, d)

    def heads(s, x):
        B, T, _ = x.shape
        return x.view(B, T, s.h, s.d // s.h).transpose(1, 2)

    def forward(s, q_in, mem, pad, causal, cache=None):
        B, T, _ = q_in.shape
        if s.self_attn:
            q, k, v = (s.heads(t) for t in s.in_proj(q_in).chunk(3, -1))
            if cache is not None:
                if "k" in cache:
                    k, v = torch.cat([cache["k"], k], 2), torch.cat([cache["v"], v], 2)
                cache["k"], cache["v"] = k, v
        else:
            q = s.heads(s.q_proj(q_in))
            if cache is not None and "k" in cache:
                k, v = cache["k"], cache["v"]
            else:
                k, v = (s.heads(t) for t in s.kv_proj(mem).chunk(2, -1))
                if cache is not None:
                    cache["k"], cache["v"] = k, v
        sc = torch.matmul(q * (1.0 / math.sqrt(s.d // s.h)), k.transpose(-2, -1))
        S = k.shape[2]
        if pad is not None:
            sc = sc.masked_fill(pad.view(B, 1, 1, S), float("-inf"))
        if causal and cache is None and T > 1:
            sc = sc.masked_fill(torch.ones(T, S, dtype=torch.bool).triu(S - T + 1), float("-inf"))
        ctx = torch.matmul(torch.softmax(sc, -1), v).transpose(1, 2).reshape(B, T, s.d)
        return s.out_proj(ctx)


class FFN(nn.Module):
    def __init__(s, d, f):
        super().__init__()
        s.fc1, s.fc2 = nn.Linear(d, f), nn.Linear(f, d)

    def forward(s, x):
        return s.fc2(F.relu(s.fc1(x)))


class Enc(nn.Module):
    def __init__(s, d, h, f):
        super().__init__()
        s.n1, s.att, s.n2, s.ffn = nn.LayerNorm(d), MHA(d, h, True), nn.LayerNorm(d), FFN(d, f)

    def forward(s, x, pad):
        h = s.n1(x)
        x = x + s.att(h, h, pad, False)
        return x + s.ffn(s.n2(x))


class Dec(nn.Module):
    def __init__(s, d, h, f):
        super().__init__()
        s.n1, s.att, s.n2, s.cross = nn.LayerNorm(d), MHA(d, h, True), nn.LayerNorm(d), MHA(d, h, False)
        s.n3, s.ffn = nn.LayerNorm(d), FFN(d, f)

    def forward(s, x, mem, pad, cache=None):
        h = s.n1(x)
        x = x + s.att(h, h, None, True, None if cache is None else cache[0])
        h = s.n2(x)
        x = x + s.cross(h, mem, pad, False, None if cache is None else cache[1])
        return x + s.ffn(s.n3(x))


def positions(n, d):
    half = d // 2
    freq = torch.exp(torch.arange(half, dtype=torch.float) * -(math.log(10000.0) / max(half - 1, 1)))
    a = torch.arange(n, dtype=torch.float).unsqueeze(1) * freq.unsqueeze(0)
    return torch.cat([torch.sin(a), torch.cos(a)], 1)


class Model(nn.Module):
    def __init__(s, V, d, h, f, L, Ld):
        super().__init__()
        s.d = d
        s.embed = nn.Embedding(V, d, padding_idx=0)
        s.enc = nn.ModuleList([Enc(d, h, f) for _ in range(L)])
        s.dec = nn.ModuleList([Dec(d, h, f) for _ in range(Ld)])
        s.en, s.dn = nn.LayerNorm(d), nn.LayerNorm(d)
        s.register_buffer("pos", positions(1024, d))

    def emb(s, t, off):
        return s.embed(t) * math.sqrt(s.d) + s.pos[off:off + t.shape[1]].unsqueeze(0)

    def encode(s, src):
        pad = src.eq(0)
        x = s.emb(src, 0)
        for l in s.enc:
            x = l(x, pad)
        return s.en(x), pad

    def decode(s, prev, mem, pad):
        x = s.emb(prev, 0)
        for l in s.dec:
            x = l(x, mem, pad)
        return torch.matmul(s.dn(x), s.embed.weight.t())

    def step(s, tok, mem, pad, caches, t):
        x = s.emb(tok.view(-1, 1), t)
        for l, c in zip(s.dec, caches):
            x = l(x, mem, pad, c)
        return torch.log_softmax(torch.matmul(s.dn(x).squeeze(1), s.embed.weight.t()), -1)


SHAPES = {"base": (512, 8, 2048, 6, 6), "quickstart": (128, 4, 512, 3, 3), "small": (256, 4, 1024, 3, 3)}


def shape(name):
    """A named shape or d:heads:ffn:encoder_layers:decoder_layers, as in bench/bench_common.h."""
    if name in SHAPES:
        return SHAPES[name]
    return tuple(int(v) for v in name.split(":"))


def decode_bench(m, a):
    g = torch.Generator().manual_seed(0)
    src = torch.randint(4, a.vocab, (a.batch, a.src_len), generator=g)
    with torch.no_grad():
        t0 = time.perf_counter()
        for _ in range(a.repeat):
            K = a.beam
            mem, pad = m.encode(src)
            rows = torch.arange(a.batch).repeat_interleave(K)
            mem, pad = mem.index_select(0, rows), pad.index_select(0, rows)
            caches = [({}, {}) for _ in m.dec]
            scores = torch.full((a.batch, K), float("-inf"))
            scores[:, 0] = 0
            tok = torch.full((a.batch * K,), 2, dtype=torch.long)
            for t in range(a.steps):
                lp = m.step(tok, mem, pad, caches, t)
                lp[:, 3] = float("-inf")  # no </s>: every sentence decodes `steps` tokens
                cand = (scores.view(-1, 1) + lp).view(a.batch, -1)
                top, idx = cand.topk(K, 1)
                beam, tok = idx // lp.shape[1], (idx % lp.shape[1]).view(-1)
                order = (torch.arange(a.batch).unsqueeze(1) * K + beam).view(-1)
                scores = top
                for c in caches:
                    c[0]["k"], c[0]["v"] = c[0]["k"].index_select(0, order), c[0]["v"].index_select(0, order)
        dt = time.perf_counter() - t0
    return {"tokens_per_s": a.batch * a.steps * a.repeat / dt, "seconds": dt}


def train_bench(m, a):
    g = torch.Generator().manual_seed(0)
    src = torch.randint(4, a.vocab, (a.batch, a.src_len), generator=g)
    tgt = torch.randint(4, a.vocab, (a.batch, a.steps), generator=g)
    opt = torch.optim.Adam(m.parameters(), lr=1e-4)
    m.train()
    def one():
        opt.zero_grad()
        lp = torch.log_softmax(m.decode(tgt, *m.encode(src)), -1)
        F.nll_loss(lp.view(-1, lp.shape[-1]), tgt.view(-1), reduction="sum").div(tgt.numel()).backward()
        opt.step()
    one()  # warm-up
    t0 = time.perf_counter()
    for _ in range(a.repeat):
        one()
    dt = time.perf_counter() - t0
    return {"tokens_per_s": a.batch * (a.src_len + a.steps) * a.repeat / dt, "seconds": dt}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["decode", "train"])
    p.add_argument("--shape", default="base")
    p.add_argument("--vocab", type=int, default=8000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--beam", type=int, default=1)
    p.add_argument("--src-len", type=int, default=24)
    p.add_argument("--steps", type=int, default=24)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    d, h, f, L, Ld = shape(a.shape)
    m = Model(a.vocab, d, h, f, L, Ld)
    m.eval()
    r = decode_bench(m, a) if a.mode == "decode" else train_bench(m, a)
    r["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    r["torch"] = torch.__version__
    print(json.dumps(r))


if __name__ == "__main__":
    main()
