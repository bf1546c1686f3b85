"""PyTorch reference for chapter 4: the same decoder-only transformer, built
from torch operations, loading our safetensors checkpoint.

    python3 reference/model.py                   # tiny.safetensors -> model.json
    python3 reference/model.py CHECKPOINT --out logits.json
    python3 reference/model.py CHECKPOINT --speed  # training tokens/s, 1 thread

The book's convention is y = x W + b with W of shape (in, out); the
checkpoint stores W that way, so every layer below is x @ W + b. Weights
are stored as float32; the logits and gradients are computed in float64
from exactly those numbers, so any difference from the Rust listing is
rounding in the computation, not in the weights.

The safetensors format is read by hand (8-byte header length, JSON header,
raw little-endian data), so that nothing but PyTorch is needed; with the
`safetensors` package, `safetensors.torch.load_file` gives the same tensors.
"""

import argparse
import json
import math
import pathlib
import struct
import time

import torch
import torch.nn.functional as F

HERE = pathlib.Path(__file__).parent


def read_safetensors(path):
    """The tensors (float64) and the metadata of a safetensors file."""
    data = pathlib.Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    body = data[8 + n :]
    tensors = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", (name, info["dtype"])
        a, b = info["data_offsets"]
        t = torch.frombuffer(bytearray(body[a:b]), dtype=torch.float32)
        tensors[name] = t.reshape(info["shape"]).to(torch.float64)
    return tensors, meta


def sinusoidal(n, d, dtype):
    """PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(...)."""
    pos = torch.arange(n, dtype=dtype)[:, None]
    j = torch.arange(d)
    two_i = (j - j % 2).to(dtype)
    angle = pos * torch.exp(-(two_i / d) * math.log(10000.0))
    return torch.where(j % 2 == 0, torch.sin(angle), torch.cos(angle))


def forward(p, meta, tokens):
    """Logits (..., n, V) of the next token after each position; `tokens`
    is one window (n,) or a batch of windows (B, n)."""
    n_layers, h = int(meta["n_layers"]), int(meta["n_heads"])
    d = p["tok_emb"].shape[1]
    n = tokens.shape[-1]
    dk = d // h
    x = p["tok_emb"][tokens] + sinusoidal(n, d, p["tok_emb"].dtype)
    causal = torch.full((n, n), float("-inf"), dtype=x.dtype).triu(1)
    for l in range(n_layers):
        q = lambda name: p[f"blocks.{l}.{name}"]
        u = F.layer_norm(x, (d,), q("ln1.gamma"), q("ln1.beta"), eps=1e-5)
        Q = u @ q("attn.w_q") + q("attn.b_q")
        K = u @ q("attn.w_k") + q("attn.b_k")
        V = u @ q("attn.w_v") + q("attn.b_v")
        heads = []
        for i in range(h):
            s = slice(i * dk, (i + 1) * dk)
            k_t = K[..., s].transpose(-2, -1)
            scores = Q[..., s] @ k_t / math.sqrt(dk) + causal
            heads.append(torch.softmax(scores, dim=-1) @ V[..., s])
        x = x + torch.cat(heads, dim=-1) @ q("attn.w_o") + q("attn.b_o")
        w = F.layer_norm(x, (d,), q("ln2.gamma"), q("ln2.beta"), eps=1e-5)
        hidden = F.gelu(w @ q("ffn.w_1") + q("ffn.b_1"), approximate="tanh")
        x = x + hidden @ q("ffn.w_2") + q("ffn.b_2")
    x = F.layer_norm(x, (d,), p["ln_f.gamma"], p["ln_f.beta"], eps=1e-5)
    return x @ p["head.w"] + p["head.b"]


def rows(t):
    t = t.detach()
    return t.tolist()


def reference(path, out, tokens, targets):
    p, meta = read_safetensors(path)
    for t in p.values():
        t.requires_grad_(True)
    logits = forward(p, meta, torch.tensor(tokens))
    loss = F.cross_entropy(logits, torch.tensor(targets))
    loss.backward()
    result = {
        "checkpoint": pathlib.Path(path).name,
        "tokens": tokens,
        "targets": targets,
        "logits": rows(logits),
        "loss": loss.item(),
        "grads": {k: rows(v.grad.reshape(v.shape[0], -1) if v.dim() > 1
                          else v.grad[None, :]) for k, v in p.items()},
    }
    pathlib.Path(out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}: loss {loss.item():.12f}")


def speed(path, steps=30, batch=16):
    """Training tokens per second with one thread, float32, AdamW, for the
    configuration of the checkpoint (random tokens: speed does not depend
    on the text)."""
    torch.set_num_threads(1)
    p, meta = read_safetensors(path)
    p = {k: v.to(torch.float32).requires_grad_(True) for k, v in p.items()}
    n, v = int(meta["context"]), p["tok_emb"].shape[0]
    opt = torch.optim.AdamW(p.values(), lr=3e-3, weight_decay=0.01)
    g = torch.Generator().manual_seed(0)
    data = torch.randint(0, v, (batch, n + 1), generator=g)

    def step():
        opt.zero_grad()
        loss = sum(
            F.cross_entropy(forward(p, meta, data[b, :-1]), data[b, 1:])
            for b in range(batch)) / batch
        loss.backward()
        opt.step()

    def batched_step():
        opt.zero_grad()
        logits = forward(p, meta, data[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, v), data[:, 1:].reshape(-1))
        loss.backward()
        opt.step()

    rates = []
    for name, f in [("one window at a time, as the listing", step),
                    ("the batch as one (B, n, d) tensor", batched_step)]:
        for _ in range(3):  # warm-up: allocations, first-call overheads
            f()
        start = time.perf_counter()
        for _ in range(steps):
            f()
        rate = steps * batch * n / (time.perf_counter() - start)
        rates.append(rate)
        print(f"PyTorch {torch.__version__}, 1 thread, float32, {name}: "
              f"{rate:.0f} training tokens/s")
    return rates


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint", nargs="?", default=HERE / "tiny.safetensors")
    ap.add_argument("--out", default=None)
    ap.add_argument("--speed", action="store_true")
    args = ap.parse_args()
    torch.set_default_dtype(torch.float64)
    if args.speed:
        speed(args.checkpoint)
    else:
        _, meta = read_safetensors(args.checkpoint)
        n = int(meta["context"])
        vocab = json.loads(meta["vocab"])
        text = "die kleinste stimme mit sinn ist eine frage der " \
            "wahrscheinlichkeit des naechsten zeichens. " * 8
        tokens = [vocab.index(c) for c in text if c in vocab][: n + 1]
        out = args.out or HERE / "model.json"
        reference(args.checkpoint, out, tokens[:-1], tokens[1:])
