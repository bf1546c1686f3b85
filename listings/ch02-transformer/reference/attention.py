"""Reference values for scaled dot-product attention, computed by PyTorch in
float64.

Run from the repository root:

    python3 listings/ch02-transformer/reference/attention.py

It rewrites attention.json next to this script; the Rust tests in
listings/ch02-transformer/tests/attention.rs and tests/masks.rs compare
against it. The inputs are drawn from a seeded NumPy generator and stored
in the JSON, so the Rust side never has to reproduce NumPy's generator.

Convention: a token is a row. Q has shape (n_q, d_k), K (n_k, d_k),
V (n_k, d_v), the additive mask M (n_q, n_k) with entries 0 or -inf.
F.scaled_dot_product_attention computes softmax(Q K^T / sqrt(d_k) + M) V,
which is formula (2.4) of the book; its attention weights are not returned,
so they are computed here with torch.softmax from the same scores.
"""

import json
import pathlib

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
RNG = np.random.default_rng(20240602)
NEG_INF = float("-inf")


def rows(t):
    """A tensor as a list of rows; -inf becomes the string "-inf"."""
    return [
        [x if np.isfinite(x) else str(x) for x in row]
        for row in t.detach().tolist()
    ]


def case(name, q, k, v, mask=None):
    q, k, v = (torch.tensor(a) for a in (q, k, v))
    m = None if mask is None else torch.tensor(mask)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=m)
    scores = q @ k.T / np.sqrt(q.shape[-1])
    if m is not None:
        scores = scores + m
    weights = torch.softmax(scores, dim=-1)
    return {
        "name": name,
        "q": rows(q),
        "k": rows(k),
        "v": rows(v),
        "mask": None if m is None else rows(m),
        "weights": rows(weights),
        "output": rows(out),
    }


def causal(n):
    return np.triu(np.full((n, n), NEG_INF), k=1)


def main() -> None:
    cases = []
    q, k, v = RNG.normal(size=(3, 4)), RNG.normal(size=(4, 4)), RNG.normal(size=(4, 5))
    cases.append(case("random_3x4_4x4_4x5", q, k, v))
    # Scores around 750: exp(750) overflows float64, a naive softmax gives nan.
    q = np.array([[30.0, 25.0], [-28.0, 31.0]])
    k = np.array([[25.0, 12.0], [24.0, 13.0], [-20.0, 20.0]])
    v = RNG.normal(size=(3, 2))
    cases.append(case("scores_near_750", q, k, v))
    # Self-attention with a causal mask (decoder).
    x = RNG.normal(size=(5, 4))
    cases.append(case("causal_5", x, x, RNG.normal(size=(5, 3)), causal(5)))
    # A padding mask: the last two of five keys are padding.
    pad = np.zeros((3, 5))
    pad[:, 3:] = NEG_INF
    q, k, v = RNG.normal(size=(3, 4)), RNG.normal(size=(5, 4)), RNG.normal(size=(5, 2))
    cases.append(case("padding_last_two_keys", q, k, v, pad))

    # What PyTorch does with a row that is masked everywhere: we record it
    # for the book (the Rust listing refuses such a mask with an error).
    full = np.zeros((2, 3))
    full[1, :] = NEG_INF
    out = F.scaled_dot_product_attention(
        torch.tensor(RNG.normal(size=(2, 4))),
        torch.tensor(RNG.normal(size=(3, 4))),
        torch.tensor(RNG.normal(size=(3, 2))),
        attn_mask=torch.tensor(full),
    )
    fully_masked_row = [str(x) for x in out[1].tolist()]

    out = {
        "source": "torch.nn.functional.scaled_dot_product_attention, float64, torch "
        + torch.__version__,
        "cases": cases,
        "torch_fully_masked_row_output": fully_masked_row,
    }
    path = pathlib.Path(__file__).with_name("attention.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
