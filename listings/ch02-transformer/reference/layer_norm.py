"""Reference values for layer normalization, computed by PyTorch's
nn.LayerNorm (eps = 1e-5, its default) in float64.

Run from the repository root:

    python3 listings/ch02-transformer/reference/layer_norm.py

It rewrites layer_norm.json; listings/ch02-transformer/tests/layer_norm.rs
compares against it. The cases: random tokens with random gamma and beta,
tokens around 1e4 (the variance must be computed after subtracting the
mean), and a constant token (variance 0: the output is beta).
"""

import numpy as np
import torch

from common import rows, write

RNG = np.random.default_rng(20240605)


def case(name, x, gamma, beta):
    ln = torch.nn.LayerNorm(x.shape[1], eps=1e-5)
    with torch.no_grad():
        ln.weight.copy_(torch.tensor(gamma))
        ln.bias.copy_(torch.tensor(beta))
    y = ln(torch.tensor(x))
    return {
        "name": name,
        "x": rows(x),
        "gamma": rows(gamma),
        "beta": rows(beta),
        "output": rows(y),
    }


def main() -> None:
    d = 6
    gamma, beta = RNG.normal(size=d), RNG.normal(size=d)
    cases = [
        case("random", RNG.normal(size=(4, d)) * 3.0 + 1.0, gamma, beta),
        case("around_1e4", 1e4 + RNG.normal(size=(3, d)), gamma, beta),
        case("constant_token", np.full((2, d), 7.25), gamma, beta),
        case("identity_affine", RNG.normal(size=(3, d)), np.ones(d), np.zeros(d)),
    ]
    write(__file__, {"source": "torch.nn.LayerNorm(eps=1e-5),", "cases": cases})


if __name__ == "__main__":
    main()
