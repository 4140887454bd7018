"""The implicit approximate posterior ``q(u)`` over the function values at the inducing points: a neural sampler
``u = MLP[50, 50, M](μ + σ ⊙ ξ)``, ``ξ ~ N(0, I_100)``, with the noise's mean and log-variance learned (as the
released code). Its samples can be multi-modal and skewed, unlike a Gaussian ``q``."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from workbench.checks import check_int
from workbench.implicit_processes.priors import LEAK

__all__ = ["InducingSampler"]


class InducingSampler(nn.Module):
    """``sample(S) -> (S, M)`` draws from ``q(u)``.

    ``init="released"``: every weight, bias and noise mean ``N(0, 0.05²)``, the noise log-variances
    ``N(noise_log_var, 2²)`` (−5 in the released code): the first samples are nearly all the same.
    ``init="scaled"``: weights ``N(0, 1/fan_in)``, so the first samples already spread (``noise_log_var`` 0 then
    gives unit input noise)."""

    def __init__(self, n_inducing: int, noise_dim: int = 100, hidden: tuple[int, ...] = (50, 50),
                 noise_log_var: float = -5.0, init: str = "released", generator: torch.Generator | None = None):
        super().__init__()
        self.n_inducing = check_int("n_inducing", n_inducing, 1)
        self.noise_dim = check_int("noise_dim", noise_dim, 1)
        sizes = (self.noise_dim, *(check_int("hidden", h, 1) for h in hidden), self.n_inducing)
        self.noise_mean = nn.Parameter(torch.randn(self.noise_dim, generator=generator) * 0.05)
        self.noise_log_var = nn.Parameter(torch.randn(self.noise_dim, generator=generator) * 2.0
                                          + float(noise_log_var))
        if init not in ("released", "scaled"):
            raise ValueError(f"init: expected 'released' or 'scaled', got {init!r}")
        self.weights = nn.ParameterList([
            nn.Parameter(torch.randn((a, b), generator=generator) * (0.05 if init == "released" else a ** -0.5))
            for a, b in zip(sizes, sizes[1:])])
        self.biases = nn.ParameterList([nn.Parameter(torch.randn(b, generator=generator) * 0.05) for b in sizes[1:]])

    def sample(self, n_samples: int, generator: torch.Generator | None = None) -> Tensor:
        check_int("n_samples", n_samples, 1)
        xi = torch.randn((n_samples, self.noise_dim), generator=generator)
        h = self.noise_mean + (0.5 * self.noise_log_var).exp() * xi
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = h @ w + b
            if i < last:
                h = nn.functional.leaky_relu(h, LEAK)
        return h
