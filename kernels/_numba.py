"""Shared plumbing of the Numba CPU kernels (:mod:`kernels._fused_cpu`, :mod:`kernels._lif_cpu`): whether they may
run, the jit options, and running a kernel over contiguous ranges of rows on ``torch.get_num_threads()`` threads.

The kernels are plain loops compiled by Numba (LLVM) with ``nogil=True``, so the ranges run in parallel on a small
thread pool (Numba's own ``parallel=True`` would need a thread-safe threading layer, which some installs lack, and
pages call kernels from several threads). Indices inside the kernels are unsigned: with a signed index Numba emits a
negative-index wraparound that stops LLVM from vectorising strided loads. Compiled once per signature and cached
on disk (``cache=True``). ``WORKBENCH_FUSED=0`` turns every Numba path off (tests compare with the PyTorch paths).
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

__all__ = ["numba_ok", "enabled", "jit", "run_ranges"]


@functools.cache
def numba_ok() -> bool:
    """Whether Numba is importable."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def enabled(x: torch.Tensor) -> bool:
    """True when a Numba kernel may run on ``x``: a CPU tensor, Numba installed, ``WORKBENCH_FUSED`` not ``0``, and
    not inside ``torch.compile`` tracing."""
    return (x.device.type == "cpu" and os.environ.get("WORKBENCH_FUSED", "1") != "0"
            and not torch.compiler.is_compiling() and numba_ok())


def jit(fn=None):
    """``numba.njit`` with the kernels' options: cached, GIL released, no bounds checks, IEEE float division
    (``error_model="numpy"``: x/0 is inf or NaN, never an exception)."""
    from numba import njit

    options = dict(cache=True, nogil=True, boundscheck=False, error_model="numpy")
    return njit(**options) if fn is None else njit(**options)(fn)


@functools.cache
def _pool(workers: int, pid: int) -> ThreadPoolExecutor:
    """A pool of ``workers`` threads for process ``pid`` (a forked child, whose copy of the parent's pool has no
    threads, gets its own)."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="workbench-kernels")


def run_ranges(kernel, rows: int, args: tuple, min_rows_per_thread: int) -> int:
    """``kernel(lo, hi, *args) -> int`` over ``[0, rows)`` split into one contiguous range per thread (at most
    ``torch.get_num_threads()``, each of at least ``min_rows_per_thread`` rows); returns the results OR-ed."""
    threads = max(1, min(torch.get_num_threads(), rows // max(1, min_rows_per_thread)))
    bounds = [rows * t // threads for t in range(threads + 1)]
    ranges = [(np.uint64(bounds[t]), np.uint64(bounds[t + 1])) for t in range(threads)]
    if threads == 1:
        return int(kernel(*ranges[0], *args))
    pool = _pool(threads - 1, os.getpid())
    futures = [pool.submit(kernel, lo, hi, *args) for lo, hi in ranges[1:]]
    flags = int(kernel(*ranges[0], *args))  # this thread takes the first range
    for f in futures:
        flags |= int(f.result())
    return flags
