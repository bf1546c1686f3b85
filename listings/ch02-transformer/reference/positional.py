"""Reference values for the sinusoidal positional encoding, computed with
PyTorch in float64 (PyTorch has no built-in for it; this is the formula of
Vaswani et al. 2017, written independently of the Rust listing with
torch.pow instead of exp/ln).

Run from the repository root:

    python3 listings/ch02-transformer/reference/positional.py

It rewrites positional.json; listings/ch02-transformer/tests/positional.rs
compares against it.
"""

import torch

from common import rows, write


def encoding(n, d):
    pos = torch.arange(n, dtype=torch.float64)[:, None]
    two_i = torch.arange(0, d, 2, dtype=torch.float64)
    angle = pos / torch.pow(torch.tensor(10000.0), two_i / d)
    pe = torch.zeros(n, d)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle[:, : d // 2])
    return pe


def main() -> None:
    write(
        __file__,
        {
            "source": "sin/cos with torch.pow,",
            "cases": [
                {"n": 50, "d_model": 16, "pe": rows(encoding(50, 16))},
                {"n": 7, "d_model": 5, "pe": rows(encoding(7, 5))},
            ],
        },
    )


if __name__ == "__main__":
    main()
