"""PyTorch reference for chapter 4: the same decoder-only transformer, built
from torch operations, loading our safetensors checkpoint.

    python3 reference/model.py                   # tiny.safetensors -> model.json
    python3 reference/model.py CHECKPOINT --out logits.json
    python3 reference/model.py CHECKPOINT --speed  # training tokens/s, 1 thread
    python3 reference/model.py CHECKPOINT --generate  # generation tokens/s

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


def forward(p, meta, tokens, kv=None):
    """Logits (..., n, V) of the next token after each position; `tokens`
    is one window (n,) or a batch of windows (B, n). With a list `kv`,
    the keys and values of every block are appended to it as pairs."""
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
        if kv is not None:
            kv.append((K, V))
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


def forward_cached(p, meta, kv, token, pos, pe):
    """The logits (V,) of the token after `token` at position `pos`, one
    row of work per block: its key and value are written into row `pos`
    of the preallocated `kv[l] = (K, V)` (each (n_ctx, d)) and its query
    attends to rows 0..pos (4.7); no mask, since the last row of the
    causal mask is 0 everywhere."""
    n_layers, h = int(meta["n_layers"]), int(meta["n_heads"])
    d = p["tok_emb"].shape[1]
    dk = d // h
    x = p["tok_emb"][token] + pe[pos]
    for l in range(n_layers):
        q = lambda name: p[f"blocks.{l}.{name}"]
        u = F.layer_norm(x, (d,), q("ln1.gamma"), q("ln1.beta"), eps=1e-5)
        K, V = kv[l]
        K[pos] = u @ q("attn.w_k") + q("attn.b_k")
        V[pos] = u @ q("attn.w_v") + q("attn.b_v")
        Q = (u @ q("attn.w_q") + q("attn.b_q")).view(h, 1, dk)
        Kh = K[: pos + 1].view(pos + 1, h, dk).transpose(0, 1)
        Vh = V[: pos + 1].view(pos + 1, h, dk).transpose(0, 1)
        s = Q @ Kh.transpose(-2, -1) / math.sqrt(dk)  # (h, 1, t)
        heads = (torch.softmax(s, dim=-1) @ Vh).reshape(d)
        x = x + heads @ q("attn.w_o") + q("attn.b_o")
        w = F.layer_norm(x, (d,), q("ln2.gamma"), q("ln2.beta"), eps=1e-5)
        hidden = F.gelu(w @ q("ffn.w_1") + q("ffn.b_1"), approximate="tanh")
        x = x + hidden @ q("ffn.w_2") + q("ffn.b_2")
    x = F.layer_norm(x, (d,), p["ln_f.gamma"], p["ln_f.beta"], eps=1e-5)
    return x @ p["head.w"] + p["head.b"]


def next_token(z, temperature, top_k, u):
    """(4.6) and inverse-transform sampling, as the listing's
    `next_distribution` and `sample_index`: top-k sets the other logits
    to -inf, the softmax with temperature, then the first c whose
    cumulative probability exceeds u."""
    if top_k is not None and top_k < z.shape[0]:
        kth = torch.topk(z, top_k).values[-1]
        z = torch.where(z < kth, torch.full_like(z, float("-inf")), z)
    q = torch.softmax(z / temperature, dim=-1)
    c = int(torch.searchsorted(torch.cumsum(q, 0), torch.tensor([u])))
    return min(c, q.shape[0] - 1)


def generate(p, meta, prompt, n_new, temperature=0.8, top_k=None, seed=0,
             cache=True):
    """The listing's `generate` (with the KV cache) or `generate_uncached`
    (`cache=False`: every token reads its whole window again): `n_new`
    tokens after `prompt`, each from the last n_ctx tokens. The uniform
    numbers come from torch's generator, not the listing's ChaCha8, so
    the text differs from ours; the work per token is the same."""
    n_ctx, d = int(meta["context"]), p["tok_emb"].shape[1]
    dtype = p["tok_emb"].dtype
    pe = sinusoidal(n_ctx, d, dtype)
    g = torch.Generator().manual_seed(seed)
    tokens = list(prompt)
    kv = [(torch.zeros(n_ctx, d, dtype=dtype),
           torch.zeros(n_ctx, d, dtype=dtype))
          for _ in range(int(meta["n_layers"]))]
    length = 0  # tokens in the cache
    with torch.inference_mode():
        for i in range(n_new):
            window = tokens[-n_ctx:]
            if not cache:
                z = forward(p, meta, torch.tensor(window))[-1]
            elif i == 0 or length == n_ctx:
                # The first window or a window that slid: read it whole.
                pairs = []
                z = forward(p, meta, torch.tensor(window), pairs)[-1]
                for (K, V), (k, v) in zip(kv, pairs):
                    K[: len(window)], V[: len(window)] = k, v
                length = len(window)
            else:
                z = forward_cached(p, meta, kv, tokens[-1], length, pe)
                length += 1
            u = float(torch.rand(1, generator=g, dtype=torch.float64))
            tokens.append(next_token(z, temperature, top_k, u))
    return tokens


def generation_speed(path, prompt_len=4, lengths=(60, 300), reps=3):
    """Generated tokens per second with one thread, float32, with and
    without the KV cache, for `lengths` new tokens after a prompt of
    `prompt_len` tokens (60 fill the default window of 64; 300 is the
    program's default length, where the window slides)."""
    torch.set_num_threads(1)
    p, meta = read_safetensors(path)
    p = {k: v.to(torch.float32) for k, v in p.items()}
    prompt = list(range(prompt_len))
    rates = {}
    for n_new in lengths:
        for cache in (False, True):
            generate(p, meta, prompt, 8, cache=cache)  # warm-up
            best = float("inf")
            for _ in range(reps):
                start = time.thread_time()
                generate(p, meta, prompt, n_new, cache=cache)
                best = min(best, time.thread_time() - start)
            rates[(n_new, cache)] = n_new / best
            print(f"PyTorch {torch.__version__}, 1 thread, float32, "
                  f"{n_new} new tokens, {'with' if cache else 'without'} "
                  f"KV cache: {n_new / best:.0f} tokens/s")
    return rates


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
    ap.add_argument("--generate", action="store_true")
    args = ap.parse_args()
    torch.set_default_dtype(torch.float64)
    if args.speed:
        speed(args.checkpoint)
    elif args.generate:
        generation_speed(args.checkpoint)
    else:
        _, meta = read_safetensors(args.checkpoint)
        n = int(meta["context"])
        vocab = json.loads(meta["vocab"])
        text = "die kleinste stimme mit sinn ist eine frage der " \
            "wahrscheinlichkeit des naechsten zeichens. " * 8
        tokens = [vocab.index(c) for c in text if c in vocab][: n + 1]
        out = args.out or HERE / "model.json"
        reference(args.checkpoint, out, tokens[:-1], tokens[1:])
