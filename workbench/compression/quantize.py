"""Uniform quantization with fitted scales: the projection onto the quantization grid.

The grid is :mod:`kernels.quantized`'s: a ``b``-bit code ``q`` in ``[-2^(b-1), 2^(b-1) - 1]`` stands for
``scale * (q + 0.5)`` (symmetric, mid-rise: 1 bit is ``±scale/2``; zeros are the business of sparsity, not of the
grid). Codes of up to 8 bits are stored as int8 (what :mod:`kernels` takes), wider ones (to 16 bits: a codebook
as precise as fp16) as int16. Each group (a row or a column) has its own scale, chosen to minimise the squared
error of its values: a search over clipping ratios, then Lloyd steps ``scale = Σ x (q + ½) / Σ (q + ½)²`` (the
least-squares scale for fixed codes), which never increase the error.
"""

from __future__ import annotations

import torch

from kernels.quantized import dequantize

__all__ = ["fit_scales", "fit_group_scales", "group_codes", "nearest_levels", "quantize", "check_bits", "MAX_BITS",
           "code_range", "code_dtype"]

MAX_BITS = 16  # codes are stored as int8 (1-8 bits, the kernels' grid) or int16 (9-16 bits)
_RATIOS = torch.linspace(0.05, 1.0, 24)  # clipping ratios tried: the grid's top level at ratio * max|x|
_LLOYD_STEPS = 3
_BATCHED_ENTRIES = 1 << 18  # candidates x values up to which the scale search evaluates all candidates at once


def check_bits(name: str, bits) -> int:
    """``bits`` as an int in 1..16; ``TypeError``/``ValueError`` naming ``name`` otherwise."""
    if isinstance(bits, bool) or not isinstance(bits, int):
        raise TypeError(f"{name}: expected an int number of bits in 1..{MAX_BITS}, got {type(bits).__name__} {bits!r}")
    if not 1 <= bits <= MAX_BITS:
        raise ValueError(f"{name}: expected bits in 1..{MAX_BITS}, got {bits}")
    return bits


