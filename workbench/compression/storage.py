"""The bits-per-weight accountant that every method of the compression topic shares.

A compressed weight tensor of ``weights`` numbers is stored as up to four kinds of data, each counted in bits as
the format stores it:

* **values**: quantized numbers, ``b`` bits each (``b``-bit codes of a uniform grid);
* **indices**: where the non-zeros of a sparse matrix are. Per row of length ``L`` with ``s`` non-zeros the format
  keeps the cheaper of a list of positions (``s * ceil(log2 L)`` bits) and a bitmap (``L`` bits); a dense row
  (``s = L``) needs none; VQ's codeword numbers are indices too (``ceil(log2 K)`` bits per sub-vector);
* **codebooks**: numbers stored at their own precision (VQ's centroids in fp16, :data:`CODEBOOK_BITS`);
* **scales**: one fp32 number (:data:`SCALE_BITS`) per quantization group.

``bits_per_weight = (values + indices + codebooks + scales) / weights``; biases are not weights and are counted
by the model-level size only. A worked example is in ``docs/compression.md``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from workbench.checks import check_int

__all__ = ["Storage", "SCALE_BITS", "CODEBOOK_BITS", "FLOAT_BITS", "position_bits", "index_bits", "dense_values",
           "sparse_values"]

SCALE_BITS = 32  # a quantization scale is an fp32 number
CODEBOOK_BITS = 16  # VQ codebooks are stored in fp16, as "And the bit goes down" and PQF count them
FLOAT_BITS = 32  # an uncompressed weight


def position_bits(length: int) -> int:
    """Bits of one position in ``0 .. length-1``: ``ceil(log2 length)`` (0 for a length of 1)."""
    check_int("length", length, 1)
    return math.ceil(math.log2(length)) if length > 1 else 0


def index_bits(nonzeros_per_row, row_length: int) -> int:
    """Bits of the positions of a sparse matrix's non-zeros: per row the cheaper of a position list and a bitmap;
    ``nonzeros_per_row`` is one count per row (a list) or ``(rows, count)`` for rows that all have ``count``."""
    check_int("row_length", row_length, 1)
    if isinstance(nonzeros_per_row, tuple):
        rows, count = nonzeros_per_row
        check_int("rows", rows, 0)
        counts = {int(count): rows}
    else:
        counts: dict[int, int] = {}
        for c in nonzeros_per_row:
            counts[int(c)] = counts.get(int(c), 0) + 1
    total = 0
    for s, rows in counts.items():
        if not 0 <= s <= row_length:
            raise ValueError(f"nonzeros_per_row: expected counts in 0..{row_length}, got {s}")
        total += rows * (0 if s == row_length else min(s * position_bits(row_length), row_length))
    return total


@dataclass(frozen=True)
class Storage:
    """What a compressed tensor of ``weights`` numbers costs, in bits, by kind. Storages add (a whole model)."""

    weights: int
    values: int = 0
    indices: int = 0
    codebooks: int = 0
    scales: int = 0

    def __post_init__(self):
        for name in ("weights", "values", "indices", "codebooks", "scales"):
            check_int(name, getattr(self, name), 0)

    @property
    def bits(self) -> int:
        return self.values + self.indices + self.codebooks + self.scales

    @property
    def bits_per_weight(self) -> float:
        return self.bits / self.weights if self.weights else 0.0

    @property
    def compression_ratio(self) -> float:
        """``32 * weights / bits``: how many times smaller than fp32."""
        return FLOAT_BITS * self.weights / self.bits if self.bits else math.inf

    def __add__(self, other: "Storage") -> "Storage":
        if not isinstance(other, Storage):
            return NotImplemented
        return Storage(*(a + b for a, b in zip(asdict(self).values(), asdict(other).values())))

    def as_dict(self) -> dict:
        return {**asdict(self), "bits": self.bits, "bits_per_weight": self.bits_per_weight}


def dense_values(count: int, bits: int, groups: int) -> Storage:
    """``count`` quantized numbers at ``bits`` each with ``groups`` scales (no weights: add it to a Storage of the
    tensor they represent)."""
    return Storage(0, values=count * bits, scales=groups * SCALE_BITS)


def sparse_values(rows: int, row_length: int, nonzeros_per_row, bits: int, groups: int) -> Storage:
    """A sparse matrix of ``rows`` rows of ``row_length``: its non-zeros at ``bits`` each, their positions
    (:func:`index_bits`) and ``groups`` scales. ``nonzeros_per_row``: one count for every row, or a list."""
    if isinstance(nonzeros_per_row, int):
        counts, nnz = (rows, nonzeros_per_row), rows * nonzeros_per_row
    else:
        counts = list(nonzeros_per_row)
        if len(counts) != rows:
            raise ValueError(f"nonzeros_per_row: expected {rows} counts, got {len(counts)}")
        nnz = int(sum(counts))
    return Storage(0, values=nnz * bits, indices=index_bits(counts, row_length), scales=groups * SCALE_BITS)
