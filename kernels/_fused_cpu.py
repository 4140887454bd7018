"""Fused CPU formulations of the 1:2 and 2:4 ops, compiled with ``torch.compile`` (Inductor, C++).

The generic path (:mod:`kernels.nm_mask`, :mod:`kernels.mvue`) makes many passes over memory. For the
two patterns that hardware runs, every step is an elementwise function of the block's entries, so
Inductor fuses it into one loop that reads ``x`` once and writes the result once:

* 2:4 MSE mask: entry ``i`` is kept iff it beats at least 2 of the other 3 (6 comparisons, ties to
  the lower index), no sort, no ``topk``;
* MVUE 2:4: water-filling in closed form, ``p = 2|a|/S`` if ``2 max|a| <= S`` else
  ``p = min(1, |a|/(S - max|a|))``, then systematic sampling with one uniform per block;
* MVUE 1:2: ``p = |a|/S``.

As on the generic path, each block's magnitudes are first divided by their maximum when it lies
outside :func:`kernels._blocks.safe_range` (so ``S`` cannot overflow or underflow).

The uniforms come from the same counter-based hash as the generic path (:mod:`kernels._random`),
computed inside the fused loop; the NaN/Inf check is fused in too.
Used for large CPU tensors (compiling costs seconds once per process and shape class);
small tensors take the generic path. Results equal the generic path's (tested).
"""

from __future__ import annotations

import functools
import os

import torch

from kernels._blocks import rescale_blocks
from kernels._random import counter_uniforms

__all__ = ["fused_available", "prune24", "mvue24", "mvue12", "MIN_NUMEL"]

MIN_NUMEL = 1 << 20  # below this, eager generic code is faster than a compiled call's overhead


def fused_available(x: torch.Tensor) -> bool:
    """True when the fused path applies: a large CPU tensor and compilation not disabled."""
    return (
        x.device.type == "cpu"
        and x.numel() >= MIN_NUMEL
        and os.environ.get("WORKBENCH_FUSED", "1") != "0"
        and not torch.compiler.is_compiling()
    )


def _compiled(fn):
    compiled = functools.lru_cache(maxsize=None)(lambda: torch.compile(fn, dynamic=True))
    return lambda *args: compiled()(*args)


def _keep24(a0, a1, a2, a3):
    c01, c02, c03 = a0 >= a1, a0 >= a2, a0 >= a3
    c12, c13, c23 = a1 >= a2, a1 >= a3, a2 >= a3
    k0 = (c01.to(torch.int8) + c02 + c03) >= 2
    k1 = ((~c01).to(torch.int8) + c12 + c13) >= 2
    k2 = ((~c02).to(torch.int8) + ~c12 + c23) >= 2
    k3 = ((~c03).to(torch.int8) + ~c13 + ~c23) >= 2
    return k0, k1, k2, k3


def _prune24(blocks: torch.Tensor):
    """``blocks``: ``(B, 4)`` -> (the 2:4 MSE-pruned blocks, whether every entry is finite)."""
    a = blocks.abs()
    keep = torch.stack(_keep24(a[:, 0], a[:, 1], a[:, 2], a[:, 3]), dim=-1)
    return torch.where(keep, blocks, torch.zeros((), dtype=blocks.dtype)), torch.isfinite(blocks).all()


def _systematic(p: torch.Tensor, blocks: torch.Tensor, u: torch.Tensor, n: int) -> torch.Tensor:
    """Systematic sampling unrolled over the (2 or 4) columns, so Inductor emits one loop."""
    values = blocks.to(p.dtype) / p.clamp_min(torch.finfo(p.dtype).tiny)
    zero = torch.zeros((), dtype=p.dtype)
    c = torch.zeros_like(u)
    prev = torch.ceil(-u)
    out = []
    for i in range(p.shape[-1]):
        c = (c + p[:, i : i + 1]).clamp(max=n)
        tick = torch.ceil(c - u)
        out.append(torch.where(tick > prev, values[:, i : i + 1], zero))
        prev = tick
    return torch.cat(out, dim=-1).to(blocks.dtype)


def _uniforms(key: torch.Tensor, num_blocks: int, dtype: torch.dtype) -> torch.Tensor:
    return counter_uniforms(torch.arange(num_blocks, dtype=torch.int64), key, dtype).unsqueeze(-1)


def _mvue24(blocks: torch.Tensor, key: torch.Tensor, dtype: torch.dtype):
    """``blocks``: ``(B, 4)``, ``key``: 0-d int64 -> (exact MVUE 2:4 blocks, all finite)."""
    u = _uniforms(key, blocks.shape[0], dtype)
    a = rescale_blocks(blocks.to(dtype).abs())  # p is scale-invariant; no overflow of s
    s = a.sum(-1, keepdim=True)
    top = a.amax(-1, keepdim=True)
    p = torch.where(2 * top <= s, 2 * a / s, (a / (s - top)).clamp(max=1.0))
    p = torch.where(a > 0, p, torch.zeros((), dtype=u.dtype))
    return _systematic(p, blocks, u, 2), torch.isfinite(blocks).all()


def _mvue12(blocks: torch.Tensor, key: torch.Tensor, dtype: torch.dtype):
    """``blocks``: ``(B, 2)`` -> (MVUE 1:2: keep ``a_i`` w.p. ``|a_i|/S``, output ``sign(a_i) S``; all finite)."""
    u = _uniforms(key, blocks.shape[0], dtype)
    a = rescale_blocks(blocks.to(dtype).abs())
    p = torch.where(a > 0, a / a.sum(-1, keepdim=True), torch.zeros((), dtype=u.dtype))
    return _systematic(p, blocks, u, 1), torch.isfinite(blocks).all()


prune24 = _compiled(_prune24)
mvue24 = _compiled(_mvue24)
mvue12 = _compiled(_mvue12)
