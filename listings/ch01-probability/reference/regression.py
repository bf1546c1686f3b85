"""Reference values for the softmax regression listings, PyTorch float64.

Run from the repository root:

    python3 listings/ch01-probability/reference/regression.py

It rewrites regression.json next to this script; the Rust tests in
listings/ch01-probability/tests/regression.rs compare against it. A small
fixed problem (6 samples, 3 features, 4 classes): the objective
F.cross_entropy(X W + b, y) + lambda/2 ||W||^2 and its autograd gradient,
for lambda = 0 and lambda = 0.1, and the parameters after three steps of
gradient descent with step 0.5 from zero.
"""

import json
import pathlib

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

X = [
    [0.5, -1.0, 2.0],
    [1.5, 0.3, -0.7],
    [-0.2, 0.8, 0.1],
    [2.2, -0.4, 0.0],
    [-1.1, -1.3, 0.9],
    [0.0, 0.6, -1.8],
]
Y = [0, 3, 1, 3, 2, 1]
W = [
    [0.1, -0.2, 0.3, 0.0],
    [0.4, 0.1, -0.5, 0.2],
    [-0.3, 0.2, 0.1, -0.1],
]
B = [0.05, -0.1, 0.0, 0.2]


def objective(x, y, w, b, lam):
    return F.cross_entropy(x @ w + b, y) + 0.5 * lam * (w**2).sum()


def main() -> None:
    x, y = torch.tensor(X), torch.tensor(Y)
    cases = []
    for lam in (0.0, 0.1):
        w = torch.tensor(W, requires_grad=True)
        b = torch.tensor(B, requires_grad=True)
        j = objective(x, y, w, b, lam)
        j.backward()
        cases.append(
            {
                "lambda": lam,
                "objective": j.item(),
                "grad_w": w.grad.tolist(),
                "grad_b": b.grad.tolist(),
            }
        )
    w = torch.zeros(3, 4, requires_grad=True)
    b = torch.zeros(4, requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=0.5)
    for _ in range(3):
        opt.zero_grad()
        objective(x, y, w, b, 0.1).backward()
        opt.step()
    out = {
        "source": "F.cross_entropy, autograd, torch.optim.SGD, float64, torch "
        + torch.__version__,
        "x": X,
        "y": Y,
        "w": W,
        "b": B,
        "cases": cases,
        "descent": {
            "lambda": 0.1,
            "learning_rate": 0.5,
            "epochs": 3,
            "w": w.tolist(),
            "b": b.tolist(),
        },
    }
    path = pathlib.Path(__file__).with_name("regression.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
