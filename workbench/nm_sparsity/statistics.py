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

import threading
from dataclasses import dataclass

import torch

from kernels import mvue_prune, mvue_variance, nm_prune

__all__ = ["MaskStatistics", "MaskDraws", "mask_statistics", "prune", "PRUNE_METHODS"]

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


def _check(method, samples):
    if method not in PRUNE_METHODS:
        raise ValueError(f"method: expected one of {PRUNE_METHODS}, got {method!r}")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 2:
        raise ValueError(f"samples: expected an int >= 2, got {samples!r}")


class MaskDraws:
    r"""Monte-Carlo draws of an N:M pruner on ``x`` that can be extended: the statistics of the first ``k`` draws
    are exactly those of ``mask_statistics(x, n, m, method, k, dim=dim, seed=seed)``, whatever was asked before.

    The running sums :math:`\sum_k \theta_k(x)` and :math:`\sum_k \theta_k(x)^2` and the generator's state are
    kept every ``checkpoint`` draws, so asking for more draws costs only the new ones and asking for fewer
    resumes from the nearest checkpoint below (a dashboard's slider moves in either direction). Memory:
    ``2 * x.numel()`` float64 per checkpoint. One instance may be shared by threads (a server's sessions): its
    draws are made under a lock.
    """

    def __init__(self, x: torch.Tensor, n: int, m: int, method: str = "mvue", *, dim: int = -1, seed: int = 0,
                 checkpoint: int = 100):
        _check(method, 2)
        if isinstance(checkpoint, bool) or not isinstance(checkpoint, int) or checkpoint < 1:
            raise ValueError(f"checkpoint: expected a positive int, got {checkpoint!r}")
        self.x = x.detach().to(torch.float64)
        self.n, self.m, self.method, self.dim, self.seed, self.checkpoint = n, m, method, dim, seed, checkpoint
        self._exact = None
        gen = torch.Generator(device=self.x.device).manual_seed(seed)
        zero = torch.zeros_like(self.x)
        self._saved = {0: (zero, zero, gen.get_state())}  # draws -> (sum, sum of squares, generator state)
        self._lock = threading.Lock()

    def _sums(self, draws: int):
        start = max(k for k in self._saved if k <= draws)
        total, total_sq, state = self._saved[start]
        total, total_sq = total.clone(), total_sq.clone()
        gen = torch.Generator(device=self.x.device)
        gen.set_state(state)
        for k in range(start + 1, draws + 1):
            d = prune(self.x, self.n, self.m, self.method, dim=self.dim, generator=gen)
            total += d
            total_sq += d * d
            if k % self.checkpoint == 0 and k not in self._saved:
                self._saved[k] = (total.clone(), total_sq.clone(), gen.get_state())
        return total, total_sq

    def statistics(self, samples: int) -> MaskStatistics:
        """Bias and variance from the first ``samples`` draws (one for the deterministic MSE mask)."""
        _check(self.method, samples)
        draws = 1 if self.method == "mse" else samples  # the MSE mask is deterministic
        with self._lock:
            total, total_sq = self._sums(draws)
            mean = total / draws
            emp_var = (total_sq - draws * mean * mean).clamp_min(0) / max(draws - 1, 1)
            if self._exact is None:
                if self.method == "mse":
                    self._exact = (mean, torch.zeros_like(self.x))
                else:
                    method = "exact" if self.method == "mvue" else "approx"
                    self._exact = (self.x, mvue_variance(self.x, self.n, self.m, self.dim, method=method))
            exact_mean, exact_var = self._exact
        return MaskStatistics(self.x, self.method, self.n, self.m, draws, mean, emp_var, exact_mean - self.x, exact_var)


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
    _check(method, samples)
    return MaskDraws(x, n, m, method, dim=dim, seed=seed, checkpoint=max(samples, 1)).statistics(samples)
