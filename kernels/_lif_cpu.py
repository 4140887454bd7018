"""The forward time loop of :func:`kernels.lif` on CPU in one pass, compiled with Numba.

For each sequence ``b`` and step ``t``, over the ``H`` neurons (the inner loop, contiguous, vectorised):

    v = β u + (1 - β) I_t,     s_t = [v > ϑ],     u = v - ϑ s_t

the same float operations in the same order as the PyTorch path (``(1 - β) I_t`` first, then ``u β + that``;
no fused multiply-add), so the result is bit-for-bit the reference's. ``u`` (``H`` values) stays in cache; the
current is read once and the spikes and membrane written once. Sequences are split into one range per thread
(:mod:`kernels._numba`). float32 and float64.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from kernels import _numba

__all__ = ["available", "lif_forward"]

_DTYPES = (torch.float32, torch.float64)
_MIN_ENTRIES_PER_THREAD = 1 << 15  # below this a thread hand-off costs more than the work


def available(current: torch.Tensor) -> bool:
    """Whether :func:`lif_forward` runs ``current``: a float32/float64 CPU tensor and :func:`kernels._numba.enabled`."""
    return current.dtype in _DTYPES and _numba.enabled(current)


def lif_forward(current: torch.Tensor, beta: torch.Tensor, threshold: torch.Tensor):
    """``current`` contiguous ``(B, T, H)``; ``beta``, ``threshold`` contiguous ``(H,)``, same dtype ->
    ``(spikes, membrane)``, contiguous ``(B, T, H)``."""
    b, t, h = current.shape
    spikes, membrane = torch.empty_like(current), torch.empty_like(current)
    if b * t * h:
        one_minus_beta = (1 - beta).contiguous()  # as the PyTorch path: a tensor op in the dtype
        args = tuple(a.view(-1).numpy() for a in (current, beta, one_minus_beta, threshold, spikes, membrane))
        rows_per_thread = max(1, _MIN_ENTRIES_PER_THREAD // (t * h))
        _numba.run_ranges(_kernel(), b, (np.uint64(t), np.uint64(h), *args), rows_per_thread)
    return spikes, membrane


@functools.cache
def _kernel():
    jit = _numba.jit()

    @jit
    def forward(lo, hi, steps, width, current, beta, one_minus_beta, threshold, spikes, membrane):
        zero, unit = current.dtype.type(0), current.dtype.type(1)
        u = np.empty(width, current.dtype)
        for b in range(lo, hi):
            u[:] = zero
            base = b * steps * width
            for t in range(np.uint64(0), steps):
                row = base + t * width
                for j in range(np.uint64(0), width):
                    v = u[j] * beta[j] + current[row + j] * one_minus_beta[j]
                    fired = v > threshold[j]
                    membrane[row + j] = v
                    spikes[row + j] = unit if fired else zero
                    u[j] = v - threshold[j] if fired else v
        return 0

    return forward
