"""The assumed physical model of the bias experiment, solved exactly: an undamped oscillator

    y = a cos(ω t) + b sin(ω t) + ε,   (a, b) ~ N(0, s² I),   ε ~ N(0, σ²),   ω uniform on a grid.

Given ω the model is Bayesian linear regression in the features ``φ(t) = [cos ωt, sin ωt]``, so the posterior of
``(a, b)`` and the predictive are Gaussian; over the grid of ω the posterior is a mixture weighted by the marginal
likelihoods ``p(y | ω) = N(y | 0, s² ΦΦᵀ + σ² I)``. ``s`` and ``σ`` are set by type-II maximum likelihood over
a grid. This is the *exact* Bayesian answer of the wrong model: on damped data it keeps a constant amplitude.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from workbench.checks import check_int, check_real
from workbench.implicit_processes.datasets import check_x, check_xy
from workbench.implicit_processes.predictive import GaussianMixture
from workbench.implicit_processes.priors import OscillatorPrior

__all__ = ["AssumedOscillator"]


def _log_evidence(phi: np.ndarray, y: np.ndarray, s2: float, n2: float) -> float:
    """``log N(y | 0, s² ΦΦᵀ + σ² I)`` by the matrix determinant lemma and Woodbury (Φ is N × 2)."""
    n = len(y)
    a = phi.T @ phi / n2 + np.eye(2) / s2  # posterior precision of (a, b)
    chol = np.linalg.cholesky(a)
    b = phi.T @ y / n2
    w = np.linalg.solve(chol, b)
    logdet = 2 * np.log(np.diag(chol)).sum() + 2 * math.log(s2) + n * math.log(n2)
    quad = y @ y / n2 - w @ w
    return -0.5 * (quad + logdet + n * math.log(2 * math.pi))


@dataclass
class AssumedOscillator:
    """Exact Bayesian inference in the undamped-oscillator model. Learned: ``frequencies_`` (grid),
    ``log_weights_`` (posterior over the grid), ``amplitude_`` (s), ``noise_`` (σ), ``means_``/``covs_`` (posterior
    of (a, b) per frequency)."""

    frequencies: tuple[float, float] = (0.2, 6.0)
    grid: int = 300

    def fit(self, X, y) -> "AssumedOscillator":
        lo, hi = (check_real("frequencies", f) for f in self.frequencies)
        if hi <= lo:
            raise ValueError(f"frequencies: expected (low, high) with low < high, got {self.frequencies}")
        grid = check_int("grid", self.grid, 2)
        x, y = check_xy(X, y)
        if x.shape[1] != 1:
            raise ValueError(f"X: the oscillator model takes time as its one input, got shape {x.shape}")
        t = x[:, 0]
        self.frequencies_ = np.linspace(lo, hi, grid)
        feats = [np.stack([np.cos(w * t), np.sin(w * t)], 1) for w in self.frequencies_]
        best = None
        y_var = float(y.var())
        for s2 in y_var * np.logspace(-2, 1, 7):
            for n2 in y_var * np.logspace(-4, 0, 9):
                ev = np.array([_log_evidence(p, y, s2, n2) for p in feats])
                total = np.logaddexp.reduce(ev) - math.log(grid)
                if best is None or total > best[0]:
                    best = (total, s2, n2, ev)
        _, s2, n2, ev = best
        self.amplitude_, self.noise_ = math.sqrt(s2), math.sqrt(n2)
        self.log_weights_ = ev - np.logaddexp.reduce(ev)
        self.means_, self.covs_ = [], []
        for p in feats:
            cov = np.linalg.inv(p.T @ p / n2 + np.eye(2) / s2)
            self.means_.append(cov @ p.T @ y / n2)
            self.covs_.append(cov)
        self.means_, self.covs_ = np.array(self.means_), np.array(self.covs_)
        return self

    def as_prior(self, X, y, frequency_spread: float = 0.1) -> OscillatorPrior:
        """This model, as fitted, as an implicit prior for SIP on the same data: an :class:`OscillatorPrior` at the
        fitted amplitude and most probable frequency, in the standardised units SIP trains in (``X`` and ``y``: the
        training data it was fitted to)."""
        if not hasattr(self, "means_"):
            raise RuntimeError("AssumedOscillator: call fit(X, y) before as_prior")
        x, y = check_xy(X, y)
        return OscillatorPrior(amplitude=self.amplitude_ / float(y.std()), frequency=self.frequency_ * float(x.std()),
                               frequency_spread=frequency_spread)

    @property
    def frequency_(self) -> float:
        """The posterior mode of ω."""
        return float(self.frequencies_[int(np.argmax(self.log_weights_))])

    def predict(self, X, max_components: int = 50) -> GaussianMixture:
        """The posterior predictive: a weighted mixture over the ``max_components`` most probable frequencies
        (the rest hold negligible weight; they are renormalised away)."""
        if not hasattr(self, "means_"):
            raise RuntimeError("AssumedOscillator: call fit(X, y) before predicting")
        t = check_x(X)[:, 0]
        keep = np.argsort(self.log_weights_)[::-1][:check_int("max_components", max_components, 1)]
        means, stds = [], []
        for k in keep:
            phi = np.stack([np.cos(self.frequencies_[k] * t), np.sin(self.frequencies_[k] * t)], 1)
            means.append(phi @ self.means_[k])
            stds.append(np.sqrt(np.einsum("ni,ij,nj->n", phi, self.covs_[k], phi) + self.noise_ ** 2))
        lw = self.log_weights_[keep] - np.logaddexp.reduce(self.log_weights_[keep])
        return GaussianMixture(torch.tensor(np.array(means), dtype=torch.float32),
                               torch.tensor(np.array(stds), dtype=torch.float32),
                               torch.tensor(lw, dtype=torch.float32))
