import pytest
import torch

from kernels import mvue_prune, nm_prune
from kernels._backend import choose_backend


def test_auto_uses_torch_on_cpu(monkeypatch):
    monkeypatch.delenv("WORKBENCH_KERNELS", raising=False)
    assert choose_backend(torch.zeros(4), supported=True, what="op") == "torch"


def test_explicit_triton_that_cannot_run_raises(monkeypatch):
    monkeypatch.setenv("WORKBENCH_KERNELS", "triton")
    with pytest.raises(RuntimeError, match="no kernel for mvue_prune exact 3:8"):
        mvue_prune(torch.randn(4, 8), 3, 8)
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with pytest.raises(RuntimeError, match="CUDA device"):
        nm_prune(torch.randn(4, 8), 2, 4)


def test_bad_override(monkeypatch):
    monkeypatch.setenv("WORKBENCH_KERNELS", "cuda")
    with pytest.raises(ValueError, match="WORKBENCH_KERNELS"):
        nm_prune(torch.randn(4, 8), 2, 4)
