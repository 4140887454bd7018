"""The quantization grid of the factorized weights (:mod:`kernels.factorized`), shared with the code that
produces the codes.

Grid convention: a ``bits``-bit code is an integer

.. math:: q \\in [-2^{b-1},\\ 2^{b-1} - 1], \\qquad b = \\texttt{bits} \\in \\{1, \\dots, 8\\},

stored as ``torch.int8``, and its value is :math:`\\mathrm{scale} \\cdot (q + \\tfrac12)`: a symmetric
mid-rise uniform grid of :math:`2^b` levels :math:`\\pm\\tfrac12, \\pm\\tfrac32, \\dots` (in units of the
scale) without a zero level. Zeros are encoded by sparsity (an entry that is not stored), never by the grid.
One scale per row or column: ``scales`` is a 1-D tensor along ``dim`` (``scales[i]`` multiplies the codes
at index ``i`` of dimension ``dim``).

Nearest level: the levels are the midpoints of the unit intervals :math:`[q, q+1)` of :math:`t = x/s`, so
the level nearest to :math:`x` is :math:`q = \\lfloor x / s \\rfloor` clamped to the code range (a tie,
:math:`t` an integer, goes up). The quotient is taken in float64, where it is exact enough that the floor
is right for every float32 ``x`` and ``s`` (no rounding up onto an integer, no overflow, no underflow).

Shapes:
    codes, x: any shape with at least one dimension; scales: ``(codes.shape[dim],)``.
"""

from __future__ import annotations

import torch

__all__ = ["code_range", "dequantize", "quantize_codes", "grid_values", "all_finite"]


def code_range(bits: int) -> tuple[int, int]:
    """``(lo, hi) = (-2^(bits-1), 2^(bits-1) - 1)``, the codes of a ``bits``-bit grid (``bits`` in 1..8)."""
    if isinstance(bits, bool) or not isinstance(bits, int):
        raise TypeError(f"bits: expected an int in 1..8, got {type(bits).__name__} {bits!r}")
    if not 1 <= bits <= 8:
        raise ValueError(f"bits: expected an int in 1..8 (codes are stored as int8), got {bits}")
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def all_finite(t: torch.Tensor) -> bool:
    """Whether the floating tensor ``t`` has no NaN/Inf: its min and max are finite (``aminmax`` propagates NaN).

    One reduction, without the bool tensor of ``torch.isfinite(t).all()`` (which was 30x slower on CPU for a
    256 x 3136 float32 batch). ``True`` for an empty tensor.
    """
    if not t.numel():
        return True
    lo, hi = torch.aminmax(t)
    return bool(torch.isfinite(lo) & torch.isfinite(hi))


def _check_tensor(name: str, t, *, integer: bool) -> None:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    if integer and (t.dtype.is_floating_point or t.dtype.is_complex or t.dtype == torch.bool):
        raise TypeError(f"{name}: expected an integer dtype (codes), got {t.dtype}")
    if not integer and not t.dtype.is_floating_point:
        raise TypeError(f"{name}: expected a floating-point dtype, got {t.dtype}")


def _check_scales(like: torch.Tensor, like_name: str, scales, dim, *, positive: bool) -> tuple[int, torch.Tensor]:
    """Normalised ``dim`` and ``scales`` as float32 shaped to broadcast along ``dim`` of ``like``."""
    _check_tensor("scales", scales, integer=False)
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"dim: expected an int, got {type(dim).__name__} {dim!r}")
    if like.dim() == 0:
        raise ValueError(f"{like_name}: expected at least one dimension, got a 0-d tensor")
    if not -like.dim() <= dim < like.dim():
        raise ValueError(f"dim: expected an index in [{-like.dim()}, {like.dim() - 1}], got {dim}")
    dim %= like.dim()
    if tuple(scales.shape) != (like.shape[dim],):
        raise ValueError(f"scales: expected shape ({like.shape[dim]},) (one per index of {like_name} along "
                         f"dim={dim}, {like_name} shape {tuple(like.shape)}), got {tuple(scales.shape)}")
    if scales.device != like.device:
        raise ValueError(f"scales: expected device {like.device} (that of {like_name}), got {scales.device}")
    if not all_finite(scales):
        raise ValueError("scales: contains NaN or Inf")
    if positive and scales.numel() and not bool((scales > 0).all()):
        raise ValueError(f"scales: expected every scale > 0, got min {float(scales.min())}")
    shape = [1] * like.dim()
    shape[dim] = like.shape[dim]
    return dim, scales.reshape(shape)


def grid_values(codes: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """``scales * (codes + 0.5)`` in float32, elementwise (``scales`` broadcast to ``codes.shape``; unchecked).

    The one place the grid's value formula is written; :func:`dequantize` and the factorized ops use it.
    ``codes + 0.5`` is exact in float32 for int8 codes, so the only rounding is the product's.
    """
    return codes.to(torch.float32).add_(0.5).mul_(scales.to(torch.float32))  # one float32 buffer, not three


def dequantize(codes: torch.Tensor, scales: torch.Tensor, dim: int) -> torch.Tensor:
    """The grid values of ``codes``: ``scales[i] * (codes + 0.5)`` at index ``i`` along ``dim``, float32.

    Args:
        codes: integer tensor (``int8`` from :func:`quantize_codes`), at least one dimension.
        scales: floating tensor of shape ``(codes.shape[dim],)``, finite.
        dim: the dimension the scales run along (``dim=0``: ``scales[i]`` multiplies row ``i``; ``dim=1``:
            column ``i``).

    Returns:
        float32 tensor of ``codes.shape``. Codes outside a ``bits``-bit range are not rejected here (the
        function does not know ``bits``): the formula applies to any integer.
    """
    _check_tensor("codes", codes, integer=True)
    _, s = _check_scales(codes, "codes", scales, dim, positive=False)
    return grid_values(codes, s)


def quantize_codes(x: torch.Tensor, scales: torch.Tensor, bits: int, dim: int) -> torch.Tensor:
    """The code of the grid level nearest to each entry of ``x``:
    :math:`q = \\mathrm{clamp}(\\lfloor x / s \\rfloor, -2^{b-1}, 2^{b-1}-1)`, ``s`` the scale along ``dim``.

    Args:
        x: floating tensor, finite, at least one dimension.
        scales: floating tensor of shape ``(x.shape[dim],)``, finite and > 0.
        bits: code width, an int in 1..8.
        dim: the dimension the scales run along.

    Returns:
        ``torch.int8`` tensor of ``x.shape``; ``dequantize(q, scales, dim)`` is the nearest level to ``x``
        (ties between two levels, ``x / s`` an integer, go to the upper one).
    """
    _check_tensor("x", x, integer=False)
    lo, hi = code_range(bits)
    _, s = _check_scales(x, "x", scales, dim, positive=True)
    if not all_finite(x):
        raise ValueError("x: contains NaN" if bool(torch.isnan(x).any()) else "x: contains Inf")
    # float64: for float32 x and s the quotient neither overflows nor underflows and its rounding never
    # crosses an integer, so the floor is exact (float64 inputs: correct up to the quotient's rounding)
    t = x.to(torch.float64) / s.to(torch.float64)
    return torch.floor(t).clamp_(lo, hi).to(torch.int8)