def code_range(bits: int) -> tuple[int, int]:
    """``(lo, hi) = (-2^(bits-1), 2^(bits-1) - 1)`` for ``bits`` in 1..16 (:func:`kernels.quantized.code_range`
    is the same grid, limited to the kernels' int8)."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def code_dtype(bits: int) -> torch.dtype:
    """``torch.int8`` for 1-8 bits, ``torch.int16`` above."""
    return torch.int8 if bits <= 8 else torch.int16


def _groups(x: torch.Tensor, dim: int) -> torch.Tensor:
    """``x`` as ``(groups, members)``: one row per index of ``dim``."""
    return x.movedim(dim, 0).reshape(x.shape[dim], -1)


def nearest_levels(values: torch.Tensor, scales: torch.Tensor, bits: int) -> torch.Tensor:
    """``q + ½`` of the nearest ``bits``-bit codes ``q = clamp(floor(v / scale))`` of ``values`` for their own
    ``scales`` (broadcast; unchecked, for inner loops: :func:`kernels.quantized.quantize_codes` is the checked
    one); ``scale * nearest_levels(...)`` is the grid value. A zero scale divides by 1 instead (its value is 0
    whatever the code)."""
    lo, hi = code_range(bits)
    safe = torch.where(scales > 0, scales, torch.ones_like(scales))
    return torch.floor(values / safe).clamp(lo, hi) + 0.5


def group_codes(values: torch.Tensor, scales: torch.Tensor, bits: int) -> torch.Tensor:
    """Codes (:func:`code_dtype`) of ``values`` for their own ``scales`` (broadcast against them; see
    :func:`nearest_levels`)."""
    lo, hi = code_range(bits)
    return (nearest_levels(values.double(), scales.double(), bits) - 0.5).clamp(lo, hi).to(code_dtype(bits))


def fit_group_scales(values: torch.Tensor, groups: torch.Tensor, n_groups: int, bits: int,
                     weights: torch.Tensor | None = None) -> torch.Tensor:
    """Scales ``(n_groups,)`` minimising ``Σ w (v - Q(v))²`` of flat ``values`` ``(N,)`` in their ``groups``
    ``(N,)`` (ints in ``0 .. n_groups-1``), ``weights`` ``w`` (default 1: e.g. ``‖c_a‖²`` when an error in ``v``
    costs that much in the product). A group with no value, or only zeros, gets scale 0."""
    check_bits("bits", bits)
    v = values.detach().to(torch.float64).reshape(-1)
    g = groups.reshape(-1).long()
    w = torch.ones_like(v) if weights is None else weights.detach().to(torch.float64).reshape(-1)
    top = torch.zeros(n_groups, dtype=torch.float64).scatter_reduce_(0, g, v.abs(), "amax", include_self=True)
    half = 2 ** (bits - 1)

    def sse(scales):  # scales (..., G) -> the groups' weighted squared errors (..., G)
        if scales.dim() == 2 and scales.shape[0] * len(v) > _BATCHED_ENTRIES:  # large: one candidate at a time,
            return torch.stack([sse(row) for row in scales])  # so the (N,) temporaries stay in cache
        s = scales[..., g]
        err = w * (s * nearest_levels(v, s, bits) - v) ** 2
        return torch.zeros(*scales.shape, dtype=torch.float64).index_add_(-1, g, err)

    # the top level at ratio * max|v|, and the max-abs scale max|v| / 2^(b-1) itself (so never worse than it)
    cand = torch.cat([(_RATIOS.double()[:, None] * top[None, :]) / (half - 0.5), top[None, :] / half])  # (R+1, G)
    errs = sse(cand)
    scales = cand.gather(0, errs.argmin(0)[None, :])[0]
    err = errs.min(0).values
    for _ in range(_LLOYD_STEPS):  # the least-squares scale for the current codes; kept where it helps
        level = nearest_levels(v, scales[g], bits)
        num = torch.zeros(n_groups, dtype=torch.float64).index_add_(0, g, w * v * level)
        den = torch.zeros(n_groups, dtype=torch.float64).index_add_(0, g, w * level ** 2)
        new = torch.where(den > 0, num / den.clamp_min(1e-300), scales)
        new = torch.where(new > 0, new, scales)
        new_err = sse(new)
        better = new_err <= err
        scales, err = torch.where(better, new, scales), torch.where(better, new_err, err)
    return torch.where(top > 0, scales, torch.zeros_like(scales)).float()


def fit_scales(x: torch.Tensor, bits: int, dim: int, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-group scales ``(x.shape[dim],)`` minimising ``Σ (x - Q(x))²`` over the entries where ``mask`` is true
    (all by default); see :func:`fit_group_scales`."""
    check_bits("bits", bits)
    g = _groups(x.detach().float(), dim)
    ids = torch.arange(g.shape[0])[:, None].expand_as(g)
    if mask is not None:
        m = _groups(mask, dim).bool()
        return fit_group_scales(g[m], ids[m], g.shape[0], bits)
    return fit_group_scales(g, ids, g.shape[0], bits)


def quantize(x: torch.Tensor, bits: int, dim: int, mask: torch.Tensor | None = None,
             scales: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(values, codes, scales)``: ``x`` projected onto its groups' grids (``values`` float32, zero where ``mask``
    is false), the integer ``codes`` (:func:`code_dtype`) and the per-group ``scales`` (fitted by
    :func:`fit_scales` unless given)."""
    check_bits("bits", bits)
    if scales is None:
        scales = fit_scales(x, bits, dim, mask)
    g = _groups(x.detach().float(), dim)
    codes = group_codes(g, scales[:, None], bits)
    values = dequantize(codes, scales, dim=0)
    shape = x.movedim(dim, 0).shape
    values = values.reshape(shape).movedim(0, dim)
    codes = codes.reshape(shape).movedim(0, dim)
    if mask is not None:
        values = torch.where(mask.bool(), values, torch.zeros_like(values))
    return values.contiguous(), codes.contiguous(), scales
