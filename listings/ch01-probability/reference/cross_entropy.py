"""Reference values for cross-entropy with logits, PyTorch float64.

Run from the repository root:

    python3 listings/ch01-probability/reference/cross_entropy.py

It rewrites cross_entropy.json next to this script; the Rust tests in
listings/ch01-probability/tests/cross_entropy.rs compare against it.
torch.logsumexp and F.log_softmax for single vectors (ordinary, huge and
-inf logits), F.cross_entropy with its autograd gradient for each vector,
and for a batch of rows the mean loss, its gradient and exp(mean).
"""

import json
import math
import pathlib

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

CASES = [
    ("small", [1.0, 2.0, 3.0], 0),
    ("mixed", [2.0, 1.0, 0.5, -1.0], 3),
    ("huge", [1000.0, 999.0, 990.0, -1000.0], 1),
    ("minus_inf", [0.5, -math.inf, 1.5, 0.0], 2),
    ("far_below", [0.0, -800.0, 3.0], 1),
]
BATCH = [
    [0.3, -1.2, 2.5, 0.0],
    [10.0, 10.0, 10.0, 10.0],
    [-5.0, 5.0, 0.0, 1.0],
    [1.0, 0.0, -1.0, 2.0],
]
BATCH_Y = [2, 0, 3, 3]


def finite(values):
    # JSON has no -inf; the Rust side reads null as -inf.
    return [v if math.isfinite(v) else None for v in values]


def main() -> None:
    cases = []
    for name, z, y in CASES:
        t = torch.tensor(z, requires_grad=True)
        loss = F.cross_entropy(t.unsqueeze(0), torch.tensor([y]))
        loss.backward()
        cases.append(
            {
                "name": name,
                "z": finite(z),
                "y": y,
                "lse": torch.logsumexp(t.detach(), 0).item(),
                "log_softmax": finite(F.log_softmax(t.detach(), 0).tolist()),
                "loss": loss.item(),
                "grad": t.grad.tolist(),
            }
        )
    z = torch.tensor(BATCH, requires_grad=True)
    loss = F.cross_entropy(z, torch.tensor(BATCH_Y))
    loss.backward()
    out = {
        "source": "torch.logsumexp, F.log_softmax, F.cross_entropy, "
        "autograd, float64, torch " + torch.__version__,
        "cases": cases,
        "batch": {
            "z": BATCH,
            "y": BATCH_Y,
            "loss": loss.item(),
            "grad": z.grad.tolist(),
            "perplexity": torch.exp(loss).item(),
        },
    }
    path = pathlib.Path(__file__).with_name("cross_entropy.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
