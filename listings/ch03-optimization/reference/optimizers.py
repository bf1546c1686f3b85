"""Reference trajectories for the optimizers of chapter 3, in float64.

Run from the repository root:

    python3 listings/ch03-optimization/reference/optimizers.py

It rewrites optimizers.json next to this script; the Rust tests in
listings/ch03-optimization/tests/pytorch.rs compare against it step by step.

The problem is a fixed linear least-squares regression (6 samples as rows,
3 inputs, 2 outputs) with parameters W (3, 2) and b (1, 2) and the loss
L = (1/n) sum_i 1/2 ||x_i W + b - y_i||^2; every step uses the full-batch
gradient computed by autograd. Each case runs STEPS steps and records W and
b (row by row) after every step.

Where PyTorch implements the update (epsilon outside the root), the
trajectory comes from torch.optim.SGD/Adagrad/RMSprop/Adam/AdamW. PyTorch
has no option for the source text's form with epsilon inside the root,
sqrt(G + eps); those trajectories are computed by the formula with NumPy
(functions `*_numpy` below). To show that the NumPy code is the same
algorithm, it is also run with epsilon outside and checked against
torch.optim before anything is written.
"""

import json
import pathlib

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

STEPS = 100

# Inputs and targets, one sample per row (the book's convention).
X = [
    [1.0, 0.5, -1.0],
    [0.0, 2.0, 1.0],
    [-1.5, 1.0, 0.5],
    [2.0, -1.0, 0.0],
    [0.5, 0.5, 0.5],
    [-1.0, -2.0, 1.5],
]
Y = [
    [1.0, 0.0],
    [-1.0, 2.0],
    [0.5, 0.5],
    [2.0, -1.0],
    [0.0, 1.0],
    [-2.0, 0.5],
]
W0 = [[0.1, -0.2], [0.3, 0.0], [-0.1, 0.4]]
B0 = [[0.05, -0.05]]

# name, reference, configuration (the Rust test builds its optimizer from
# these fields).
CASES = [
    ("sgd", "torch", dict(kind="sgd", lr=0.1, momentum=0.0)),
    ("sgd_momentum", "torch", dict(kind="sgd", lr=0.05, momentum=0.9)),
    ("adagrad", "torch", dict(kind="adagrad", lr=0.1, eps=1e-10, place="outside")),
    ("adagrad_large_eps", "torch", dict(kind="adagrad", lr=0.1, eps=0.1, place="outside")),
    ("adagrad_inside", "numpy", dict(kind="adagrad", lr=0.1, eps=1e-10, place="inside")),
    ("adagrad_inside_large_eps", "numpy", dict(kind="adagrad", lr=0.1, eps=0.1, place="inside")),
    ("rmsprop", "torch", dict(kind="rmsprop", lr=0.01, gamma=0.99, eps=1e-8, place="outside")),
    ("rmsprop_large_eps", "torch", dict(kind="rmsprop", lr=0.01, gamma=0.9, eps=0.1, place="outside")),
    # gamma = 0.99 as in the torch case above, so both places of eps run
    # with the same settings. (With gamma = 0.9 and eps = 1e-8 RMSProp ends
    # in an oscillation that amplifies rounding differences: two NumPy runs
    # that only sum the gradient in another order drift apart by ~5e-12.)
    ("rmsprop_inside", "numpy", dict(kind="rmsprop", lr=0.01, gamma=0.99, eps=1e-8, place="inside")),
    ("rmsprop_inside_large_eps", "numpy", dict(kind="rmsprop", lr=0.01, gamma=0.9, eps=0.1, place="inside")),
    ("adam", "torch", dict(kind="adam", lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, place="outside", decay="none", weight_decay=0.0)),
    ("adam_large_eps", "torch", dict(kind="adam", lr=0.01, beta1=0.9, beta2=0.999, eps=0.1, place="outside", decay="none", weight_decay=0.0)),
    ("adam_inside_large_eps", "numpy", dict(kind="adam", lr=0.01, beta1=0.9, beta2=0.999, eps=0.1, place="inside", decay="none", weight_decay=0.0)),
    ("adam_l2", "torch", dict(kind="adam", lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, place="outside", decay="l2", weight_decay=0.1)),
    ("adamw", "torch", dict(kind="adam", lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, place="outside", decay="decoupled", weight_decay=0.1)),
]


def gradient(w, b):
    """Loss and full-batch gradient at (w, b) by autograd, as NumPy arrays."""
    w = torch.tensor(w, requires_grad=True)
    b = torch.tensor(b, requires_grad=True)
    loss = loss_of(w, b)
    loss.backward()
    return w.grad.numpy().copy(), b.grad.numpy().copy()


def loss_of(w, b):
    x, y = torch.tensor(X), torch.tensor(Y)
    r = x @ w + b - y
    return 0.5 * (r**2).sum() / x.shape[0]


def flat(w, b):
    return np.concatenate([np.asarray(w).ravel(), np.asarray(b).ravel()]).tolist()


