#!/usr/bin/env python3
"""Times the listings of chapters 2 to 4 against PyTorch and NumPy.

Runs the criterion benchmarks (`cargo bench`) of `ch02-transformer`,
`ch03-optimization` and `ch04-language-model`, and those of
`ch02-transformer` once more with `--features blas` (OpenBLAS; skipped
with a note if Debian's libopenblas-dev is not installed), group by group,
each followed at once by the same shapes in PyTorch and NumPy, and prints
one table: f32 (and f64 for the plain products), one thread everywhere.
Last, chapter 4's generation: the criterion benchmark `generate` writes
its model to `target/ch04-generate-bench.safetensors`, and
`reference/model.py` loads it and runs the same sampling loop with and
without the KV cache; a second table gives tokens per second.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 bench/compare.py

Options: `--skip-cargo` reuses the last criterion results instead of
running `cargo bench` again; `--markdown` prints the tables as Markdown;
`--only main,generation,blocked` runs only the named tables (all three by
default; `blocked`, the rows of fused attention with their peak memory,
leaves PyTorch's columns empty with a note if torch is not installed);
`--json DIR` also writes each table with its raw numbers (seconds,
bytes, tokens per second) and the machine, date and load to
`DIR/<table>.json`. The book's pages show `bench/results/blocked.json`
and `bench/results/generation.json` (xtask/src/values/bench.rs), so
committing a new run of

    python3 bench/compare.py --only generation,blocked --json bench/results

changes the tables on the pages.

Peak memory of fused attention: ours is counted by a global allocator
that adds up the bytes live at once (the example
`listings/ch02-transformer/examples/attention_memory.rs`); NumPy's and
PyTorch's is the growth of the peak resident set (`VmHWM` in
/proc/self/status, reset through /proc/self/clear_refs) of a fresh
Python process during one call, after its inputs exist. Both count what
a call holds beyond its inputs; the allocator counts bytes requested,
RSS counts pages touched, so small differences (allocator slack, pages
of a few KiB) are not meaningful, factors are.

One thread: the environment variables below are set before NumPy and
PyTorch are imported, and `torch.set_num_threads(1)`; nalgebra's products
(the `matrixmultiply` crate without its `threading` feature) and the
listings run on one thread anyway.

Times are the CPU time of the measuring thread, on both sides
(`time.thread_time()` here, `CLOCK_THREAD_CPUTIME_ID` in the criterion
benchmarks): on a machine whose cores are shared with other work, wall
time would also count the time slices of other processes. The numbers
are measurements, never test assertions.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402

try:
    import torch  # noqa: E402
    import torch.nn.functional as F  # noqa: E402

    torch.set_num_threads(1)
except ImportError:  # only `--only blocked` runs without it
    torch = F = None
ROOT = Path(__file__).resolve().parent.parent
D_K, N, D_MODEL, HEADS = 64, 512, 512, 8


def timeit(f, min_sample_s=0.02, samples=15):
    """Median CPU seconds of this thread per call, as the criterion
    benchmarks measure theirs: warm up, then `samples` samples, each of
    enough calls to last `min_sample_s`."""
    clock = time.thread_time
    for _ in range(3):
        f()
    t0 = clock()
    f()
    once = max(clock() - t0, 1e-9)
    iters = max(1, int(min_sample_s / once))
    per_call = []
    for _ in range(samples):
        t0 = clock()
        for _ in range(iters):
            f()
        per_call.append((clock() - t0) / iters)
    return statistics.median(per_call)


def randn(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float32)


# ---- PyTorch and NumPy at the shapes of the criterion benchmarks -------


def np_softmax_rows(s):
    s -= s.max(axis=1, keepdims=True)
    np.exp(s, out=s)
    s /= s.sum(axis=1, keepdims=True)
    return s


def np_attention(q, k, v, mask=None):
    s = q @ k.T
    s *= np.float32(1.0 / np.sqrt(q.shape[1]))
    if mask is not None:
        s += mask
    return np_softmax_rows(s) @ v


def attention_cases(n, causal):
    q, k, v = (randn(n, D_K, seed=s) for s in (1, 2, 3))
    qb, kb, vb = (t.unsqueeze(0) for t in (q, k, v))
    qn, kn, vn = (t.numpy() for t in (q, k, v))
    mask = None
    if causal:
        mask = np.triu(np.full((n, n), -np.inf, np.float32), 1)

    def ours_torch():
        with torch.inference_mode():
            F.scaled_dot_product_attention(qb, kb, vb, is_causal=causal)

    return ours_torch, lambda: np_attention(qn, kn, vn, mask)


def multihead_cases():
    x = randn(1, N, D_MODEL, seed=18)
    lin = [torch.nn.Linear(D_MODEL, D_MODEL) for _ in range(4)]
    d_k = D_MODEL // HEADS

    def heads(t):  # (1, n, d_model) -> (1, h, n, d_k)
        return t.view(1, N, HEADS, d_k).transpose(1, 2)

    def torch_mha():
        with torch.inference_mode():
            q, k, v = (heads(lin[i](x)) for i in range(3))
            o = F.scaled_dot_product_attention(q, k, v)
            lin[3](o.transpose(1, 2).reshape(1, N, D_MODEL))

    xn = x[0].numpy()
    ws = [(m.weight.detach().numpy().T.copy(), m.bias.detach().numpy())
          for m in lin]

    def numpy_mha():
        q, k, v = (xn @ w + b for w, b in ws[:3])
        concat = np.empty((N, D_MODEL), np.float32)
        for i in range(HEADS):
            c = slice(i * d_k, (i + 1) * d_k)
            concat[:, c] = np_attention(q[:, c], k[:, c], v[:, c])
        return concat @ ws[3][0] + ws[3][1]

    return torch_mha, numpy_mha


def ffn_cases():
    x = randn(N, D_MODEL, seed=24)
    l1, l2 = torch.nn.Linear(D_MODEL, 4 * D_MODEL), torch.nn.Linear(
        4 * D_MODEL, D_MODEL)

    def torch_ffn():
        with torch.inference_mode():
            l2(F.relu(l1(x)))

    xn = x.numpy()
    w1, b1 = l1.weight.detach().numpy().T.copy(), l1.bias.detach().numpy()
    w2, b2 = l2.weight.detach().numpy().T.copy(), l2.bias.detach().numpy()

    def numpy_ffn():
        h = xn @ w1
        h += b1
        np.maximum(h, 0, out=h)
        y = h @ w2
        y += b2
        return y

    return torch_ffn, numpy_ffn


def layer_norm_cases():
    x = randn(N, D_MODEL, seed=32)
    gamma, beta = randn(D_MODEL, seed=30), randn(D_MODEL, seed=31)

    def torch_ln():
        with torch.inference_mode():
            F.layer_norm(x, (D_MODEL,), gamma, beta, 1e-5)

    xn, gn, bn = x.numpy(), gamma.numpy(), beta.numpy()

    def numpy_ln():
        mu = xn.mean(axis=1, keepdims=True)
        xc = xn - mu
        var = np.mean(xc * xc, axis=1, keepdims=True)
        return xc / np.sqrt(var + np.float32(1e-5)) * gn + bn

    return torch_ln, numpy_ln


def adam_cases(n):
    p = torch.nn.Parameter(torch.linspace(-0.5, 0.5, n))
    p.grad = torch.linspace(1e-4, 1e-1, n)
    try:
        opt = torch.optim.Adam([p], lr=1e-3, fused=True)
        opt.step()
        kind = "fused"
    except (RuntimeError, ValueError):
        opt = torch.optim.Adam([p], lr=1e-3, foreach=True)
        opt.step()
        kind = "foreach"

    pn, gn = p.detach().numpy().copy(), p.grad.numpy().copy()
    m, v = np.zeros_like(pn), np.zeros_like(pn)
    tmp = np.empty_like(pn)
    state = {"t": 0}
    b1, b2, lr, eps = np.float32(0.9), np.float32(0.999), 1e-3, 1e-8

    def numpy_adam():  # in place, one array operation after the other
        nonlocal m, v, pn, tmp
        state["t"] += 1
        t = state["t"]
        m *= b1
        m += (1 - b1) * gn
        v *= b2
        np.multiply(gn, gn, out=tmp)
        tmp *= 1 - b2
        v += tmp
        np.sqrt(v, out=tmp)
        tmp *= np.float32(1 / np.sqrt(1 - 0.999**t))
        tmp += np.float32(eps)
        np.divide(m, tmp, out=tmp)
        tmp *= np.float32(lr / (1 - 0.9**t))
        pn -= tmp

    return opt.step, numpy_adam, kind


def gemm_cases(n, dtype):
    a = randn(n, n, seed=40).to(dtype)
    b = randn(n, n, seed=41).to(dtype)
    an, bn = a.numpy(), b.numpy()

    def torch_mm():
        with torch.inference_mode():
            a @ b

    return torch_mm, lambda: an @ bn


# The model of chapter 4 as its reference script builds it from torch
# operations (listings/ch04-language-model/reference/model.py), with the
# sizes of the `train` command's defaults and of the criterion benchmark.
LM = dict(V=87, n=64, d=64, h=4, L=2, d_ff=256, B=16)


def train_step_cases():
    sys.path.insert(0, str(ROOT / "listings/ch04-language-model/reference"))
    import model as lm  # noqa: E402

    V, n, d, h, L, d_ff, B = (LM[k] for k in ("V", "n", "d", "h", "L",
                                              "d_ff", "B"))
    g = torch.Generator().manual_seed(0)

    def param(*shape, value=None):
        t = (torch.full(shape, value) if value is not None
             else torch.randn(*shape, generator=g) / shape[0] ** 0.5)
        return t.to(torch.float32).requires_grad_(True)

    p = {"tok_emb": param(V, d)}
    for layer in range(L):
        pre = f"blocks.{layer}."
        for ln in ("ln1", "ln2"):
            p[pre + ln + ".gamma"] = param(d, value=1.0)
            p[pre + ln + ".beta"] = param(d, value=0.0)
        for w in "qkvo":
            p[pre + f"attn.w_{w}"] = param(d, d)
            p[pre + f"attn.b_{w}"] = param(d, value=0.0)
        p[pre + "ffn.w_1"], p[pre + "ffn.b_1"] = param(d, d_ff), param(
            d_ff, value=0.0)
        p[pre + "ffn.w_2"], p[pre + "ffn.b_2"] = param(d_ff, d), param(
            d, value=0.0)
    p["ln_f.gamma"], p["ln_f.beta"] = param(d, value=1.0), param(
        d, value=0.0)
    p["head.w"], p["head.b"] = param(d, V), param(V, value=0.0)
    meta = {"n_layers": L, "n_heads": h, "context": n}
    opt = torch.optim.AdamW(p.values(), lr=3e-3, weight_decay=0.01)
    data = torch.randint(0, V, (B, n + 1), generator=g)

    def window_by_window():  # as the book's Trainer::step
        opt.zero_grad()
        loss = sum(F.cross_entropy(lm.forward(p, meta, data[b, :-1]),
                                   data[b, 1:]) for b in range(B)) / B
        loss.backward()
        opt.step()

    def batched():  # the batch as one (B, n, d) tensor
        opt.zero_grad()
        logits = lm.forward(p, meta, data[:, :-1])
        F.cross_entropy(logits.reshape(-1, V),
                        data[:, 1:].reshape(-1)).backward()
        opt.step()

    return window_by_window, batched


# Generation with chapter 4's default model: the checkpoint that the
# criterion benchmark `generate` writes (random weights, V = 88), loaded
# into `reference/model.py`, whose `generate` runs the sampling loop of
# the listing with and without the KV cache.
GEN_PROMPT, GEN_LENGTHS = [0, 1, 2, 3], (60, 300)


def generation_cases():
    sys.path.insert(0, str(ROOT / "listings/ch04-language-model/reference"))
    import model as lm  # noqa: E402

    path = target_dir() / "ch04-generate-bench.safetensors"
    p, meta = lm.read_safetensors(path)
    p = {k: v.to(torch.float32) for k, v in p.items()}

    def case(n_new, cache):
        return lambda: lm.generate(p, meta, GEN_PROMPT, n_new, cache=cache)

    return {(n, c): case(n, c) for n in GEN_LENGTHS for c in (False, True)}


# ---- fused (blocked) attention, forward and forward + backward ---------

BLOCKED_N = (1024, 4096, 16384)


def np_attention_fwd_bwd(q, k, v, g, mask=None):
    """Unfused attention and its backward pass (2.20) in NumPy: S and P of
    n × n, then ∂L/∂P and ∂L/∂S of the same size."""
    scale = np.float32(1.0 / np.sqrt(q.shape[1]))
    s = q @ k.T
    s *= scale
    if mask is not None:
        s += mask
    p = np_softmax_rows(s)
    o = p @ v
    d_v = p.T @ g
    d_p = g @ v.T
    d_p -= np.sum(p * d_p, axis=1, keepdims=True)
    d_p *= p  # ∂L/∂S
    d_q = (d_p @ k) * scale
    d_k = (d_p.T @ q) * scale
    return o, d_q, d_k, d_v


def blocked_cases(n, causal):
    """(torch forward, torch forward+backward, numpy forward, numpy
    forward+backward) at n queries and keys, d_k = 64, f32."""
    q, k, v, g = (randn(n, D_K, seed=s) for s in (1, 2, 3, 4))
    qn, kn, vn, gn = (t.numpy() for t in (q, k, v, g))
    mask = np.triu(np.full((n, n), -np.inf, np.float32), 1) if causal else None
    qb, kb, vb, gb = (t.unsqueeze(0) for t in (q, k, v, g))
    qg, kg, vg = (t.clone().requires_grad_(True) for t in (qb, kb, vb))

    def torch_fwd():
        with torch.inference_mode():
            F.scaled_dot_product_attention(qb, kb, vb, is_causal=causal)

    def torch_fwd_bwd():
        for t in (qg, kg, vg):
            t.grad = None
        o = F.scaled_dot_product_attention(qg, kg, vg, is_causal=causal)
        o.backward(gb)

    return (torch_fwd, torch_fwd_bwd,
            lambda: np_attention(qn, kn, vn, mask),
            lambda: np_attention_fwd_bwd(qn, kn, vn, gn, mask))


# Run in a fresh interpreter: the peak RSS growth of one call.
PEAK_SCRIPT = r"""
import os, sys
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = "1"
sys.path.insert(0, {bench!r})
import compare
n, causal, which = {n}, {causal}, {which!r}
cases = compare.blocked_cases(n, causal) if compare.torch is not None \
    else (None, None) + compare.numpy_blocked_cases(n, causal)
