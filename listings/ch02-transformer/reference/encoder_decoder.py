"""Reference values for the decoder block and a complete encoder-decoder
forward pass, computed by PyTorch in float64.

Run from the repository root:

    python3 listings/ch02-transformer/reference/encoder_decoder.py

It rewrites encoder_decoder.json; listings/ch02-transformer/tests/
encoder_decoder.rs compares against it.

- "decoder_layers": nn.TransformerDecoderLayer (norm_first False and True,
  dropout 0, ReLU, batch_first) with tgt_mask = the causal mask and the
  encoder output ("memory") as the input of cross-attention.
- "model": the original architecture with N = 2: source and target
  embeddings scaled by sqrt(d_model) plus sinusoidal positional encodings,
  two nn.TransformerEncoderLayer, two nn.TransformerDecoderLayer (all
  post-LN), a final nn.Linear and a softmax. nn.Transformer is not used
  because it adds a final LayerNorm after each stack, which the original
  post-LN architecture does not have.

Weights are drawn in the book's convention (W of shape (in, out)) and
mapped onto PyTorch as in common.py.
"""

import numpy as np
import torch

from common import (
    block_params,
    causal,
    linear_params,
    mha_params,
    rows,
    set_encoder_layer,
    set_linear,
    set_mha,
    set_norm,
    to_json,
    write,
)

RNG = np.random.default_rng(20240608)
D, H, D_FF = 8, 2, 16


def decoder_params():
    p = block_params(RNG, D, D_FF)
    p["cross_attention"] = mha_params(RNG, D)
    p["norm3"] = {"gamma": 1.0 + 0.2 * RNG.normal(size=D), "beta": 0.1 * RNG.normal(size=D)}
    return p


def decoder_layer(p, norm_first):
    layer = torch.nn.TransformerDecoderLayer(
        D, H, dim_feedforward=D_FF, dropout=0.0, activation="relu",
        batch_first=True, norm_first=norm_first, layer_norm_eps=1e-5,
    )
    set_mha(layer.self_attn, p["attention"])
    set_mha(layer.multihead_attn, p["cross_attention"])
    set_norm(layer.norm1, p["norm1"])
    set_norm(layer.norm2, p["norm2"])
    set_norm(layer.norm3, p["norm3"])
    set_linear(layer.linear1, p["ffn"]["lin1"]["w"], p["ffn"]["lin1"]["b"])
    set_linear(layer.linear2, p["ffn"]["lin2"]["w"], p["ffn"]["lin2"]["b"])
    return layer.eval()


def encoder_layer(p):
    layer = torch.nn.TransformerEncoderLayer(
        D, H, dim_feedforward=D_FF, dropout=0.0, activation="relu",
        batch_first=True, norm_first=False, layer_norm_eps=1e-5,
    )
    set_encoder_layer(layer, p)
    return layer.eval()


def positional(n, d):
    pos = torch.arange(n, dtype=torch.float64)[:, None]
    two_i = torch.arange(0, d, 2, dtype=torch.float64)
    angle = pos / torch.pow(torch.tensor(10000.0), two_i / d)
    pe = torch.zeros(n, d)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe


def main() -> None:
    layers = []
    for norm_first in (False, True):
        p = decoder_params()
        y, memory = RNG.normal(size=(4, D)), RNG.normal(size=(5, D))
        with torch.no_grad():
            out = decoder_layer(p, norm_first)(
                torch.tensor(y)[None], torch.tensor(memory)[None],
                tgt_mask=torch.tensor(causal(4)),
            )[0]
        layers.append({
            "norm_first": norm_first, "params": to_json(p),
            "y": rows(y), "memory": rows(memory), "output": rows(out),
        })

    v_src, v_tgt, n_layers = 7, 6, 2
    src, tgt = [1, 4, 2, 6, 3], [0, 5, 2, 1]
    src_emb = RNG.normal(size=(v_src, D)) / np.sqrt(D)
    tgt_emb = RNG.normal(size=(v_tgt, D)) / np.sqrt(D)
    enc = [block_params(RNG, D, D_FF) for _ in range(n_layers)]
    dec = [decoder_params() for _ in range(n_layers)]
    w_out, b_out = linear_params(RNG, D, v_tgt)
    with torch.no_grad():
        x = torch.tensor(src_emb)[src] * np.sqrt(D) + positional(len(src), D)
        memory = x[None]
        for p in enc:
            memory = encoder_layer(p)(memory)
        y = torch.tensor(tgt_emb)[tgt] * np.sqrt(D) + positional(len(tgt), D)
        y = y[None]
        for p in dec:
            y = decoder_layer(p, False)(y, memory, tgt_mask=torch.tensor(causal(len(tgt))))
        out = torch.nn.Linear(D, v_tgt)
        set_linear(out, w_out, b_out)
        logits = out(y)[0]
        probs = torch.softmax(logits, dim=-1)
    model = {
        "n_heads": H, "src": src, "tgt": tgt,
        "src_embedding": rows(src_emb), "tgt_embedding": rows(tgt_emb),
        "encoder": [to_json(p) for p in enc], "decoder": [to_json(p) for p in dec],
        "output": {"w": rows(w_out), "b": rows(b_out)},
        "memory": rows(memory[0]), "logits": rows(logits), "probabilities": rows(probs),
    }
    write(__file__, {
        "source": "nn.TransformerEncoderLayer, nn.TransformerDecoderLayer,",
        "decoder_layers": layers, "model": model,
    })


if __name__ == "__main__":
    main()
