"""Validation and the block view shared by every N:M op.

An N:M op looks at ``x`` as blocks of ``m`` consecutive entries along ``dim``. ``to_blocks`` moves
``dim`` last and reshapes to ``(num_blocks, m)``; ``from_blocks`` inverts it.
"""

from __future__ import annotations

import torch

APPROX_EPS = 1.19209e-07  # float32 machine epsilon, added to magnitudes by the approx 2:4 sampler (Hu et al.)

__all__ = ["APPROX_EPS", "check_types", "check_nm", "check_finite_flag", "to_blocks", "from_blocks"]


def check_types(x, n, m, dim) -> None:
    """``TypeError`` naming the argument unless ``x`` is a tensor and ``n``, ``m``, ``dim`` are ints."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
    for name, value in (("n", n), ("m", m), ("dim", dim)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name}: expected an int, got {type(value).__name__} {value!r}")


def check_nm(x: torch.Tensor, n: int, m: int, dim: int, *, check_finite: bool = True) -> int:
    """Validate the arguments of an N:M op; return ``dim`` normalised to a non-negative index.

    Raises ``TypeError`` for a non-tensor or non-float ``x`` and ``ValueError`` naming the
    argument for ``n < 1``, ``n >= m``, a ``dim`` out of range, ``x.shape[dim] % m != 0`` or
    NaN/Inf entries in ``x``.
    """
    check_types(x, n, m, dim)
    if not x.dtype.is_floating_point:
        raise TypeError(f"x: expected a floating-point tensor, got dtype {x.dtype}")
    if n < 1:
        raise ValueError(f"n: expected n >= 1, got n={n}")
    if n >= m:
        raise ValueError(f"n: expected n < m, got n={n}, m={m}")
    if x.dim() == 0:
        raise ValueError("x: expected at least one dimension, got a 0-d tensor")
    if not -x.dim() <= dim < x.dim():
        raise ValueError(f"dim: expected an index in [{-x.dim()}, {x.dim() - 1}], got {dim}")
    dim = dim % x.dim()
    if x.shape[dim] % m != 0:
        raise ValueError(
            f"x: size {x.shape[dim]} along dim={dim} is not a multiple of m={m} (shape {tuple(x.shape)})"
        )
    if check_finite and x.numel():
        check_finite_flag(x, torch.isfinite(x).all())  # one pass when all is well
    return dim


def check_finite_flag(x: torch.Tensor, all_finite: torch.Tensor) -> None:
    """Raise the NaN/Inf ``ValueError`` of :func:`check_nm` from a fused kernel's finiteness flag."""
    if not bool(all_finite):
        raise ValueError("x: contains NaN" if bool(torch.isnan(x).any()) else "x: contains Inf")


def to_blocks(x: torch.Tensor, m: int, dim: int) -> torch.Tensor:
    """View ``x`` as ``(num_blocks, m)`` blocks of consecutive entries along ``dim`` (copies if needed)."""
    return x.movedim(dim, -1).reshape(-1, m)


def from_blocks(blocks: torch.Tensor, like: torch.Tensor, dim: int) -> torch.Tensor:
    """Inverse of :func:`to_blocks`: reshape ``blocks`` to the shape of ``like``."""
    moved_shape = like.movedim(dim, -1).shape
    return blocks.reshape(moved_shape).movedim(-1, dim)
