"""Predictive distributions as equal-weight Gaussian mixtures, and the three scores the released code reports.

Every method here predicts, at each test input ``n``, ``p(y_n) = (1/S) Σ_s N(y_n | μ_sn, σ_sn²)``: SIP and the VI
BNN with ``S`` function samples and a shared noise; the GPs with ``S = 1``; the assumed oscillator model with
weighted components (one per frequency).

* test log-likelihood: ``log (1/S) Σ_s N(y_n | μ_sn, σ_sn²)`` (log-mean-exp over samples), averaged over points;
* RMSE of the predictive mean ``(1/S) Σ_s μ_sn``;
* CRPS, exact for a Gaussian mixture: ``CRPS = E|Y − y| − ½ E|Y − Y'|`` with, for ``Y − c ~ N(μ, σ²)``,
  ``E|Y − c| = A(μ, σ²) = 2σ φ(μ/σ) + μ (2Φ(μ/σ) − 1)``:
  ``CRPS_n = (1/S) Σ_s A(μ_sn − y_n, σ_sn²) − (1/(2S²)) Σ_{s,t} A(μ_sn − μ_tn, σ_sn² + σ_tn²)``.

Shapes: ``means (S, N)``, ``stds (S, N)`` (broadcast from a scalar or ``(N,)``), ``y (N,)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["GaussianMixture", "crps_gaussian_mixture"]

_SQRT2 = math.sqrt(2.0)


def _abs_moment(mu: Tensor, var: Tensor) -> Tensor:
    """``E|X|`` for ``X ~ N(mu, var)``."""
    sd = var.sqrt()
    z = mu / sd
    pdf = torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    cdf = 0.5 * (1 + torch.erf(z / _SQRT2))
    return 2 * sd * pdf + mu * (2 * cdf - 1)


def crps_gaussian_mixture(y: Tensor, means: Tensor, stds: Tensor, weights: Tensor | None = None,
                          chunk: int = 64) -> Tensor:
    """Exact CRPS of the mixture at each point: ``(N,)`` (see the module; component ``weights (S,)`` summing to 1,
    equal when None; ``O(S² N)``, in chunks of ``chunk`` points)."""
    w = torch.full((means.shape[0],), 1.0 / means.shape[0], dtype=means.dtype) if weights is None else weights
    out = []
    for lo in range(0, y.shape[0], chunk):
        m, s, yy = means[:, lo:lo + chunk], stds[:, lo:lo + chunk], y[lo:lo + chunk]
        data = (w[:, None] * _abs_moment(m - yy, s.pow(2))).sum(0)
        pair = _abs_moment(m[:, None] - m[None, :], s[:, None].pow(2) + s[None, :].pow(2))
        spread = (w[:, None, None] * w[None, :, None] * pair).sum((0, 1))
        out.append(data - 0.5 * spread)
    return torch.cat(out)


@dataclass
class GaussianMixture:
    """``p(y_n) = Σ_s w_s N(y_n | means[s, n], stds[s, n]²)`` with ``w = softmax(log_weights)`` (equal weights
    ``1/S`` when ``log_weights`` is None, as for every sampled predictive)."""

    means: Tensor
    stds: Tensor
    log_weights: Tensor | None = None

    def __post_init__(self):
        if self.means.ndim != 2:
            raise ValueError(f"means: expected shape (S, N), got {tuple(self.means.shape)}")
        self.stds = torch.as_tensor(self.stds, dtype=self.means.dtype).expand_as(self.means)
        if not (self.stds > 0).all():
            raise ValueError("stds: expected positive standard deviations")
        s = self.means.shape[0]
        if self.log_weights is None:
            self.log_weights = torch.full((s,), -math.log(s), dtype=self.means.dtype)
        elif self.log_weights.shape != (s,):
            raise ValueError(f"log_weights: expected shape ({s},), got {tuple(self.log_weights.shape)}")
        else:
            self.log_weights = torch.log_softmax(self.log_weights.to(self.means.dtype), 0)

    @property
    def weights(self) -> Tensor:
        return self.log_weights.exp()

    @property
    def mean(self) -> Tensor:
        """Predictive mean ``(N,)``."""
        return self.weights @ self.means

    @property
    def std(self) -> Tensor:
        """Predictive standard deviation ``(N,)`` (law of total variance)."""
        second = self.weights @ (self.stds.pow(2) + self.means.pow(2))
        return (second - self.mean.pow(2)).clamp_min(0).sqrt()

    def log_density(self, y: Tensor) -> Tensor:
        """``log p(y_n)`` for ``y (N,)``, or on a grid ``y (G, N)`` -> ``(G, N)``."""
        yy = y.unsqueeze(-2)  # (..., 1, N)
        z = (yy - self.means) / self.stds
        log_pdf = -0.5 * z * z - self.stds.log() - 0.5 * math.log(2 * math.pi)
        return torch.logsumexp(log_pdf + self.log_weights[:, None], dim=-2)

    def density_grid(self, ys) -> Tensor:
        """``p(y_n)`` at every value of the grid ``ys`` ``(G,)`` for every input: ``(G, N)`` (a picture of the
        predictive over ``(x, y)``)."""
        grid = torch.as_tensor(ys, dtype=self.means.dtype)
        return self.log_density(grid[:, None].expand(-1, self.means.shape[1])).exp()

    def scores(self, y: Tensor) -> dict[str, float]:
        """``{"nll", "rmse", "crps"}`` averaged over the points (``nll`` the negative test log-likelihood)."""
        if y.ndim != 1 or y.shape[0] != self.means.shape[1]:
            raise ValueError(f"y: expected shape ({self.means.shape[1]},), got {tuple(y.shape)}")
        return {"nll": float(-self.log_density(y).mean()),
                "rmse": float((self.mean - y).pow(2).mean().sqrt()),
                "crps": float(crps_gaussian_mixture(y, self.means, self.stds, self.weights).mean())}
