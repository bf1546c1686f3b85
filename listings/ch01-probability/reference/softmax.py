"""Reference values for the softmax listings, computed by PyTorch in float64.

Run from the repository root:

    python3 listings/ch01-probability/reference/softmax.py

It rewrites softmax.json next to this script; the Rust tests in
listings/ch01-probability/tests/softmax.rs compare against it. Inputs are
chosen to cover ordinary logits, large magnitudes (where a naive exp
overflows) and temperatures below and above 1.
"""

import json
import pathlib

import torch

torch.set_default_dtype(torch.float64)

VECTORS = {
    "small": [1.0, 2.0, 3.0],
    "mixed_signs": [2.0, 1.0, 0.5, -1.0],
    "near_equal": [0.1, 0.1000001, 0.0999999],
    "large_magnitude": [1000.0, 999.0, 990.0, -1000.0],
    "single": [3.5],
}
TEMPERATURES = [0.1, 0.5, 1.0, 2.0, 10.0]
ROWS = [
    [0.3, -1.2, 2.5, 0.0],
    [10.0, 10.0, 10.0, 10.0],
    [-50.0, 50.0, 0.0, 1.0],
]


def main() -> None:
    cases = []
    for name, z in VECTORS.items():
        p = torch.softmax(torch.tensor(z), dim=0)
        cases.append({"name": name, "logits": z, "probabilities": p.tolist()})
    temperature_cases = []
    z = VECTORS["mixed_signs"]
    for t in TEMPERATURES:
        p = torch.softmax(torch.tensor(z) / t, dim=0)
        temperature_cases.append(
            {"logits": z, "temperature": t, "probabilities": p.tolist()}
        )
    rows = torch.softmax(torch.tensor(ROWS), dim=-1)
    out = {
        "source": "torch.softmax, float64, torch " + torch.__version__,
        "vectors": cases,
        "temperature": temperature_cases,
        "rows": {"logits": ROWS, "probabilities": rows.tolist()},
    }
    path = pathlib.Path(__file__).with_name("softmax.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
