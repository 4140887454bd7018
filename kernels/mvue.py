"""Minimum-variance unbiased N:M pruning (MVUE), after Chmiel et al., ICLR 2023.

Unbiased stochastic pruning of a block :math:`a \\in \\mathbb{R}^m`: keep entry ``i`` with
inclusion probability :math:`p_i` (:math:`\\sum_i p_i = n`, at most ``n`` kept) and rescale it to
:math:`a_i / p_i` (Horvitz-Thompson), so :math:`E[\\theta(a)] = a` and

.. math::  \\mathrm{Var}(\\theta(a)_i) = a_i^2 (1/p_i - 1).

``method="exact"`` minimises the summed variance: :math:`p_i = \\min(1, \\lambda |a_i|)` with
:math:`\\lambda` set by water-filling so that :math:`\\sum p_i = n`; the mask is drawn by systematic
sampling (one uniform per block), which realises those marginals with exactly ``n`` kept entries
whenever the block has at least ``n`` non-zeros. For 1:2 this is the paper's MVUE 1:2: keep
:math:`a_i` with probability :math:`|a_i|/(|a_1|+|a_2|)` and output
:math:`\\mathrm{sign}(a_i)(|a_1|+|a_2|)`.

``method="approx"`` (2:4 only) is the cheaper sequential sampler: draw a first entry with
probability :math:`\\propto |a_i|`, then a second among the rest :math:`\\propto |a_j|`; its inclusion
probabilities are :math:`p_i = t_i + |a_i| \\sum_{j \\ne i} t_j / (S - |a_j|)` with
:math:`t = |a|/S`, :math:`S = \\sum |a|` (a small ``eps`` is added to every magnitude).

Shapes:
    x: any shape with ``x.shape[dim] % m == 0``; every output has the shape of ``x``.
"""

from __future__ import annotations

import torch

from kernels import _fused_cpu, _triton
from kernels._backend import choose_backend
from kernels._blocks import (
    APPROX_EPS, NONFINITE_OUTPUT, check_all_finite, check_nm, check_types, from_blocks, raise_on_flags, rescale_blocks,
    to_blocks,
)
from kernels._random import block_uniforms, draw_key

__all__ = ["mvue_prune", "mvue_probabilities", "mvue_variance"]

METHODS = ("exact", "approx")


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def _check_method(method: str, n: int, m: int) -> None:
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    if method == "approx" and (n, m) != (2, 4):
        raise ValueError(f"method: 'approx' is the sequential 2:4 sampler, got n={n}, m={m}; use method='exact'")


def _exact_probabilities(mag: torch.Tensor, n: int) -> torch.Tensor:
    """Water-filling inclusion probabilities ``min(1, lambda*|a|)`` with ``sum = n`` per block.

    ``mag``: ``(B, m)`` non-negative. Capping the ``k`` largest entries at 1 gives
    ``lambda_k = (n - k) / sum(sorted[k:])``; the right ``k`` is the smallest one whose next entry
    stays below 1. Blocks with fewer than ``n`` non-zeros keep all of them (``p = 1``).
    """
    s, _ = mag.sort(dim=-1, descending=True)
    tail = s.flip(-1).cumsum(-1).flip(-1)[:, :n]  # tail[:, k] = sum of s[:, k:]
    need = torch.arange(n, 0, -1, device=mag.device, dtype=mag.dtype)  # n - k
    lam = need / tail  # inf where the tail is all zero
    ok = (lam * s[:, :n] <= 1) | (tail == 0)
    k = ok.to(torch.int8).argmax(dim=-1, keepdim=True)  # first k that fits
    lam = lam.gather(-1, k)
    return torch.where(mag > 0, (lam * mag).clamp(max=1.0), torch.zeros((), dtype=mag.dtype, device=mag.device))


