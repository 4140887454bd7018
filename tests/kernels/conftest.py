"""Run the kernel tests on every backend: PyTorch, and Triton (interpreted on CPU, TRITON_INTERPRET=1).

On a machine with a CUDA GPU the Triton kernels are compiled for it instead (the interpreter is read
once, when the kernels are first built, so one process runs one or the other): the CPU-tensor tests
then skip their Triton run, and ``test_cuda.py`` checks the compiled kernels against the PyTorch path.
"""

import os

import pytest
import torch

HAS_CUDA = torch.cuda.is_available()
if not HAS_CUDA:
    os.environ.setdefault("TRITON_INTERPRET", "1")


def triton_supports(n: int, m: int, method: str | None = None) -> bool:
    """Patterns the Triton path has kernels for (nm_prune: m <= 8; mvue: exact 1:2, 2:4, approx 2:4)."""
    if method is None:
        return m <= 8
    return method == "approx" or (n, m) in ((1, 2), (2, 4))


@pytest.fixture(params=["torch", "triton"])
def backend(request, monkeypatch):
    if request.param == "triton":
        from kernels import _triton

        if not _triton.available():
            pytest.skip("triton is not installed")
        if os.environ.get("TRITON_INTERPRET") != "1":
            pytest.skip("Triton is compiled for the GPU in this run; test_cuda.py checks it on CUDA tensors")
    monkeypatch.setenv("WORKBENCH_KERNELS", request.param)
    return request.param


@pytest.fixture
def requires(backend):
    """``requires(n, m, method)`` skips a Triton run of a pattern that has no Triton kernel."""

    def check(n, m, method=None):
        if backend == "triton" and not triton_supports(n, m, method):
            pytest.skip(f"no Triton kernel for {method or 'nm'} {n}:{m} (the torch path covers it)")

    return check


@pytest.fixture
def generic(monkeypatch):
    """``generic(fn, *args, **kwargs)``: ``fn`` with the Numba CPU kernels turned off (``WORKBENCH_FUSED=0``), so
    that the PyTorch path runs: the oracle the one-pass kernels are compared with."""
    def run(fn, *args, **kwargs):
        monkeypatch.setenv("WORKBENCH_FUSED", "0")
        try:
            return fn(*args, **kwargs)
        finally:
            monkeypatch.setenv("WORKBENCH_FUSED", "1")

    return run
