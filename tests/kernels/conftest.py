"""Run the kernel tests on every backend: PyTorch, and Triton (interpreted on CPU, TRITON_INTERPRET=1)."""

import os

import pytest

# read when the Triton kernels are first built; CPU tensors need the interpreter
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
    monkeypatch.setenv("WORKBENCH_KERNELS", request.param)
    return request.param


@pytest.fixture
def requires(backend):
    """``requires(n, m, method)`` skips a Triton run of a pattern that has no Triton kernel."""

    def check(n, m, method=None):
        if backend == "triton" and not triton_supports(n, m, method):
            pytest.skip(f"no Triton kernel for {method or 'nm'} {n}:{m} (the torch path covers it)")

    return check