def _approx_probabilities(mag: torch.Tensor) -> torch.Tensor:
    """Inclusion probabilities of the sequential 2:4 sampler (``mag`` already has ``eps`` added)."""
    total = mag.sum(-1, keepdim=True)
    t = mag / total
    ratio = t / (total - mag)
    rest = ratio.sum(-1, keepdim=True) - ratio
    return (t + mag * rest).clamp(max=1.0)


def _systematic_keep(p: torch.Tensor, n: int, u: torch.Tensor) -> torch.Tensor:
    """Systematic sampling: keep ``i`` iff a point ``u + j`` (``j = 0..n-1``) falls in ``[c_{i-1}, c_i)``.

    ``p``: ``(B, m)`` probabilities in ``[0, 1]``; ``u``: ``(B, 1)`` uniforms in ``[0, 1)``.
    ``P(keep_i) = p_i`` exactly, and at most ``n`` entries are kept.
    """
    c = p.cumsum(-1).clamp(max=n)
    c = torch.cat([torch.zeros_like(c[:, :1]), c], dim=-1)
    ticks = torch.ceil(c - u)
    return ticks[:, 1:] > ticks[:, :-1]


def _approx_keep(mag: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Sequential 2-of-4 draw proportional to ``mag`` (``|a| + eps``, any per-block scale) without
    replacement; ``u``: ``(B, 2)``."""
    m = mag.shape[-1]
    total = mag.sum(-1, keepdim=True)
    first = (mag.cumsum(-1) < u[:, :1] * total).sum(-1, keepdim=True).clamp(max=m - 1)
    rest = mag.scatter(-1, first, 0.0)
    second = (rest.cumsum(-1) < u[:, 1:] * rest.sum(-1, keepdim=True)).sum(-1, keepdim=True).clamp(max=m - 1)
    # rounding can push the draw past the end onto `first`; take the largest remaining entry then
    second = torch.where(second == first, rest.argmax(-1, keepdim=True), second)
    keep = torch.zeros(mag.shape, dtype=torch.bool, device=mag.device)
    keep.scatter_(-1, first, True)
    keep.scatter_(-1, second, True)
    return keep


def _sampling_weights(blocks: torch.Tensor, method: str) -> torch.Tensor:
    """The ``(B, m)`` weights the keep probabilities are a scale-invariant function of: ``|a|``
    (exact) or ``|a| + eps`` (approx), rescaled per block by :func:`rescale_blocks` so that sums of
    huge (or tiny) magnitudes neither overflow nor underflow."""
    mag = blocks.to(_compute_dtype(blocks.dtype)).abs()
    return rescale_blocks(mag if method == "exact" else mag + APPROX_EPS)


def _probabilities(w: torch.Tensor, n: int, method: str) -> torch.Tensor:
    return _exact_probabilities(w, n) if method == "exact" else _approx_probabilities(w)


def _block_probabilities(blocks: torch.Tensor, n: int, method: str) -> torch.Tensor:
    return _probabilities(_sampling_weights(blocks, method), n, method)


def _check_representable(x: torch.Tensor, out: torch.Tensor) -> None:
    """``ValueError`` naming ``x`` if a kept value ``x_i / p_i`` overflowed ``x``'s dtype (``x`` is finite).

    A kept value is at most the block's magnitude sum, e.g. ``[3e38] * 4`` (float32) keeps two
    entries of ``6e38``: unbiased output of that block is not representable, so no answer is given.
    The fused kernels report this in their flags instead of a second pass over ``out``.
    """
    raise_on_flags(x, 0 if bool(torch.isfinite(out).all()) else NONFINITE_OUTPUT)


def mvue_probabilities(x: torch.Tensor, n: int, m: int, dim: int = -1, *, method: str = "exact") -> torch.Tensor:
    """Inclusion probability of every entry under :func:`mvue_prune` (float32, or float64 for float64 ``x``).

    Sums to ``n`` over each block that has at least ``n`` non-zeros.
    """
    dim = check_nm(x, n, m, dim)
    _check_method(method, n, m)
    return from_blocks(_block_probabilities(to_blocks(x, m, dim), n, method), x, dim)


def mvue_variance(x: torch.Tensor, n: int, m: int, dim: int = -1, *, method: str = "exact") -> torch.Tensor:
    """Exact per-entry variance :math:`x_i^2 (1/p_i - 1)` of :func:`mvue_prune` (0 where ``x_i = 0`` or ``p_i = 1``:
    an entry that is always kept has no variance, even when :math:`x_i^2` overflows)."""
    p = mvue_probabilities(x, n, m, dim, method=method)
    xc = x.to(p.dtype)
    random = (xc != 0) & (p < 1)
    return torch.where(random, xc.square() * (1.0 / p.clamp_min(torch.finfo(p.dtype).tiny) - 1.0), torch.zeros_like(p))


@torch.library.custom_op("workbench::mvue_prune", mutates_args=())
def _mvue_prune_op(x: torch.Tensor, n: int, m: int, dim: int, method: str, key: int) -> torch.Tensor:
    dim = check_nm(x, n, m, dim, check_finite=False)
    _check_method(method, n, m)
    supported = method == "approx" or (n, m) in ((1, 2), (2, 4))
    triton = choose_backend(x, supported=supported, what=f"mvue_prune {method} {n}:{m}") == "triton"
    fused = not triton and _fused_cpu.fused_available(x, n, m, method)
    if not (triton or fused):  # the Triton and fused CPU kernels check x (and their output) as they go: one pass
        check_all_finite(x)
    blocks = to_blocks(x, m, dim)
    if triton or fused:
        kernel = _triton.mvue_blocks if triton else _fused_cpu.mvue_blocks
        out, flags = kernel(blocks, n, m, method, key)
        raise_on_flags(x, flags)
    else:
        out = mvue_blocks_generic(blocks, n, method, key)
        _check_representable(x, out)
    return from_blocks(out, x, dim).contiguous()


def mvue_blocks_generic(blocks: torch.Tensor, n: int, method: str, key: int) -> torch.Tensor:
    """The vectorized PyTorch path on ``(B, m)`` blocks: sort-based water-filling (or the approx
    probabilities), then systematic (or sequential) sampling with the uniforms of ``key``."""
    cdtype = _compute_dtype(blocks.dtype)
    u = block_uniforms(key, blocks.shape[0], 1 if method == "exact" else 2, blocks.device, cdtype)
    w = _sampling_weights(blocks, method)
    p = _probabilities(w, n, method)
    keep = _systematic_keep(p, n, u) if method == "exact" else _approx_keep(w, u)
    values = blocks.to(cdtype) / p.clamp_min(torch.finfo(cdtype).tiny)
    return torch.where(keep, values, torch.zeros((), dtype=cdtype, device=blocks.device)).to(blocks.dtype)


@_mvue_prune_op.register_fake
def _(x, n, m, dim, method, key):
    return torch.empty_like(x, memory_format=torch.contiguous_format)


def mvue_prune(
    x: torch.Tensor,
    n: int,
    m: int,
    dim: int = -1,
    *,
    method: str = "exact",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Unbiased N:M pruning with minimum variance (``method="exact"``) or the sequential 2:4 sampler.

    Args:
        x: floating tensor; ``x.shape[dim]`` must be a multiple of ``m``.
        n, m: keep at most ``n`` of every ``m`` consecutive entries along ``dim`` (``1 <= n < m``).
        method: ``"exact"`` (water-filling + systematic sampling, any ``n:m``) or ``"approx"`` (2:4).
        generator: draws one key per call; the per-block uniforms are a counter-based hash of
            (key, block index) (:mod:`kernels._random`), so results repeat exactly for the same
            generator state, whichever path (generic or fused) runs.

    Returns:
        Tensor of ``x``'s shape and dtype with ``E[out] = x``; kept entries are ``x_i / p_i``.
    """
    check_types(x, n, m, dim)
    if not isinstance(method, str):
        raise TypeError(f"method: expected a str, got {type(method).__name__}")
    return _mvue_prune_op(x, n, m, dim, method, draw_key(generator, x.device))