f = cases[which]

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024

with open("/proc/self/clear_refs", "w") as c:
    c.write("5")  # reset VmHWM to the current RSS
before = status("VmRSS")
f()
print(status("VmHWM") - before)
"""


def numpy_blocked_cases(n, causal):
    """NumPy's two functions of `blocked_cases`, without torch."""
    rng = np.random.default_rng(0)
    qn, kn, vn, gn = (rng.standard_normal((n, D_K), dtype=np.float32)
                      for _ in range(4))
    mask = np.triu(np.full((n, n), -np.inf, np.float32), 1) if causal else None
    return (lambda: np_attention(qn, kn, vn, mask),
            lambda: np_attention_fwd_bwd(qn, kn, vn, gn, mask))


def peak_rss_growth(n, causal, which):
    """Bytes by which the peak RSS of a fresh Python process grows during
    one call of `blocked_cases(n, causal)[which]`; None if it fails."""
    code = PEAK_SCRIPT.format(bench=str(ROOT / "bench"), n=n, causal=causal,
                              which=which)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True)
    if out.returncode != 0:
        print(f"# peak memory of case {which} at n={n} failed: "
              f"{out.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return int(out.stdout.strip().splitlines()[-1])


def our_peaks(n, causal):
    """Our peak bytes (counting allocator) from the example binary."""
    cmd = ["cargo", "run", "--release", "-q", "-p", "ch02-transformer",
           "--example", "attention_memory", "--", str(n)]
    if causal:
        cmd.append("--causal")
    if n > 4096:
        cmd.append("--no-unfused-backward")  # 4 n × n matrices: 4 GiB
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def fmt_bytes(b):
    if b is None:
        return "–"
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if b >= size:
            return f"{b / size:.1f} {unit}"
    return f"{b} B"


def blocked_table(cargo_bench, sizes=BLOCKED_N):
    """The rows of fused attention: time (ours fused, ours unfused fast,
    PyTorch's SDPA, NumPy) and peak memory of each."""
    have_torch = torch is not None
    if not have_torch:
        print("# torch is not installed: the PyTorch columns of fused "
              "attention are left empty (pip install torch)",
              file=sys.stderr)
    cargo_bench("ch02-transformer", "transformer", "^attention_blocked/")
    rows = []
    for causal in (False, True):
        for n in sizes:
            variant = "causal_" if causal else ""
            if have_torch:
                t_fwd, t_fb, np_fwd, np_fb = blocked_cases(n, causal)
            else:
                t_fwd = t_fb = None
                np_fwd, np_fb = numpy_blocked_cases(n, causal)
            samples = 15 if n <= 1024 else 5
            ours = our_peaks(n, causal)
            for which, (kind, t_f, np_f) in enumerate(
                    (("fwd", t_fwd, np_fwd), ("fwd+bwd", t_fb, np_fb))):
                suffix = "" if kind == "fwd" else "fwd_bwd_"
                fused = criterion_median(
                    "attention_blocked", f"fast_fused_{suffix}{variant}n={n}")
                unfused = criterion_median(
                    "attention_blocked",
                    f"fast_unfused_{suffix}{variant}n={n}")
                t_time = timeit(t_f, samples=samples) if t_f else None
                np_time = timeit(np_f, samples=samples)
                key = "" if kind == "fwd" else "_fwd_bwd"
                t_mem = peak_rss_growth(n, causal, which) if t_f else None
                np_mem = peak_rss_growth(n, causal, which + 2)
                best = min(x for x in (t_time, np_time) if x is not None)
                what = "fused attention" + (", causal" if causal else "")
                rows.append({
                    "what": f"{what}, {kind}", "shape": f"n={n}, d_k=64",
                    "n": n, "causal": causal, "pass": kind,
                    "ours_fused": fused, "ours_unfused": unfused,
                    "pytorch": t_time, "numpy": np_time,
                    "fused_over_best": ratio(fused, best),
                    "peak_ours_fused": ours["fused" + key],
                    "peak_ours_unfused": ours["unfused" + key],
                    "peak_pytorch": t_mem, "peak_numpy": np_mem})
    return Table("blocked", "fused attention (attention_blocked_fast, "
                 "blocks of 128) and peak memory beyond the inputs",
                 BLOCKED_COLUMNS, rows)


BLOCKED_COLUMNS = (
    ("what", "what", "text"), ("shape", "shape", "text"),
    ("ours_fused", "ours fused", "seconds"),
    ("ours_unfused", "ours unfused (fast)", "seconds"),
    ("pytorch", "PyTorch SDPA", "seconds"), ("numpy", "NumPy", "seconds"),
    ("fused_over_best", "fused / best", "ratio"),
    ("peak_ours_fused", "peak: ours fused", "bytes"),
    ("peak_ours_unfused", "ours unfused", "bytes"),
    ("peak_pytorch", "PyTorch", "bytes"), ("peak_numpy", "NumPy", "bytes"))


class Table:
    """A table of raw numbers: `columns` are (key, title, kind) with kind
    one of text, seconds, bytes, ratio, rate (per second) or count; each
    row is a dict by key, None where nothing was measured."""

    def __init__(self, name, title, columns, rows):
        self.name, self.title = name, title
        self.columns, self.rows = columns, rows

    def cells(self):
        return [[FORMAT[kind](row.get(key)) for key, _, kind in self.columns]
                for row in self.rows]

    def print(self, markdown):
        print_table([title for _, title, _ in self.columns], self.cells(),
                    markdown)

    def write_json(self, directory, meta):
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.name}.json"
        path.write_text(json.dumps({
            "table": self.name, "title": self.title, **meta,
            "columns": [{"key": k, "title": t, "kind": kind}
                        for k, t, kind in self.columns],
            "rows": self.rows}, indent=1, ensure_ascii=False) + "\n")
        print(f"# wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}",
              file=sys.stderr)


