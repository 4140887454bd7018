"""The α-energy data term (black-box α-divergence minimisation, as in SIP and AADM).

For point ``n`` with ``S`` samples ``f_n^s`` of the approximate posterior's function value and Gaussian noise
``σ²``:

    L_n(α) = (1/α) log( (1/S) Σ_s N(y_n | f_n^s, σ²)^α ).

As ``α → 0`` it tends to ``(1/S) Σ_s log N(y_n | f_n^s, σ²)`` (the expected log-likelihood of variational
inference); ``α = 1`` is the log of the Monte Carlo predictive likelihood. Between, it interpolates between
mode-seeking (VI) and mass-covering (EP-like) fits.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from workbench.checks import check_real

__all__ = ["alpha_energy", "gaussian_log_density", "check_alpha"]


def check_alpha(alpha) -> float:
    """α in (0, 1]."""
    return check_real("alpha", alpha, 0.0, 1.0)


def gaussian_log_density(y: Tensor, mean: Tensor, log_var: Tensor) -> Tensor:
    """``log N(y | mean, exp(log_var))`` elementwise (broadcasting)."""
    return -0.5 * (math.log(2 * math.pi) + log_var + (y - mean).pow(2) / log_var.exp())


def alpha_energy(f: Tensor, y: Tensor, log_noise_var: Tensor, alpha: float) -> Tensor:
    """``L_n(α)`` for every point: ``f (S, N)``, ``y (N,)``, ``log_noise_var`` scalar -> ``(N,)``."""
    alpha = check_alpha(alpha)
    if f.ndim != 2 or y.ndim != 1 or f.shape[1] != y.shape[0]:
        raise ValueError(f"f, y: expected (S, N) and (N,), got {tuple(f.shape)} and {tuple(y.shape)}")
    log_lik = gaussian_log_density(y, f, log_noise_var)  # (S, N)
    return (torch.logsumexp(alpha * log_lik, dim=0) - math.log(f.shape[0])) / alpha
