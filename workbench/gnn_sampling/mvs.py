"""Minimal-variance sampling of the nodes of a mini-batch (Cong, Forsati, Kandemir, Mahdavi, KDD 2020, §4.2).

Each candidate node ``i`` (a training node) enters the batch independently with probability ``p_i``
(``ξ_i ~ Bernoulli(p_i)``, expected batch size ``Σ p_i = B``), and the mean gradient over the ``N`` candidates is
estimated by the importance-weighted sum

.. math::  \\hat g = \\sum_i \\frac{\\xi_i}{p_i N} g_i, \\qquad
           \\mathbb{E}\\,\\hat g = \\frac1N \\sum_i g_i, \\qquad
           \\mathbb{E}\\,\\|\\hat g - \\bar g\\|^2 = \\frac{1}{N^2} \\sum_i \\|g_i\\|^2 \\Big(\\frac1{p_i} - 1\\Big)

(the cross terms vanish: the draws are independent; a node with ``p_i = 0`` must have ``g_i = 0``). The
variance is smallest, for a given ``B``, at (Theorem 4.1) ``p_i = min(1, ‖g_i‖ / μ)`` with ``μ`` such that
``Σ p_i = B``: large gradients are always in the batch, the others in proportion to their norm. Uniform
sampling (``p_i = B / N``) is optimal only when every norm is the same.

Shapes: ``norms (N,)``, ``p (N,)``; a batch is a sorted ``(b,)`` int64 index into the candidates.
"""

from __future__ import annotations

import numbers

import torch

from workbench.checks import check_int
from workbench.gnn_sampling.graph import check_batch_size

__all__ = ["mvs_probabilities", "uniform_probabilities", "sampling_variance", "draw_batch", "importance_weights"]


def _check_norms(norms) -> torch.Tensor:
    if not isinstance(norms, torch.Tensor):
        raise TypeError(f"norms: expected a 1-D tensor of gradient norms, got {type(norms).__name__}")
    if norms.dim() != 1 or norms.numel() == 0 or not norms.is_floating_point():
        raise ValueError(f"norms: expected a non-empty 1-D float tensor, got shape {tuple(norms.shape)} and dtype "
                         f"{norms.dtype}")
    if not bool(torch.isfinite(norms).all()) or bool((norms < 0).any()):
        raise ValueError("norms: expected finite values >= 0 (gradient norms), got a negative value, a NaN or an "
                         "infinity")
    return norms.detach().to(torch.float64)


def mvs_probabilities(norms: torch.Tensor, batch_size: int) -> torch.Tensor:
    """The inclusion probabilities ``(N,)`` (float64) that minimise ``Σ ‖g_i‖² / p_i`` subject to ``Σ p_i = B``
    and ``0 < p_i ≤ 1``: ``p_i = min(1, ‖g_i‖ / μ)``.

    ``μ`` in closed form (the paper's Lemma 4.2, as a scan): with the norms sorted in decreasing order, the ``k``
    largest clipped to 1 leave ``μ_k = Σ_{j ≥ k} g_(j) / (B − k)`` for the rest; ``k`` is the smallest with
    ``g_(k) ≤ μ_k`` (at ``k = B − 1`` it always holds). Nodes with norm 0 contribute nothing to the variance:
    when fewer than ``B`` norms are positive, those nodes get 1 and the zero-norm nodes share the rest of the
    batch uniformly (any split of it is optimal; this one keeps every node's probability positive).
    """
    g = _check_norms(norms)
    n = len(g)
    B = check_batch_size(batch_size, n, "candidate nodes")
    positive = int((g > 0).sum())
    if positive < B:  # the positive ones all in, the zero ones share what is left
        rest = (B - positive) / (n - positive)
        return torch.where(g > 0, torch.ones_like(g), torch.full_like(g, rest))
    gs = g.sort(descending=True).values
    tail = gs.flip(0).cumsum(0).flip(0)  # tail[k] = Σ_{j ≥ k} g_(j)
    ks = torch.arange(B, dtype=torch.float64)
    mu = tail[:B] / (B - ks)
    k = int((gs[:B] <= mu).nonzero()[0, 0])
    return torch.clamp(g / mu[k], max=1.0)


def uniform_probabilities(n: int, batch_size: int) -> torch.Tensor:
    """``p_i = B / N`` for ``n`` candidates (float64): the sampler MVS is compared with."""
    n = check_int("n", n, 1)
    B = check_batch_size(batch_size, n, "candidate nodes")
    return torch.full((n,), B / n, dtype=torch.float64)


def sampling_variance(norms: torch.Tensor, p: torch.Tensor) -> float:
    """``E‖ĝ − ḡ‖² = Σ ‖g_i‖² (1/p_i − 1) / N²``: the variance of the importance-weighted mean gradient when node
    ``i`` is drawn with probability ``p_i`` (independently), for per-node gradient norms ``norms``."""
    g = _check_norms(norms)
    p = _check_probabilities(p, len(g))
    if bool(((p == 0) & (g > 0)).any()):
        raise ValueError("p: a node with a positive gradient norm has probability 0: it is never drawn, so the "
                         "estimate is biased (its variance is not defined)")
    terms = torch.where(g > 0, g ** 2 * (1 / p.clamp_min(1e-300) - 1), torch.zeros_like(g))
    return float(terms.sum() / len(g) ** 2)


def _check_probabilities(p, n: int) -> torch.Tensor:
    if not isinstance(p, torch.Tensor) or p.dim() != 1 or len(p) != n or not p.is_floating_point():
        raise ValueError(f"p: expected a 1-D float tensor of {n} probabilities, got "
                         f"{tuple(p.shape) if isinstance(p, torch.Tensor) else type(p).__name__}")
    if not bool(((p >= 0) & (p <= 1)).all()):
        raise ValueError("p: expected probabilities in [0, 1], got a value outside (or a NaN)")
    return p.detach().to(torch.float64)


def draw_batch(p: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """The candidates drawn independently with probabilities ``p``: a sorted int64 index (its length is random,
    ``B`` on average; it may be empty when ``B`` is small)."""
    p = _check_probabilities(p, len(p) if isinstance(p, torch.Tensor) and p.dim() == 1 else -1)
    return (torch.rand(len(p), generator=generator, dtype=torch.float64) < p).nonzero()[:, 0]


def importance_weights(p: torch.Tensor, batch: torch.Tensor, scale: numbers.Real | None = None) -> torch.Tensor:
    """``1 / (p_i N)`` for the nodes of ``batch``: weighting each drawn node's loss by it makes the batch's
    weighted sum an unbiased estimate of the mean loss (and gradient) over the ``N = len(p)`` candidates.
    ``scale`` replaces ``N`` (e.g. the number of training nodes when the candidates are a subset of them)."""
    p = _check_probabilities(p, len(p) if isinstance(p, torch.Tensor) and p.dim() == 1 else -1)
    if not isinstance(batch, torch.Tensor) or batch.dim() != 1 or batch.dtype != torch.int64:
        raise ValueError(f"batch: expected a 1-D int64 index, got {getattr(batch, 'dtype', type(batch).__name__)}")
    if len(batch) and (int(batch.min()) < 0 or int(batch.max()) >= len(p)):
        raise ValueError(f"batch: expected indices in 0..{len(p) - 1}, got {int(batch.min())}..{int(batch.max())}")
    n = len(p) if scale is None else scale
    if isinstance(n, bool) or not isinstance(n, numbers.Real) or not 0 < n < float("inf"):
        raise ValueError(f"scale: expected a positive number, got {scale!r}")
    return 1.0 / (p[batch] * n)