def print_table(head, rows, markdown):
    table = [list(head)] + [list(r) for r in rows]
    if markdown:
        for i, r in enumerate(table):
            print("| " + " | ".join(r) + " |")
            if i == 0:
                print("|" + "---|" * len(head))
    else:
        widths = [max(len(r[i]) for r in table) for i in range(len(head))]
        for r in table:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths)))


# ---- criterion's results -------------------------------------------------


def target_dir():
    env = os.environ.get("CARGO_TARGET_DIR")
    return Path(env) if env else ROOT / "target"


def criterion_median(group, bench_id):
    """Median seconds per iteration of `group/bench_id` from criterion's
    `estimates.json` (criterion writes `/` in an id as `_`)."""
    path = (target_dir() / "criterion" / group / bench_id.replace("/", "_")
            / "new" / "estimates.json")
    if not path.exists():
        return None
    return json.loads(path.read_text())["median"]["point_estimate"] * 1e-9


def fmt(seconds):
    if seconds is None:
        return "–"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    return f"{seconds * 1e3:.2f} ms"


def ratio(a, b):
    return None if a is None or b is None else a / b


FORMAT = {
    "text": lambda x: "–" if x is None else str(x),
    "seconds": fmt,
    "bytes": fmt_bytes,
    "ratio": lambda x: "–" if x is None else f"{x:.2f}",
    "rate": lambda x: "–" if x is None else f"{x:,.0f}",
    "count": lambda x: "–" if x is None else f"{x:,}",
}


