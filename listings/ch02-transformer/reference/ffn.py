"""Reference values for the position-wise feed-forward network, computed by
PyTorch in float64: nn.Linear, F.relu, and F.gelu (exact and with
approximate="tanh").

Run from the repository root:

    python3 listings/ch02-transformer/reference/ffn.py

It rewrites ffn.json; listings/ch02-transformer/tests/ffn.rs compares
against it. Weights are in the book's convention (W of shape (in, out));
nn.Linear gets W^T (see common.py).
"""

import numpy as np
import torch
import torch.nn.functional as F

from common import linear_params, rows, set_linear, write

RNG = np.random.default_rng(20240604)


def main() -> None:
    d_model, d_ff, n = 4, 16, 5
    w1, b1 = linear_params(RNG, d_model, d_ff)
    w2, b2 = linear_params(RNG, d_ff, d_model)
    lin1, lin2 = torch.nn.Linear(d_model, d_ff), torch.nn.Linear(d_ff, d_model)
    set_linear(lin1, w1, b1)
    set_linear(lin2, w2, b2)
    x = torch.tensor(RNG.normal(size=(n, d_model)))
    relu = lin2(F.relu(lin1(x)))
    gelu = lin2(F.gelu(lin1(x), approximate="tanh"))
    grid = torch.linspace(-6.0, 6.0, 121)
    write(
        __file__,
        {
            "source": "nn.Linear, F.relu, F.gelu,",
            "w1": rows(w1),
            "b1": rows(b1),
            "w2": rows(w2),
            "b2": rows(b2),
            "x": rows(x),
            "relu_output": rows(relu),
            "gelu_tanh_output": rows(gelu),
            "gelu_grid": rows(grid),
            "gelu_tanh": rows(F.gelu(grid, approximate="tanh")),
            "gelu_exact": rows(F.gelu(grid)),
        },
    )


if __name__ == "__main__":
    main()
