"""Backend dispatch: the PyTorch path everywhere, the Triton path on CUDA devices.

``WORKBENCH_KERNELS`` overrides the choice: ``torch``, ``triton`` or ``auto`` (default). An explicit
``triton`` that cannot run raises ``RuntimeError`` saying why; ``auto`` falls back to PyTorch
silently. On CPU, Triton runs only under its interpreter (``TRITON_INTERPRET=1``), for tests.
"""

from __future__ import annotations

import os

import torch

from kernels import _triton

__all__ = ["choose_backend", "BACKENDS"]

BACKENDS = ("auto", "torch", "triton")


def _requested() -> str:
    choice = os.environ.get("WORKBENCH_KERNELS", "auto").strip().lower() or "auto"
    if choice not in BACKENDS:
        raise ValueError(f"WORKBENCH_KERNELS: expected one of {BACKENDS}, got {choice!r}")
    return choice


def _triton_blocker(x: torch.Tensor, supported: bool, what: str) -> str | None:
    """Why Triton cannot run this call, or ``None`` when it can."""
    if not supported:
        return f"the Triton path has no kernel for {what}"
    if not _triton.available():
        return "triton is not installed (pip install triton)"
    if x.device.type == "cuda":
        return None
    if x.device.type == "cpu" and os.environ.get("TRITON_INTERPRET") == "1":
        return None
    return f"tensor is on {x.device.type}; Triton needs a CUDA device (or TRITON_INTERPRET=1 on CPU)"


def choose_backend(x: torch.Tensor, *, supported: bool, what: str) -> str:
    """``"torch"`` or ``"triton"`` for an op on ``x``; ``supported`` says whether Triton has the kernel."""
    choice = _requested()
    if choice == "torch":
        return "torch"
    blocker = _triton_blocker(x, supported, what)
    if choice == "triton":
        if blocker:
            raise RuntimeError(f"WORKBENCH_KERNELS=triton cannot run {what}: {blocker}")
        return "triton"
    return "triton" if blocker is None and x.device.type == "cuda" else "torch"