def machine():
    name = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return name


def cpu_flags():
    """The vector extensions the listings dispatch on, as /proc/cpuinfo
    names them."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    return [f.upper().replace("AVX512F", "AVX-512") for f in
            ("avx512f", "avx2", "fma") if f in flags]


def main_table(cargo_bench, have_openblas):
    """The main table: products, attention, layers, Adam, the training
    step, and generation per token."""
    def ch02(pattern):
        cargo_bench("ch02-transformer", "transformer", pattern,
                    blas=have_openblas)

    # (what, shape, readable, fast, fast with OpenBLAS, torch, numpy)
    rows = []

    def row(what, shape, group, rust_shape, torch_f, numpy_f):
        rows.append((what, shape,
                     criterion_median(group, f"readable/{rust_shape}"),
                     criterion_median(group, f"fast/{rust_shape}"),
                     criterion_median(group, f"fast_blas/{rust_shape}"),
                     timeit(torch_f),
                     None if numpy_f is None else timeit(numpy_f)))

    ch02("^gemm/")
    for dtype, name in ((torch.float32, "f32"), (torch.float64, "f64")):
        for n in (128, 512, 1024):
            t, npf = gemm_cases(n, dtype)
            rows.append((f"matrix product A B ({name})", f"n={n}",
                         None,
                         criterion_median("gemm", f"nalgebra/{name},n={n}"),
                         criterion_median("gemm", f"openblas/{name},n={n}"),
                         timeit(t), timeit(npf)))

    ch02("^attention/")
    for causal in (False, True):
        for n in (128, 512, 1024):
            t, npf = attention_cases(n, causal)
            variant = "causal_" if causal else ""
            what = "attention, causal" if causal else "attention"
            rows.append((what, f"n={n}, d_k=64",
                         criterion_median("attention",
                                          f"readable_{variant}n={n}"),
                         criterion_median("attention",
                                          f"fast_{variant}n={n}"),
                         criterion_median("attention",
                                          f"fast_blas_{variant}n={n}"),
                         timeit(t), timeit(npf)))
    ch02("^multihead/")
    row("multi-head attention", "n=512, d=512, h=8", "multihead",
        "n=512,d=512,h=8", *multihead_cases())
    ch02("^ffn/")
    row("feed-forward (ReLU)", "n=512, 512→2048→512", "ffn",
        "n=512,512-2048-512", *ffn_cases())
    ch02("^layer_norm/")
    row("layer norm", "n=512, d=512", "layer_norm", "n=512,d=512",
        *layer_norm_cases())
    cargo_bench("ch03-optimization", "adam", "")
    kinds = set()
    for n, label in ((10**6, "1e6"), (10**7, "1e7")):
        torch_f, numpy_f, kind = adam_cases(n)
        kinds.add(kind)
        row(f"Adam step ({kind})", f"{label} params", "adam",
            f"params={label}", torch_f, numpy_f)
    copy = criterion_median("memory", "copy/floats=1e7")
    if copy is not None:
        # Read p, g, m, v and write p, m, v: 28 bytes per parameter, at the
        # bandwidth of a copy (read 4, write 4 bytes per float).
        bound = 28 * 10**7 / (8 * 10**7 / copy)
        fast = criterion_median("adam", "fast/params=1e7")
        readable = criterion_median("adam", "readable/params=1e7")
        rows.append(("Adam step vs bandwidth bound",
                     f"1e7 params, copy {8e-9 * 10**7 / copy:.1f} GB/s",
                     readable, fast, None, bound, None))
    traffic = criterion_median("memory", "adam_traffic/floats=1e7")
    read = criterion_median("memory", "read/floats=1e7")
    if traffic is not None and read is not None:
        rows.append(("Adam's memory traffic alone (no arithmetic)",
                     "1e7 params, 28 bytes each", None, traffic, None,
                     None, None))
        rows.append(("the same traffic in 4 KiB pages",
                     "1e7 params, 28 bytes each", None,
                     criterion_median("memory",
                                      "adam_traffic_4k_pages/floats=1e7"),
                     None, None, None))
        rows.append(("one read of the gradients (the finiteness check)",
                     "1e7 floats", None, read, None, None, None))
    cargo_bench("ch04-language-model", "train_step", "")
    window_f, batched_f = train_step_cases()
    shape = "B=16, n=64, d=64, h=4, L=2"
    rust_id = "B=16,n=64,d=64,h=4,L=2,d_ff=256"
    for what, torch_f in (("training step (ch. 4) vs PyTorch window by "
                           "window", window_f),
                          ("training step (ch. 4) vs PyTorch batched",
                           batched_f)):
        row(what, shape, "train_step", rust_id, torch_f, None)
    gen, gen_rows = measure_generation(cargo_bench)
    rows += gen_rows
    columns = (
        ("what", "what", "text"), ("shape", "shape", "text"),
        ("readable", "ours (readable)", "seconds"),
        ("fast", "ours (fast)", "seconds"),
        ("fast_blas", "ours (fast, OpenBLAS)", "seconds"),
        ("pytorch", "PyTorch", "seconds"), ("numpy", "NumPy", "seconds"),
        ("fast_over_pytorch", "fast / PyTorch", "ratio"))
    keys = [k for k, _, _ in columns]
    table = Table("main", "the listings against PyTorch and NumPy", columns,
                  [dict(zip(keys, (*r, ratio(r[3], r[5])))) for r in rows])
    return table, generation_table(gen)


def measure_generation(cargo_bench):
    """Chapter 4's `generate` (criterion) and the same loop in PyTorch:
    {(new tokens, cache): (ours, PyTorch's) seconds}, and the rows per
    token for the main table."""
    cargo_bench("ch04-language-model", "generate", "")
    if not (target_dir() / "ch04-generate-bench.safetensors").exists():
        print("# no target/ch04-generate-bench.safetensors: run `cargo "
              "bench -p ch04-language-model --bench generate` first",
              file=sys.stderr)
        return {}, []
    cases = generation_cases()
    gen, rows = {}, []
    for n_new in GEN_LENGTHS:
        for cache in (False, True):
            ours = criterion_median(
                "generate", f"{'cached' if cache else 'uncached'}/{n_new}")
            before = None if cache else criterion_median(
                "generate", f"before/{n_new}")
            theirs = timeit(cases[(n_new, cache)], samples=7)
            gen[(n_new, cache)] = (ours, theirs)
            what = ("generation (ch. 4), per token, "
                    + ("with KV cache" if cache else "without cache"))

            def per_token(t):
                return None if t is None else t / n_new

            # Criterion times one call of `generate`: per generated token.
            rows.append((what, f"{n_new} new tokens, n_ctx=64, d=64, h=4, "
                         "L=2", per_token(before), per_token(ours), None,
                         theirs / n_new, None))
    return gen, rows


def generation_table(gen):
    """Tokens per second with and without the cache; None if nothing was
    measured."""
    if not gen:
        return None
    return Table("generation", "generation, tokens per second (chapter 4's "
                 "default model, f32, one thread, prompt of 4 tokens)",
                 GENERATION_COLUMNS,
                 [generation_row(n_new, gen) for n_new in GEN_LENGTHS])


GENERATION_COLUMNS = (
    ("new_tokens", "new tokens", "count"),
    ("ours_uncached", "ours without cache", "rate"),
    ("ours_cached", "ours with cache", "rate"),
    ("pytorch_uncached", "PyTorch without cache", "rate"),
    ("pytorch_cached", "PyTorch with cache", "rate"),
    ("cache_speedup", "ours: with / without", "ratio"))


def generation_row(n_new, gen):
    def rate(seconds):
        return None if seconds is None else n_new / seconds

    (o0, t0), (o1, t1) = gen[(n_new, False)], gen[(n_new, True)]
    return {"new_tokens": n_new, "ours_uncached": rate(o0),
            "ours_cached": rate(o1), "pytorch_uncached": rate(t0),
            "pytorch_cached": rate(t1), "cache_speedup": ratio(o0, o1)}


TABLES = ("main", "generation", "blocked")


def git_commit():
    """The commit the measured code was built from, `+changes` if the
    working tree differed from it."""
    def git(*a):
        return subprocess.run(["git", *a], cwd=ROOT, text=True,
                              capture_output=True).stdout.strip()
    commit = git("rev-parse", "--short=12", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return commit + ("+changes" if dirty else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-cargo", action="store_true")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--only", default=",".join(TABLES),
                    help="comma-separated: " + ", ".join(TABLES))
    ap.add_argument("--json", type=Path, metavar="DIR")
    ap.add_argument("--blocked-n", default=",".join(map(str, BLOCKED_N)),
                    help="the lengths n of fused attention (a quick look: "
                    "1024)")
    args = ap.parse_args()
    blocked_n = tuple(int(n) for n in args.blocked_n.split(","))
    only = set(args.only.split(","))
    if not only <= set(TABLES):
        ap.error(f"--only takes {', '.join(TABLES)}, not "
                 f"{', '.join(sorted(only - set(TABLES)))}")
    if torch is None and only != {"blocked"}:
        ap.error("torch is not installed (pip install torch); without it "
                 "only `--only blocked` runs")
    load_before = os.getloadavg()[0]
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    # What `-lopenblas` links against (Debian's libopenblas-dev).
    have_openblas = any(Path(d, "libopenblas.so").exists() for d in (
        "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib"))
    if not have_openblas and "main" in only:
        print("# libopenblas-dev not installed: no OpenBLAS column "
              "(apt-get install libopenblas-dev)", file=sys.stderr)

    def cargo_bench(package, bench, pattern, blas=False):
        """Our side of one group, run right before PyTorch's side, so that
        both are measured within the same minute on a machine whose
        memory bandwidth changes with its neighbours' load."""
        if args.skip_cargo:
            return
        features = ["--features", "blas"] if blas else []
        for build in ([features, []] if blas else [[]]):
            subprocess.run(
                ["cargo", "bench", "-p", package, "--bench", bench, *build,
                 "--", pattern], cwd=ROOT, check=True, stdout=sys.stderr)

    tables = []
    if only & {"main", "generation"}:
        if "main" in only:
            main, generation = main_table(cargo_bench, have_openblas)
            tables.append(main)
        else:
            generation = generation_table(measure_generation(cargo_bench)[0])
        if "generation" in only:
            tables.append(generation)
    if "blocked" in only:
        tables.append(blocked_table(cargo_bench, blocked_n))
    tables = [t for t in tables if t is not None]
    load_after = os.getloadavg()[0]
    meta = {
        "date": started,
        "machine": {"cpu": machine(), "cores": os.cpu_count(),
                    "vector": cpu_flags(), "threads": 1},
        "versions": {
            "pytorch": torch.__version__ if torch else None,
            "numpy": np.__version__, "python": platform.python_version(),
            "rustc": subprocess.run(["rustc", "--version"], text=True,
                                    capture_output=True).stdout.strip()},
        "commit": git_commit(),
        "load_average_1min": {"before": round(load_before, 2),
                              "after": round(load_after, 2)},
        "timing": "medians of the CPU time of the measuring thread",
    }
    print(f"# {machine()} ({', '.join(cpu_flags())}), {os.cpu_count()} "
          f"cores; one thread; PyTorch "
          f"{torch.__version__ if torch else 'not installed'}, NumPy "
          f"{np.__version__}, Python {platform.python_version()}")
    print(f"# load average (1 min): {load_before:.2f} before, "
          f"{load_after:.2f} after; medians of thread CPU time")
    if "main" in only:
        print("# in the row 'Adam step vs bandwidth bound' PyTorch's column "
              "is the bound 28 bytes/param ÷ copy bandwidth")
    for t in tables:
        print()
        print(f"# {t.title}")
        t.print(args.markdown)
        if args.json:
            t.write_json(args.json, meta)


if __name__ == "__main__":
    main()
