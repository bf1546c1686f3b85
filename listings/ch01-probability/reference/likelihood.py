"""Reference values for the likelihood listings, computed by PyTorch in float64.

Run from the repository root:

    python3 listings/ch01-probability/reference/likelihood.py

It rewrites likelihood.json next to this script; the Rust tests in
listings/ch01-probability/tests/likelihood.rs compare against it. The cases
are a few model probabilities (product and sum of logs) and the underflow
example of the book: 2000 factors of 1/2, whose product is 0 in float64
while the sum of their logarithms is an ordinary number.
"""

import json
import pathlib

import torch

torch.set_default_dtype(torch.float64)

CASES = {
    "three": [0.5, 0.25, 0.8],
    "with_one": [1.0, 0.1, 0.9, 0.3],
    "density_above_one": [1.7, 0.2, 2.5],
    "many_small": [0.01 * (k % 7 + 1) for k in range(50)],
}
UNDERFLOW = {"n": 2000, "p": 0.5}


def main() -> None:
    cases = []
    for name, p in CASES.items():
        t = torch.tensor(p)
        cases.append(
            {
                "name": name,
                "p": p,
                "likelihood": torch.prod(t).item(),
                "log_likelihood": torch.log(t).sum().item(),
            }
        )
    t = torch.full((UNDERFLOW["n"],), UNDERFLOW["p"])
    underflow = dict(UNDERFLOW)
    underflow["product"] = torch.prod(t).item()
    underflow["log_sum"] = torch.log(t).sum().item()
    out = {
        "source": "torch.prod, torch.log(...).sum(), float64, torch "
        + torch.__version__,
        "cases": cases,
        "underflow": underflow,
    }
    path = pathlib.Path(__file__).with_name("likelihood.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
