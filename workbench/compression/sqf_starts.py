"""Where :class:`~workbench.compression.sqf.SparseQuantizedFactorization`'s alternating descent starts: a pair
``(Z, C)``, ``C`` ``(k, L)`` and ``Z`` either dense ``(rows, k)`` or, from the starts that are sparse already
(k-means, the uniform grid, a given support), as its support ``(values, index)``, both ``(rows, s)``: a vector
quantizer's one-hot ``Z`` at 4,096 codewords is 1.6 GB on a 128 × 3,136 layer, its support 1.6 MB.

Restart ``r > 0`` of a start: an SVD start is rotated by a random orthogonal ``k × k`` matrix (the product is
unchanged, the sparse projection is not), a k-means start reseeded, a given start perturbed by 1 % of its spread."""

from __future__ import annotations

import math

import numpy as np
import torch

from workbench.compression.quantize import fit_scales

__all__ = ["given_start", "random_start", "svd_start", "uniform_grid_start", "residual_kmeans_start"]

Start = tuple  # (Z or (values, index), C)


def given_start(init: tuple, restart: bool, generator: torch.Generator) -> Start:
    """A start the caller gives: ``(Z, C)``, or ``(values, index, C)`` with each row's positions sorted."""
    if len(init) == 3:
        values, index, C = init[0].detach().float(), init[1], init[2].detach().float()
        index, order = index.sort(dim=1)
        values = values.gather(1, order)
        if restart:
            values = values + 0.01 * values.std(correction=0) * torch.randn(values.shape, generator=generator)
        return (values, index), C
    Z, C = (t.detach().float() for t in init)  # never written in place: no copy
    if restart:
        Z = Z + 0.01 * Z.std() * torch.randn(Z.shape, generator=generator)
    return Z, C


def random_start(M: torch.Tensor, k: int, generator: torch.Generator) -> Start:
    """Gaussian ``Z`` ``(rows, k)`` scaled by ``1/√k`` and its least-squares ``C``."""
    Z = torch.randn(M.shape[0], k, generator=generator) / math.sqrt(k)
    return Z, torch.linalg.lstsq(Z, M).solution


def svd_start(M: torch.Tensor, k: int, restart: bool, generator: torch.Generator) -> Start:
    """The truncated SVD split evenly, ``Z = U_k √S_k``, ``C = √S_k V_kᵀ`` (rotated on a restart)."""
    if k > min(M.shape):
        raise ValueError(f"init: 'svd' gives at most min(rows, row length) = {min(M.shape)} components, rank is "
                         f"{k}: use 'kmeans' (or 'auto') for an over-complete dictionary")
    U, S, Vh = torch.linalg.svd(M.double(), full_matrices=False)
    root = S[:k].sqrt()
    Z, C = (U[:, :k] * root).float(), (root[:, None] * Vh[:k]).float()
    if restart:
        R, _ = torch.linalg.qr(torch.randn(k, k, generator=generator, dtype=torch.float64))
        Z, C = (Z.double() @ R).float(), (R.T @ C.double()).float()
    return Z, C


def uniform_grid_start(M: torch.Tensor, k: int, nonzeros_per_row: int, channels: int, ones: bool) -> Start:
    """Scalar rows only: start at uniform quantization with ``2k`` levels and a scale per output channel
    (``C`` the magnitudes ``a + ½``, ``Z`` the sign times the channel's step): ``s = 1``, ``bits_z = 1`` make it
    exactly :class:`~workbench.compression.baselines.UniformQuantization` at ``1 + log2 k`` bits, which the
    descent then moves to a non-uniform grid."""
    if ones:
        raise ValueError("init: 'grid' starts signed values, it needs z_values='quantized', got 'ones'")
    if M.shape[1] != 1 or nonzeros_per_row != 1:
        raise ValueError(f"init: 'grid' needs scalar rows (row_length=1) and nonzeros_per_row=1, got rows of "
                         f"{M.shape[1]} and nonzeros_per_row={nonzeros_per_row}")
    bits = max(1, math.ceil(math.log2(k))) + 1
    per_channel = M.reshape(channels, -1)
    step = fit_scales(per_channel, bits, dim=0)[:, None].expand_as(per_channel).reshape(-1)
    safe = torch.where(step > 0, step, torch.ones_like(step))
    level = (torch.floor(M[:, 0] / safe).clamp(-k, k - 1) + 0.5)  # the uniform code's level
    atom = (level.abs() - 0.5).long()
    Z = ((torch.sign(level) * step)[:, None], atom[:, None])  # one non-zero per row, as its support
    return Z, (torch.arange(k, dtype=torch.float32) + 0.5)[:, None]


def residual_kmeans_start(M: torch.Tensor, k: int, s: int, signed: bool, seed: int) -> Start:
    """Residual vector quantization: ``s`` stages, stage ``j`` a k-means codebook of about ``k / s`` codewords
    on what the earlier stages left (scikit-learn, ``random_state = seed + 10 j``); ``Z`` picks one codeword per
    stage with weight ±1 (``s = 1``: k-means; the sign only when ``signed``, for quantized values:
    ``z_values="ones"`` has none), as its support (stage ``j``'s codewords follow the earlier stages', so each
    row's positions ascend)."""
    from sklearn.cluster import KMeans

    sizes = [k // s + (j < k % s) for j in range(s)]
    values = torch.zeros(M.shape[0], s)
    index = torch.zeros(M.shape[0], s, dtype=torch.long)
    C = torch.zeros(k, M.shape[1])
    residual, start = M.double().numpy().copy(), 0
    for j, size in enumerate(sizes):
        size_here = min(size, len(residual))
        # fold each row by the sign of its projection on the top direction: Z's sign codes the fold, so k
        # codewords act as 2k (the codebook ±C)
        if signed:
            top = np.linalg.svd(residual, full_matrices=False)[2][0]
            sign = np.where(residual @ top >= 0, 1.0, -1.0)
        else:
            sign = np.ones(len(residual))
        km = KMeans(size_here, n_init=1, random_state=seed + j).fit(residual * sign[:, None])
        labels = torch.as_tensor(km.labels_, dtype=torch.long)
        C[start:start + size_here] = torch.as_tensor(km.cluster_centers_, dtype=torch.float32)
        values[:, j], index[:, j] = torch.as_tensor(sign, dtype=torch.float32), start + labels
        residual = residual - sign[:, None] * km.cluster_centers_[km.labels_]
        start += size
    return (values, index), C
