"""The sparse approximation of an implicit process: Gaussian moments estimated from prior samples, and the
Gaussian conditional ``p(f_x | u)`` of the function at inputs ``x`` given its values ``u`` at inducing points ``Z``.

With ``S`` joint prior samples ``F_x`` ``(S, N)`` and ``F_z`` ``(S, M)``:

    m_x = mean_s F_x,   Δ_x = F_x − m_x,   K_xz = Δ_xᵀ Δ_z / (S − 1)   (unbiased), likewise K_zz, diag K_xx;
    p(f_x | u) ≈ N(m_x + K_xz K_zz⁻¹ (u − m_z),  diag(K_xx − K_xz K_zz⁻¹ K_zx)),

with ``K_zz + jitter·I = L Lᵀ`` (Cholesky; jitter 1e-5 as the released code, raised tenfold while it fails:
:func:`jittered_cholesky`). For a GP prior and ``S → ∞`` this is
the exact GP conditional, which the tests check.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from workbench.checks import check_real

__all__ = ["Moments", "empirical_moments", "conditional", "initial_inducing_index", "jittered_cholesky", "JITTER",
           "MIN_VARIANCE"]

JITTER = 1e-5
MIN_VARIANCE = 1e-10
JITTER_TRIES = 6  # jitter, then 10×, 100×, … (times the mean variance when above 1) before giving up


def jittered_cholesky(a: Tensor, jitter: float, name: str = "a") -> Tensor:
    """``L`` with ``L Lᵀ = a + j·I`` for the first ``j`` of ``jitter · 10^t``, ``t = 0 … 5``, that factorizes
    (the later tries scaled by the mean of ``a``'s diagonal when it is above 1), as GPyTorch's ``psd_safe_cholesky``
    does. A smooth kernel on a fine grid, or covariances estimated from fewer samples than points, are positive
    definite only up to round-off: in float32 ``jitter`` alone can fail. ``ValueError`` naming ``name`` when no
    try succeeds (e.g. NaN entries)."""
    eye = torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
    scale = max(1.0, float(a.detach().diagonal().mean())) if a.numel() else 1.0
    for t in range(JITTER_TRIES):
        j = jitter if t == 0 else max(jitter, 1e-8) * 10 ** t * scale
        chol, info = torch.linalg.cholesky_ex(a + j * eye)
        if int(info) == 0:
            return chol
    raise ValueError(f"{name}: expected a positive semi-definite matrix, got one whose Cholesky factorization fails "
                     f"even with {j:.3g} added to its diagonal (entries from {float(a.min()):.3g} to "
                     f"{float(a.max()):.3g})")


@dataclass
class Moments:
    """Empirical moments of ``[f(X), f(Z)]``: ``mean_x (N,)``, ``mean_z (M,)``, ``var_x (N,)`` (diagonal of
    ``K_xx``), ``cov_xz (N, M)``, ``cov_zz (M, M)``."""

    mean_x: Tensor
    mean_z: Tensor
    var_x: Tensor
    cov_xz: Tensor
    cov_zz: Tensor


def empirical_moments(f_x: Tensor, f_z: Tensor) -> Moments:
    """Moments from joint samples ``f_x (S, N)`` and ``f_z (S, M)`` (same ``S``, ``S >= 2``)."""
    if f_x.ndim != 2 or f_z.ndim != 2 or f_x.shape[0] != f_z.shape[0]:
        raise ValueError(f"f_x, f_z: expected (S, N) and (S, M) with the same S, got {tuple(f_x.shape)} and "
                         f"{tuple(f_z.shape)}")
    s = f_x.shape[0]
    if s < 2:
        raise ValueError(f"f_x: expected at least 2 samples to estimate a covariance, got {s}")
    mean_x, mean_z = f_x.mean(0), f_z.mean(0)
    dx, dz = f_x - mean_x, f_z - mean_z
    return Moments(mean_x, mean_z, dx.pow(2).sum(0) / (s - 1), dx.T @ dz / (s - 1), dz.T @ dz / (s - 1))


def conditional(moments: Moments, u: Tensor, jitter: float = JITTER) -> tuple[Tensor, Tensor]:
    """The Gaussian conditional ``p(f_x | u)`` for each row of ``u`` ``(Q, M)``: means ``(Q, N)`` and the shared
    marginal variances ``(N,)`` (clamped at :data:`MIN_VARIANCE`: estimated covariances can give tiny negative
    values, and a square root at 0 would have an infinite gradient)."""
    jitter = check_real("jitter", jitter, 0.0, low_open=False)
    m = moments.cov_zz.shape[0]
    if u.ndim != 2 or u.shape[1] != m:
        raise ValueError(f"u: expected shape (Q, {m}), got {tuple(u.shape)}")
    chol = jittered_cholesky(moments.cov_zz, jitter, "cov_zz")
    d = torch.linalg.solve_triangular(chol, moments.cov_xz.T, upper=False)  # L⁻¹ K_zx  (M, N)
    # K_xz K_zz⁻¹ (u − m_z)ᵀ = Dᵀ L⁻¹ (u − m_z)ᵀ
    w = torch.linalg.solve_triangular(chol, (u - moments.mean_z).T, upper=False)  # (M, Q)
    mean = moments.mean_x + (d.T @ w).T
    var = (moments.var_x - d.pow(2).sum(0)).clamp_min(MIN_VARIANCE)
    return mean, var


def initial_inducing_index(n: int, m: int, generator: torch.Generator) -> Tensor:
    """Which of ``n`` training inputs the ``m`` inducing inputs start at: ``m`` distinct ones at random, or with
    repeats when ``m > n`` (as the released code)."""
    if m <= n:
        return torch.randperm(n, generator=generator)[:m]
    return torch.randint(n, (m,), generator=generator)
