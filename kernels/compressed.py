"""The compressed N:M format: kept values plus bit-packed in-block indices.

For an N:M-sparse tensor (at most ``n`` non-zeros in every block of ``m`` along ``dim``):

* ``values``: ``x``'s shape with ``dim`` shrunk by ``n/m``: the ``n`` entries of each block at its
  index positions, in increasing position order (blocks with fewer non-zeros pad with zeros taken
  from their own zero positions, so the round trip is exact);
* ``indices``: ``uint8``, the in-block positions (``0..m-1``) packed ``8 // bits`` to a byte with
  ``bits = 2`` for ``m <= 4``, 4 for ``m <= 16``, 8 otherwise, along the last dimension of
  ``values.movedim(dim, -1)``.

Storage for 2:4 fp16: 1/2 of the values plus 1/16 for the indices (PyTorch's semi-structured
format stores the same 9/16).

Shapes:
    x: ``(..., L, ...)`` with ``L % m == 0`` at ``dim``; values: ``(..., L*n/m, ...)``;
    indices: ``(prod(other dims), ceil(L*n/m / per_byte))``.
"""

from __future__ import annotations

import math

import torch

from kernels._blocks import check_dim, check_nm, check_pattern, check_types, to_blocks

__all__ = ["nm_compress", "nm_decompress", "index_bits"]


def index_bits(m: int) -> int:
    """Bits per packed index for block size ``m``."""
    return 2 if m <= 4 else 4 if m <= 16 else 8


def _pack(idx: torch.Tensor, bits: int) -> torch.Tensor:
    """``idx``: ``(R, K)`` small ints -> ``(R, ceil(K / per_byte))`` uint8."""
    per = 8 // bits
    r, k = idx.shape
    pad = (-k) % per
    if pad:
        idx = torch.cat([idx, idx.new_zeros(r, pad)], dim=1)
    idx = idx.to(torch.int32).reshape(r, (k + pad) // per, per)
    shifts = torch.arange(per, device=idx.device, dtype=torch.int32) * bits
    return (idx << shifts).sum(-1).to(torch.uint8)


def _unpack(packed: torch.Tensor, bits: int, k: int) -> torch.Tensor:
    per = 8 // bits
    shifts = torch.arange(per, device=packed.device, dtype=torch.int32) * bits
    idx = (packed.to(torch.int32).unsqueeze(-1) >> shifts) & ((1 << bits) - 1)
    return idx.reshape(packed.shape[0], packed.shape[1] * per)[:, :k].to(torch.int64)


def nm_compress(x: torch.Tensor, n: int, m: int, dim: int = -1) -> tuple[torch.Tensor, torch.Tensor]:
    """Compress an N:M-sparse ``x`` to ``(values, indices)``; ``ValueError`` if a block has > ``n`` non-zeros."""
    dim = check_nm(x, n, m, dim)
    blocks = to_blocks(x, m, dim)
    nonzero = blocks != 0
    too_many = nonzero.sum(-1) > n
    if bool(too_many.any()):
        first = int(too_many.nonzero()[0, 0])
        raise ValueError(
            f"x: not {n}:{m} sparse along dim={dim}: block {first} has {int(nonzero[first].sum())} non-zeros"
        )
    pos = torch.arange(m, device=x.device)
    # non-zeros first (in position order), then zeros: a stable choice of exactly n positions
    order = (~nonzero).to(torch.int64) * m + pos
    idx = order.topk(n, dim=-1, largest=False).values % m
    idx, _ = idx.sort(dim=-1)
    values = blocks.gather(-1, idx)
    moved = x.movedim(dim, -1).shape
    values = values.reshape(*moved[:-1], moved[-1] // m * n).movedim(-1, dim)
    indices = _pack(idx.reshape(math.prod(moved[:-1]), moved[-1] // m * n), index_bits(m))
    return values, indices


def _check_shape(shape) -> torch.Size:
    """``shape`` as a ``torch.Size`` of at least one non-negative int."""
    try:
        size = torch.Size(shape)
    except TypeError:
        raise TypeError(f"shape: expected a sequence of ints, got {shape!r}") from None
    if len(size) == 0 or any(s < 0 for s in size):
        raise ValueError(f"shape: expected at least one dimension, all sizes >= 0, got {tuple(size)}")
    return size


def nm_decompress(values: torch.Tensor, indices: torch.Tensor, n: int, m: int, shape, dim: int = -1) -> torch.Tensor:
    """Inverse of :func:`nm_compress`: the dense tensor of ``shape``.

    Raises ``TypeError``/``ValueError`` naming the argument for a bad ``shape``, ``dim`` out of range,
    ``values``/``indices`` of the wrong shape or dtype, and indices that are ``>= m`` or repeat
    within a block (they could not come from :func:`nm_compress`; a repeat would drop a value).
    """
    if not isinstance(indices, torch.Tensor):
        raise TypeError(f"indices: expected a torch.Tensor from nm_compress, got {type(indices).__name__}")
    check_types(values, n, m, dim)
    check_pattern(n, m)
    shape = _check_shape(shape)
    dim = check_dim(dim, len(shape))
    if indices.dtype != torch.uint8:
        raise TypeError(f"indices: expected dtype torch.uint8, got {indices.dtype}")
    if shape[dim] % m:
        raise ValueError(f"shape: size {shape[dim]} along dim={dim} is not a multiple of m={m}")
    expected = list(shape)
    expected[dim] = shape[dim] // m * n
    if list(values.shape) != expected:
        raise ValueError(f"values: expected shape {tuple(expected)} for shape {tuple(shape)}, "
                         f"got {tuple(values.shape)}")
    vals = values.movedim(dim, -1).reshape(-1, n)
    k = shape[dim] // m * n
    packed = (math.prod(shape[:dim] + shape[dim + 1:]), -(-k // (8 // index_bits(m))))  # (rows, bytes per row)
    if tuple(indices.shape) != packed:
        raise ValueError(f"indices: expected shape {packed} for shape {tuple(shape)}, got {tuple(indices.shape)}")
    idx = _unpack(indices, index_bits(m), k).reshape(-1, n)
    if bool((idx >= m).any()):
        raise ValueError(f"indices: expected in-block positions < m={m}, got {int(idx.max())}")
    ordered = idx.sort(dim=-1).values
    if bool((ordered[:, 1:] == ordered[:, :-1]).any()):
        raise ValueError("indices: a block repeats an in-block position (each of its n values needs its own)")
    blocks = torch.zeros(vals.shape[0], m, dtype=values.dtype, device=values.device)
    blocks.scatter_(-1, idx, vals)
    moved = list(shape)
    moved.append(moved.pop(dim))
    return blocks.reshape(moved).movedim(-1, dim)
