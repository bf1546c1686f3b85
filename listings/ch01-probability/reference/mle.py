"""Reference values for the maximum-likelihood listings, PyTorch float64.

Run from the repository root:

    python3 listings/ch01-probability/reference/mle.py

It rewrites mle.json next to this script; the Rust tests in
listings/ch01-probability/tests/mle.rs compare against it. Log-likelihoods
come from torch.distributions (Bernoulli, Categorical, Normal), their
gradients from autograd, the variances from torch.var with correction=0
(maximum likelihood, divide by N) and correction=1 (unbiased, N - 1).
"""

import json
import pathlib

import torch
from torch.distributions import Bernoulli, Categorical, Normal

torch.set_default_dtype(torch.float64)

FLIPS = [1, 0, 1, 1, 0, 1, 1, 1, 0, 1]  # k = 7 of N = 10
THETAS = [0.1, 0.5, 0.7, 0.93]
CLASSES = [0, 2, 2, 1, 0, 2, 3, 2, 0, 2, 1, 2]  # K = 4
CATEGORICAL_THETA = [0.1, 0.2, 0.4, 0.3]
SAMPLES = [2.1, -0.3, 1.7, 0.4, 3.2, 1.1, -1.5, 0.9]
MU_SIGMA = [(0.0, 1.0), (0.8, 1.4), (-1.0, 0.5), (2.5, 3.0)]
LARGE_MEAN = [1e8 + d for d in (0.5, -0.25, 1.0, -1.25, 0.0)]


def main() -> None:
    x = torch.tensor(FLIPS, dtype=torch.float64)
    bernoulli = []
    for theta in THETAS:
        t = torch.tensor(theta, requires_grad=True)
        log_l = Bernoulli(probs=t).log_prob(x).sum()
        (-log_l).backward()
        bernoulli.append(
            {"theta": theta, "log_likelihood": log_l.item(), "nll_grad": t.grad.item()}
        )
    y = torch.tensor(CLASSES)
    theta = torch.tensor(CATEGORICAL_THETA)
    categorical = {
        "y": CLASSES,
        "k": 4,
        "mle": (torch.bincount(y, minlength=4) / len(CLASSES)).tolist(),
        "theta": CATEGORICAL_THETA,
        "log_likelihood": Categorical(probs=theta).log_prob(y).sum().item(),
    }
    s = torch.tensor(SAMPLES)
    gaussian_nll = []
    for mu, sigma in MU_SIGMA:
        m = torch.tensor(mu, requires_grad=True)
        sd = torch.tensor(sigma, requires_grad=True)
        nll = -Normal(m, sd).log_prob(s).sum()
        nll.backward()
        gaussian_nll.append(
            {
                "mu": mu,
                "sigma": sigma,
                "nll": nll.item(),
                "d_mu": m.grad.item(),
                "d_sigma": sd.grad.item(),
            }
        )
    variances = []
    for name, data in (("samples", SAMPLES), ("large_mean", LARGE_MEAN)):
        t = torch.tensor(data)
        variances.append(
            {
                "name": name,
                "x": data,
                "mean": t.mean().item(),
                "var_ml": torch.var(t, correction=0).item(),
                "var_unbiased": torch.var(t, correction=1).item(),
            }
        )
    out = {
        "source": "torch.distributions, autograd, torch.var, float64, torch "
        + torch.__version__,
        "flips": FLIPS,
        "bernoulli": bernoulli,
        "categorical": categorical,
        "samples": SAMPLES,
        "gaussian_nll": gaussian_nll,
        "variances": variances,
    }
    path = pathlib.Path(__file__).with_name("mle.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
