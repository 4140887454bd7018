"""The notebook's "try this" exercises, checked against the library (:mod:`workbench.exercises`): the storage
accountant answers every counting question, so no number is typed in twice."""

from __future__ import annotations

from workbench.compression.budget import sqf_storage
from workbench.compression.storage import CODEBOOK_BITS, Storage, position_bits
from workbench.exercises import exercise, is_close

__all__ = ["SHAPE"]

SHAPE = (256, 256)  # the digits MLP's middle layer


@exercise("compression.vq_bits",
          hint="each sub-vector of 4 stores the number of its codeword (log2 256 bits); the codebook is 256 x 4 "
               "fp16 numbers; divide everything by the 65,536 weights")
def _vq_bits(answer):
    n, d = SHAPE
    weights = n * d
    truth = Storage(weights, indices=weights // 4 * position_bits(256),
                    codebooks=256 * 4 * CODEBOOK_BITS).bits_per_weight
    return is_close(answer, truth, rel=1e-6)


@exercise("compression.sqf_bits",
          hint="Z: 256 rows x 2 values x 3 bits, positions min(2 x log2 64, 64) bits per row, 256 fp32 scales; C: 64 "
               "x 256 values x 4 bits and 64 fp32 scales")
def _sqf_bits(answer):
    return is_close(answer, sqf_storage(SHAPE, 64, 2, 3, 4).bits_per_weight, rel=1e-6)


@exercise("compression.svd_rank_at_2_bits",
          hint="a rank-k quantized SVD is SQF with s = k: per rank (256 + 256) x 4 bits + one C scale, plus 256 Z "
               "scales in all; the largest k whose total is at most 2 x 65,536 bits")
def _svd_rank(answer):
    if isinstance(answer, bool) or not isinstance(answer, int):
        return "the rank is a whole number"
    fits = [k for k in range(1, min(SHAPE) + 1) if sqf_storage(SHAPE, k, k, 4, 4).bits_per_weight <= 2]
    return answer == fits[-1]
