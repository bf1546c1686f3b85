"""Reference values for the transformer block, computed by PyTorch's
nn.TransformerEncoderLayer in float64, post-LN (norm_first=False, the
original architecture) and pre-LN (norm_first=True).

Run from the repository root:

    python3 listings/ch02-transformer/reference/block.py

It rewrites block.json; listings/ch02-transformer/tests/block.rs compares
against it. The layer is built with dropout=0.0, activation="relu",
batch_first=True, layer_norm_eps=1e-5; its weights are the book's, mapped
as explained in common.py (set_encoder_layer).
"""

import numpy as np
import torch

from common import block_params, causal, rows, set_encoder_layer, to_json, write

RNG = np.random.default_rng(20240606)
D_MODEL, N_HEADS, D_FF, N = 8, 2, 16, 5


def layer(p, norm_first):
    enc = torch.nn.TransformerEncoderLayer(
        D_MODEL,
        N_HEADS,
        dim_feedforward=D_FF,
        dropout=0.0,
        activation="relu",
        batch_first=True,
        norm_first=norm_first,
        layer_norm_eps=1e-5,
    )
    set_encoder_layer(enc, p)
    return enc.eval()


def main() -> None:
    cases = []
    for name, norm_first, masked in [
        ("post_ln", False, False),
        ("pre_ln", True, False),
        ("post_ln_causal", False, True),
        ("pre_ln_causal", True, True),
    ]:
        p = block_params(RNG, D_MODEL, D_FF)
        x = RNG.normal(size=(N, D_MODEL))
        mask = causal(N) if masked else None
        with torch.no_grad():
            y = layer(p, norm_first)(
                torch.tensor(x)[None],
                src_mask=None if mask is None else torch.tensor(mask),
            )[0]
        cases.append(
            {
                "name": name,
                "norm_first": norm_first,
                "n_heads": N_HEADS,
                "params": to_json(p),
                "x": rows(x),
                "mask": None if mask is None else rows(mask),
                "output": rows(y),
            }
        )
    write(__file__, {"source": "torch.nn.TransformerEncoderLayer,", "cases": cases})


if __name__ == "__main__":
    main()
