"""One-pass CPU kernels for the 1:2 and 2:4 ops, compiled with Numba (LLVM) and run on ``torch.get_num_threads()``.

The generic path (:mod:`kernels.nm_mask`, :mod:`kernels.mvue`) makes many passes over memory (magnitudes, ranks or
a sort, cumulative sums, uniforms, a finiteness check, an overflow check). For the two patterns that hardware runs,
every step is a function of one block's entries, so each kernel here is one loop over blocks that reads ``x`` once
and writes the result once, with everything else in registers:

* MSE mask 1:2 / 2:4: entry ``i`` is kept iff it beats the other entry (1:2) or at least 2 of the other 3 (2:4;
  6 comparisons, ties to the lower index); no sort, no ``topk``;
* exact MVUE 2:4: water-filling in closed form, ``p = 2|a|/S`` if ``2 max|a| <= S`` else
  ``p = min(1, |a|/(S - max|a|))``; MVUE 1:2: ``p = |a|/S``; then systematic sampling with one uniform per block,
  the counter-based hash of :mod:`kernels._random` computed in registers (same key, same block -> same uniform as
  the generic path's), never materialised;
* as on the generic path, a block's magnitudes are divided by their maximum when it lies outside
  :func:`kernels._blocks.safe_range`, so ``S`` can neither overflow nor underflow;
* the checks ride along: the kernel returns a flags word (:data:`kernels._blocks.NONFINITE_INPUT` if an entry of
  ``x`` is NaN or Inf, :data:`~kernels._blocks.NONFINITE_OUTPUT` if a kept value ``x_i / p_i`` overflowed), so
  neither ``x`` nor the output is read a second time.

Loops index with unsigned integers, so LLVM vectorises the interleaved (stride ``m``) loads and stores of the
block loop (AVX2 / AVX-512); the blocks are split into one contiguous range per thread (:mod:`kernels._numba`).
float32 and float64 (compute in the input's dtype, as the generic path); other dtypes, other patterns and small
tensors take the generic path. ``WORKBENCH_FUSED=0`` turns the path off (tests compare it with the generic path).
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from kernels import _numba
from kernels._blocks import NONFINITE_INPUT, NONFINITE_OUTPUT, safe_range

__all__ = ["fused_available", "nm_prune_blocks", "mvue_blocks", "MIN_NUMEL", "PATTERNS"]

MIN_NUMEL = 1 << 16  # below this the generic path's few-microsecond ops cost less than a thread-pool round trip
PATTERNS = {"mse": ((1, 2), (2, 4)), "exact": ((1, 2), (2, 4))}  # method -> (n, m) with a fused kernel
_DTYPES = (torch.float32, torch.float64)
_MIN_BLOCKS_PER_THREAD = 1 << 14


def fused_available(x: torch.Tensor, n: int, m: int, method: str) -> bool:
    """True when a fused kernel runs ``method`` (``"mse"`` for ``nm_prune``, ``"exact"`` / ``"approx"`` for
    ``mvue_prune``) at ``n:m`` on ``x``: a large float32/float64 CPU tensor, and :func:`kernels._numba.enabled`."""
    return (n, m) in PATTERNS.get(method, ()) and x.dtype in _DTYPES and x.numel() >= MIN_NUMEL and _numba.enabled(x)


def _run(kernel, blocks: torch.Tensor, *args) -> tuple[torch.Tensor, int]:
    """``kernel(lo, hi, x, out, *args) -> flags`` over ``blocks`` ``(B, m)``, one contiguous range of blocks per
    thread. Returns ``(out (B, m), flags OR-ed over the ranges)``."""
    blocks = blocks.contiguous()
    out = torch.empty_like(blocks)
    flags = _numba.run_ranges(kernel, blocks.shape[0], (blocks.view(-1).numpy(), out.view(-1).numpy(), *args),
                              _MIN_BLOCKS_PER_THREAD)
    return out, flags


def nm_prune_blocks(blocks: torch.Tensor, n: int, m: int) -> tuple[torch.Tensor, int]:
    """MSE 1:2 / 2:4 pruning of ``(B, m)`` blocks -> ``(pruned blocks, flags)``."""
    k = _kernels()
    return _run(k["prune12"] if m == 2 else k["prune24"], blocks)


def mvue_blocks(blocks: torch.Tensor, n: int, m: int, method: str, key: int) -> tuple[torch.Tensor, int]:
    """Exact MVUE 1:2 / 2:4 of ``(B, m)`` blocks with the uniforms of ``key`` -> ``(out blocks, flags)``."""
    if method != "exact":
        raise ValueError(f"method: the fused CPU kernels run 'exact', got {method!r}")
    k = _kernels()
    lo, hi = safe_range(blocks.dtype)
    consts = np.array([lo, hi, torch.finfo(blocks.dtype).tiny], dtype=np.float64)
    return _run(k["mvue12"] if m == 2 else k["mvue24"], blocks, np.uint64(key), consts)


@functools.cache
def _kernels() -> dict:
    """The Numba kernels, compiled on first use (importing numba costs ~0.3 s, so not at ``import kernels``)."""
    jit = _numba.jit()
    one, two, three, four = np.uint64(1), np.uint64(2), np.uint64(3), np.uint64(4)
    mask32, rounds = np.uint64(0xFFFFFFFF), (np.uint64(0x7FEB352D), np.uint64(0x31848BAB), np.uint64(0x2C1B3C6D))
    s8, s15, s16 = np.uint64(8), np.uint64(15), np.uint64(16)
    bad_in, bad_out = np.int64(NONFINITE_INPUT), np.int64(NONFINITE_OUTPUT)

    @jit
    def uniform(block, key, T):
        """``counter_uniforms`` of :mod:`kernels._random` for one block: 24 random bits in ``[0, 1)``."""
        h = (block & mask32) ^ key
        h = h ^ (h >> s16)
        h = (h * rounds[0]) & mask32
        h = h ^ (h >> s16)
        h = (h * rounds[1]) & mask32
        h = h ^ (h >> s16)
        h = (h * rounds[2]) & mask32
        h = h ^ (h >> s15)
        return T(h >> s8) * T(1.0 / 16777216)

    @jit
    def prune12(lo, hi, x, out):
        zero, inf = x.dtype.type(0), x.dtype.type(np.inf)
        finite = True
        for i in range(lo, hi):
            j = two * i
            x0, x1 = x[j], x[j + one]
            a0, a1 = abs(x0), abs(x1)
            keep0 = a0 >= a1
            out[j] = x0 if keep0 else zero
            out[j + one] = zero if keep0 else x1
            finite &= (a0 < inf) & (a1 < inf)  # False for NaN too (max() would drop a NaN)
        return np.int64(0) if finite else bad_in

    @jit
    def prune24(lo, hi, x, out):
        zero, inf = x.dtype.type(0), x.dtype.type(np.inf)
        finite = True
        for i in range(lo, hi):
            j = four * i
            x0, x1, x2, x3 = x[j], x[j + one], x[j + two], x[j + three]
            a0, a1, a2, a3 = abs(x0), abs(x1), abs(x2), abs(x3)
            c01, c02, c03 = a0 >= a1, a0 >= a2, a0 >= a3
            c12, c13, c23 = a1 >= a2, a1 >= a3, a2 >= a3
            out[j] = x0 if np.int32(c01) + np.int32(c02) + np.int32(c03) >= 2 else zero
            out[j + one] = x1 if np.int32(not c01) + np.int32(c12) + np.int32(c13) >= 2 else zero
            out[j + two] = x2 if np.int32(not c02) + np.int32(not c12) + np.int32(c23) >= 2 else zero
            out[j + three] = x3 if np.int32(not c03) + np.int32(not c13) + np.int32(not c23) >= 2 else zero
            finite &= (a0 < inf) & (a1 < inf) & (a2 < inf) & (a3 < inf)
        return np.int64(0) if finite else bad_in

    @jit
    def step(v, p, c, prev, u, n, tiny, zero):
        """One systematic-sampling step -> (output value, cumulative sum, tick)."""
        c = min(c + p, n)
        tick = np.ceil(c - u)
        return (v / max(p, tiny) if tick > prev else zero), c, tick

    @jit
    def mvue12(lo, hi, x, out, key, consts):
        T = x.dtype.type
        zero, one_f, inf = T(0), T(1), T(np.inf)
        safe_lo, safe_hi, tiny = T(consts[0]), T(consts[1]), T(consts[2])
        finite_in = finite_out = True
        for i in range(lo, hi):
            j = two * i
            x0, x1 = x[j], x[j + one]
            a0, a1 = abs(x0), abs(x1)
            top = max(a0, a1)
            finite_in &= (a0 < inf) & (a1 < inf)
            d = top if (top > safe_hi or top < safe_lo) and top > zero else one_f
            a0, a1 = a0 / d, a1 / d
            s = a0 + a1
            p0 = a0 / s if a0 > zero else zero
            p1 = a1 / s if a1 > zero else zero
            u = uniform(i, key, T)
            v0, c, prev = step(x0, p0, zero, np.ceil(-u), u, one_f, tiny, zero)
            v1, c, prev = step(x1, p1, c, prev, u, one_f, tiny, zero)
            out[j], out[j + one] = v0, v1
            finite_out &= (abs(v0) < inf) & (abs(v1) < inf)
        return (np.int64(0) if finite_in else bad_in) | (np.int64(0) if finite_out else bad_out)

    @jit
    def p24(a, s, top, capped, zero, one_f, two_f):
        p = two_f * a / s if capped else min(one_f, a / (s - top))
        return p if a > zero else zero

    @jit
    def mvue24(lo, hi, x, out, key, consts):
        T = x.dtype.type
        zero, one_f, two_f, inf = T(0), T(1), T(2), T(np.inf)
        safe_lo, safe_hi, tiny = T(consts[0]), T(consts[1]), T(consts[2])
        finite_in = finite_out = True
        for i in range(lo, hi):
            j = four * i
            x0, x1, x2, x3 = x[j], x[j + one], x[j + two], x[j + three]
            a0, a1, a2, a3 = abs(x0), abs(x1), abs(x2), abs(x3)
            top = max(max(a0, a1), max(a2, a3))
            finite_in &= (a0 < inf) & (a1 < inf) & (a2 < inf) & (a3 < inf)
            d = top if (top > safe_hi or top < safe_lo) and top > zero else one_f
            a0, a1, a2, a3, top = a0 / d, a1 / d, a2 / d, a3 / d, top / d
            s = a0 + a1 + a2 + a3
            capped = two_f * top <= s
            u = uniform(i, key, T)
            v0, c, prev = step(x0, p24(a0, s, top, capped, zero, one_f, two_f), zero, np.ceil(-u), u, two_f, tiny,
                               zero)
            v1, c, prev = step(x1, p24(a1, s, top, capped, zero, one_f, two_f), c, prev, u, two_f, tiny, zero)
            v2, c, prev = step(x2, p24(a2, s, top, capped, zero, one_f, two_f), c, prev, u, two_f, tiny, zero)
            v3, c, prev = step(x3, p24(a3, s, top, capped, zero, one_f, two_f), c, prev, u, two_f, tiny, zero)
            out[j], out[j + one], out[j + two], out[j + three] = v0, v1, v2, v3
            finite_out &= (abs(v0) < inf) & (abs(v1) < inf) & (abs(v2) < inf) & (abs(v3) < inf)
        return (np.int64(0) if finite_in else bad_in) | (np.int64(0) if finite_out else bad_out)

    return dict(prune12=prune12, prune24=prune24, mvue12=mvue12, mvue24=mvue24)
