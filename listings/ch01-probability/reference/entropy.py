"""Reference values for the entropy listings, computed by PyTorch in float64.

Run from the repository root:

    python3 listings/ch01-probability/reference/entropy.py

It rewrites entropy.json next to this script; the Rust tests in
listings/ch01-probability/tests/entropy.rs compare against it. Entropy is
torch.special.entr summed, cross-entropy is torch.nn.functional.cross_entropy
with probability targets and the logits log q (softmax(log q) = q), the
KL divergence is torch.nn.functional.kl_div(log q, p, reduction="sum").
For the pair "close", whose KL (3e-14) float64 cannot compute to more than
a few digits by any formula that subtracts logarithms, kl_exact is computed
with mpmath at 50 digits from the exact binary values of the inputs.
"""

import json
import pathlib

import mpmath
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

PAIRS = {
    "small": ([0.5, 0.3, 0.2], [0.4, 0.4, 0.2]),
    "peaked": ([0.97, 0.01, 0.01, 0.01], [0.25, 0.25, 0.25, 0.25]),
    "zero_in_p": ([0.0, 0.6, 0.4], [0.1, 0.5, 0.4]),
    "close": ([0.3, 0.3, 0.4], [0.3000001, 0.2999999, 0.4]),
    "five": ([0.1, 0.2, 0.3, 0.25, 0.15], [0.3, 0.1, 0.2, 0.15, 0.25]),
}
CLASSES = [0, 2, 2, 1, 0, 2, 3, 2, 0, 2, 1, 2]
MODEL = [0.2, 0.1, 0.45, 0.25]


def main() -> None:
    mpmath.mp.dps = 50
    pairs = []
    for name, (p, q) in PAIRS.items():
        tp, tq = torch.tensor(p), torch.tensor(q)
        pairs.append(
            {
                "name": name,
                "p": p,
                "q": q,
                "entropy_p": torch.special.entr(tp).sum().item(),
                "cross_entropy": F.cross_entropy(
                    torch.log(tq).unsqueeze(0), tp.unsqueeze(0)
                ).item(),
                "kl": F.kl_div(torch.log(tq), tp, reduction="sum").item(),
                "kl_exact": float(
                    sum(
                        mpmath.mpf(a) * mpmath.log(mpmath.mpf(a) / mpmath.mpf(b))
                        for a, b in zip(p, q)
                        if a > 0
                    )
                ),
            }
        )
    q = torch.tensor(MODEL)
    y = torch.tensor(CLASSES)
    nll = F.nll_loss(torch.log(q).expand(len(CLASSES), -1), y).item()
    out = {
        "source": "torch.special.entr, F.cross_entropy, F.kl_div, "
        "F.nll_loss, float64, torch " + torch.__version__,
        "pairs": pairs,
        "nll": {"y": CLASSES, "q": MODEL, "average_nll": nll},
    }
    path = pathlib.Path(__file__).with_name("entropy.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
