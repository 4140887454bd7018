"""Validation and the block view shared by every N:M op.

An N:M op looks at ``x`` as blocks of ``m`` consecutive entries along ``dim``. ``to_blocks`` moves
``dim`` last and reshapes to ``(num_blocks, m)``; ``from_blocks`` inverts it.
"""

from __future__ import annotations

import torch

APPROX_EPS = 1.19209e-07  # float32 machine epsilon, added to magnitudes by the approx 2:4 sampler (Hu et al.)

__all__ = ["APPROX_EPS", "NONFINITE_INPUT", "NONFINITE_OUTPUT", "check_types", "check_pattern", "check_dim", "check_nm",
           "check_all_finite", "check_finite_flag", "raise_on_flags", "safe_range", "rescale_blocks", "to_blocks",
           "from_blocks"]

# Bits of the flags word a fused kernel (CPU or Triton) returns with its result, so that neither the input nor the
# output needs a second pass to be checked: bit 0, some input entry is NaN or Inf; bit 1, some output entry is not
# finite (an unbiased kept value x_i / p_i overflowed the dtype).
NONFINITE_INPUT = 1
NONFINITE_OUTPUT = 2


def check_types(x, n, m, dim) -> None:
    """``TypeError`` naming the argument unless ``x`` is a tensor and ``n``, ``m``, ``dim`` are ints."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
    for name, value in (("n", n), ("m", m), ("dim", dim)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name}: expected an int, got {type(value).__name__} {value!r}")


def check_pattern(n: int, m: int) -> None:
    """``ValueError`` naming the argument unless ``1 <= n < m`` (ints already checked)."""
    if n < 1:
        raise ValueError(f"n: expected n >= 1, got n={n}")
    if n >= m:
        raise ValueError(f"n: expected n < m, got n={n}, m={m}")


def check_dim(dim: int, ndim: int) -> int:
    """``dim`` normalised to ``[0, ndim)``; ``ValueError`` naming ``dim`` when out of range."""
    if not -ndim <= dim < ndim:
        raise ValueError(f"dim: expected an index in [{-ndim}, {ndim - 1}], got {dim}")
    return dim % ndim


def check_nm(x: torch.Tensor, n: int, m: int, dim: int, *, check_finite: bool = True) -> int:
    """Validate the arguments of an N:M op; return ``dim`` normalised to a non-negative index.

    Raises ``TypeError`` for a non-tensor or non-float ``x`` and ``ValueError`` naming the
    argument for ``n < 1``, ``n >= m``, a ``dim`` out of range, ``x.shape[dim] % m != 0`` or
    NaN/Inf entries in ``x``.
    """
    check_types(x, n, m, dim)
    if not x.dtype.is_floating_point:
        raise TypeError(f"x: expected a floating-point tensor, got dtype {x.dtype}")
    check_pattern(n, m)
    if x.dim() == 0:
        raise ValueError("x: expected at least one dimension, got a 0-d tensor")
    dim = check_dim(dim, x.dim())
    if x.shape[dim] % m != 0:
        raise ValueError(
            f"x: size {x.shape[dim]} along dim={dim} is not a multiple of m={m} (shape {tuple(x.shape)})"
        )
    if check_finite:
        check_all_finite(x)
    return dim


def check_all_finite(x: torch.Tensor) -> None:
    """``ValueError`` naming ``x`` if it holds a NaN or an Inf (one pass over ``x`` when all is well)."""
    if x.numel():
        check_finite_flag(x, torch.isfinite(x).all())


def check_finite_flag(x: torch.Tensor, all_finite: torch.Tensor) -> None:
    """Raise the NaN/Inf ``ValueError`` of :func:`check_nm` from a fused kernel's finiteness flag."""
    if not bool(all_finite):
        raise ValueError("x: contains NaN" if bool(torch.isnan(x).any()) else "x: contains Inf")


def raise_on_flags(x: torch.Tensor, flags) -> None:
    """Raise what a fused kernel's ``flags`` (int, or an integer tensor of any shape whose entries are OR-ed) report.

    Reading a device tensor here is the one host sync of a Triton call (4 bytes, no pass over ``x``). Only on an
    error is ``x`` read again, to say whether it holds a NaN or an Inf.
    """
    if isinstance(flags, torch.Tensor):
        word = 0
        for f in flags.flatten().tolist():
            word |= int(f)
        flags = word
    if flags & NONFINITE_INPUT:
        check_finite_flag(x, torch.zeros((), dtype=torch.bool))
    if flags & NONFINITE_OUTPUT:
        raise ValueError(
            f"x: an unbiased kept value x_i / p_i overflows {x.dtype} (largest |x| = {float(x.abs().max()):.4g}); "
            "scale x down or use a wider dtype"
        )


def safe_range(dtype: torch.dtype) -> tuple[float, float]:
    """``(sqrt(tiny), sqrt(max))`` of ``dtype``: for block maxima in this range, sums of a block's
    magnitudes and products of two of them stay finite and normal (1e-19..1.8e19 in float32)."""
    fi = torch.finfo(dtype)
    return fi.tiny**0.5, fi.max**0.5


def rescale_blocks(mag: torch.Tensor) -> torch.Tensor:
    """``mag / s`` per block: ``s`` is the block's maximum where it lies outside :func:`safe_range`, else 1.

    ``mag``: ``(B, m)`` non-negative. N:M keep probabilities are scale-invariant, so they can be
    computed from the rescaled blocks: a block like ``[3e38] * 4`` (float32) no longer overflows its
    sum, nor ``[1e-40] * 4`` underflows. Dividing by 1 is exact, so ordinary blocks are bit-for-bit
    unchanged.
    """
    lo, hi = safe_range(mag.dtype)
    top = mag.amax(-1, keepdim=True)
    extreme = ((top > hi) | (top < lo)) & (top > 0)
    return mag / torch.where(extreme, top, torch.ones((), dtype=mag.dtype, device=mag.device))


def to_blocks(x: torch.Tensor, m: int, dim: int) -> torch.Tensor:
    """View ``x`` as ``(num_blocks, m)`` blocks of consecutive entries along ``dim`` (copies if needed)."""
    return x.movedim(dim, -1).reshape(-1, m)


def from_blocks(blocks: torch.Tensor, like: torch.Tensor, dim: int) -> torch.Tensor:
    """Inverse of :func:`to_blocks`: reshape ``blocks`` to the shape of ``like``."""
    moved_shape = like.movedim(dim, -1).shape
    return blocks.reshape(moved_shape).movedim(-1, dim)
