"""Bias and variance of an N:M pruner on a real tensor: Monte-Carlo estimates against exact formulas.

For a pruner :math:`\\theta` and tensor :math:`x`:

* bias :math:`b = E[\\theta(x)] - x`; the MSE mask is deterministic, :math:`b = -(1-\\mu)\\odot x`,
  MVUE has :math:`b = 0`;
* variance per entry :math:`v_i = \\mathrm{Var}(\\theta(x)_i)`; MSE: 0, MVUE:
  :math:`x_i^2 (1/p_i - 1)` (see :mod:`kernels.mvue`).

The relative bias :math:`\\|b\\| / \\|x\\|` is what breaks training when the MSE mask is applied to
neural gradients.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from kernels import mvue_prune, mvue_variance, nm_prune

__all__ = ["MaskStatistics", "mask_statistics", "prune", "PRUNE_METHODS"]

PRUNE_METHODS = ("mse", "mvue", "approx")


def prune(x: torch.Tensor, n: int, m: int, method: str, *, dim: int = -1, generator=None) -> torch.Tensor:
    """One draw of an N:M pruner: ``"mse"`` (largest magnitudes), ``"mvue"`` (exact) or ``"approx"`` (2:4)."""
    if method == "mse":
        return nm_prune(x, n, m, dim)
    if method in ("mvue", "approx"):
        return mvue_prune(x, n, m, dim, method="exact" if method == "mvue" else "approx", generator=generator)
    raise ValueError(f"method: expected one of {PRUNE_METHODS}, got {method!r}")


@dataclass
class MaskStatistics:
    """Per-entry and summary statistics of an N:M pruner on one tensor (tensors have ``x``'s shape)."""

    x: torch.Tensor  # the pruned tensor, float64
    method: str
    n: int
    m: int
    samples: int
    mean: torch.Tensor  # Monte-Carlo E[theta(x)]
    empirical_variance: torch.Tensor  # unbiased sample variance per entry
    exact_bias: torch.Tensor  # E[theta(x)] - x, exact
    exact_variance: torch.Tensor  # Var(theta(x)), exact

    @property
    def empirical_bias(self) -> torch.Tensor:
        return self.mean - self.x

    def relative_bias(self, exact: bool = False) -> float:
        """``||E[theta(x)] - x|| / ||x||``, measured (default) or exact."""
        b = self.exact_bias if exact else self.empirical_bias
        return float(b.norm() / self.x.norm().clamp_min(1e-30))

    def total_variance(self, exact: bool = False) -> float:
        """Summed variance ``E||theta(x) - E theta(x)||^2``, measured (default) or exact."""
        return float((self.exact_variance if exact else self.empirical_variance).sum())

    def block_variance(self, dim: int = -1, exact: bool = False) -> torch.Tensor:
        """Variance summed over each block of ``m``: shape of ``x`` with ``dim`` divided by ``m``."""
        v = self.exact_variance if exact else self.empirical_variance
        v = v.movedim(dim, -1)
        return v.reshape(*v.shape[:-1], -1, self.m).sum(-1)

    def as_dict(self) -> dict:
        return {
            "method": self.method, "n": self.n, "m": self.m, "samples": self.samples,
            "relative_bias": self.relative_bias(), "relative_bias_exact": self.relative_bias(exact=True),
            "total_variance": self.total_variance(), "total_variance_exact": self.total_variance(exact=True),
        }


def mask_statistics(
    x: torch.Tensor, n: int, m: int, method: str = "mvue", samples: int = 1000, *, dim: int = -1, seed: int = 0
) -> MaskStatistics:
    """Estimate bias and variance of an N:M pruner on ``x`` from ``samples`` draws, with the exact values.

    Args:
        x: the tensor (e.g. a captured neural gradient); statistics are computed in float64.
        n, m: the N:M pattern along ``dim``.
        method: ``"mse"``, ``"mvue"`` or ``"approx"``.
        samples: number of Monte-Carlo draws (>= 2).
        seed: seed of the draws.
    """
    if method not in PRUNE_METHODS:
        raise ValueError(f"method: expected one of {PRUNE_METHODS}, got {method!r}")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 2:
        raise ValueError(f"samples: expected an int >= 2, got {samples!r}")
    x64 = x.detach().to(torch.float64)
    gen = torch.Generator(device=x64.device).manual_seed(seed)
    total = torch.zeros_like(x64)
    total_sq = torch.zeros_like(x64)
    draws = 1 if method == "mse" else samples  # the MSE mask is deterministic
    for _ in range(draws):
        d = prune(x64, n, m, method, dim=dim, generator=gen)
        total += d
        total_sq += d * d
    mean = total / draws
    emp_var = (total_sq - draws * mean * mean).clamp_min(0) / max(draws - 1, 1)
    if method == "mse":
        exact_mean, exact_var = mean, torch.zeros_like(x64)
    else:
        exact_mean = x64
        exact_var = mvue_variance(x64, n, m, dim, method="exact" if method == "mvue" else "approx")
    return MaskStatistics(x64, method, n, m, draws, mean, emp_var, exact_mean - x64, exact_var)