def run_torch(cfg):
    w = torch.tensor(W0, requires_grad=True)
    b = torch.tensor(B0, requires_grad=True)
    params = [w, b]
    kind = cfg["kind"]
    if kind == "sgd":
        opt = torch.optim.SGD(params, lr=cfg["lr"], momentum=cfg["momentum"])
    elif kind == "adagrad":
        opt = torch.optim.Adagrad(params, lr=cfg["lr"], eps=cfg["eps"])
    elif kind == "rmsprop":
        opt = torch.optim.RMSprop(params, lr=cfg["lr"], alpha=cfg["gamma"], eps=cfg["eps"])
    elif kind == "adam" and cfg["decay"] == "decoupled":
        opt = torch.optim.AdamW(
            params,
            lr=cfg["lr"],
            betas=(cfg["beta1"], cfg["beta2"]),
            eps=cfg["eps"],
            weight_decay=cfg["weight_decay"],
        )
    elif kind == "adam":
        opt = torch.optim.Adam(
            params,
            lr=cfg["lr"],
            betas=(cfg["beta1"], cfg["beta2"]),
            eps=cfg["eps"],
            weight_decay=cfg["weight_decay"],
        )
    else:
        raise ValueError(kind)
    assert cfg.get("place", "outside") == "outside"
    trajectory = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss_of(w, b).backward()
        opt.step()
        trajectory.append(flat(w.detach().numpy(), b.detach().numpy()))
    return trajectory


def denominator(s, eps, place):
    """D_eps(s) of formula (3.7)."""
    return np.sqrt(s + eps) if place == "inside" else np.sqrt(s) + eps


def run_numpy(cfg):
    """The update rules (3.5)-(3.13) written out, for either place of eps."""
    params = [np.array(W0), np.array(B0)]
    state = [[np.zeros_like(p) for p in params] for _ in range(2)]
    kind, eps, place = cfg["kind"], cfg["eps"], cfg["place"]
    trajectory = []
    for t in range(1, STEPS + 1):
        grads = gradient(params[0], params[1])
        for i, (p, g) in enumerate(zip(params, grads)):
            if kind == "adagrad":
                state[0][i] += g * g  # (3.5)
                p -= cfg["lr"] * g / denominator(state[0][i], eps, place)  # (3.6)
            elif kind == "rmsprop":
                gamma = cfg["gamma"]
                state[0][i] = gamma * state[0][i] + (1 - gamma) * g * g  # (3.8)
                p -= cfg["lr"] * g / denominator(state[0][i], eps, place)  # (3.9)
            elif kind == "adam":
                b1, b2 = cfg["beta1"], cfg["beta2"]
                if cfg["decay"] == "l2":
                    g = g + cfg["weight_decay"] * p
                if cfg["decay"] == "decoupled":
                    p *= 1 - cfg["lr"] * cfg["weight_decay"]  # (3.13)
                state[0][i] = b1 * state[0][i] + (1 - b1) * g  # (3.10)
                state[1][i] = b2 * state[1][i] + (1 - b2) * g * g
                m_hat = state[0][i] / (1 - b1**t)  # (3.11)
                v_hat = state[1][i] / (1 - b2**t)
                p -= cfg["lr"] * m_hat / denominator(v_hat, eps, place)  # (3.12)
            else:
                raise ValueError(kind)
        trajectory.append(flat(params[0], params[1]))
    return trajectory


def check_numpy_against_torch():
    """The NumPy formulas with eps outside must reproduce torch.optim."""
    worst = 0.0
    for _name, reference, cfg in CASES:
        if reference != "torch" or cfg["kind"] == "sgd":
            continue
        ours = np.array(run_numpy(cfg))
        theirs = np.array(run_torch(cfg))
        worst = max(worst, float(np.abs(ours - theirs).max()))
    assert worst < 1e-13, f"NumPy formulas differ from torch.optim by {worst}"
    return worst


def main() -> None:
    worst = check_numpy_against_torch()
    cases = []
    for name, reference, cfg in CASES:
        trajectory = run_torch(cfg) if reference == "torch" else run_numpy(cfg)
        source = {
            "torch": "torch.optim",
            "numpy": "NumPy, by the formula (PyTorch has no eps-inside option)",
        }[reference]
        cases.append({"name": name, "reference": source, **cfg, "trajectory": trajectory})
    out = {
        "source": f"float64, torch {torch.__version__}, numpy {np.__version__}",
        "numpy_vs_torch_max_abs_difference": worst,
        "steps": STEPS,
        "x": X,
        "y": Y,
        "w0": W0,
        "b0": B0,
        "cases": cases,
    }
    path = pathlib.Path(__file__).with_name("optimizers.json")
    # One case per line keeps the file diffable and reasonably small.
    lines = [json.dumps({k: v for k, v in out.items() if k != "cases"})[:-1] + ', "cases": [']
    lines += [json.dumps(c) + ("," if i + 1 < len(cases) else "") for i, c in enumerate(cases)]
    lines.append("]}")
    path.write_text("\n".join(lines) + "\n")
    json.loads(path.read_text())  # still valid JSON
    print(f"wrote {path}; NumPy vs torch.optim: max |difference| = {worst:.3g}")


if __name__ == "__main__":
    main()
