"""Every method at a storage budget: each tries the configurations of its own family that fit in ``budget`` bits
per weight and keeps the one with the smallest relative error ``‖W − Ŵ‖_F / ‖W‖_F``. The same rule for all, so a
comparison at a budget is a comparison at equal or smaller storage.

Configuration families (``d``: the row length of the weight as a matrix):

* ``quant``: 1–8 bits; ``prune_quant``: 2–8 bits, each at the smallest sparsity (0.01 steps) that fits;
* ``svd``: 2–8 bits × the largest rank that fits; ``sparse_pca``: ranks × sparsity penalties, 4 and 8 bits;
* ``vq``: sub-vectors of 1–16 × the largest power-of-two codebook that fits (at most 4,096 codewords);
* ``sqf``: scalar rows (``row_length=1``: a non-uniform grid started at the uniform one), short rows (2–16) with
  1–2 signed codewords per row (started by residual k-means), sparse ``Z`` on whole rows (started by the SVD),
  ``C = I`` (``s`` weights per row kept, quantized at 2–8 bits; and, ``support="layer"``, the layer's largest
  weights wherever they are, as many as fit: :func:`identity_layer_candidates`) and ``Z`` of ones (an 8-bit
  codebook, per row length 1–16 the largest that fits); and always the best quantized SVD and the best VQ at the
  budget as SQF configurations started from them (:func:`special_case_start`).

The storage of a configuration is computed before fitting (for ``prune_quant`` from its mask; ``sparse_pca``'s
depends on the fit and is measured after it). The cheap families are tried in full, so their best can only
improve with the budget; of SQF's and sparse PCA's, the ``per_family`` configurations of each group (SQF: scalar
rows, each short-row length, whole rows) nearest the budget from below are fitted.
"""

from __future__ import annotations

from typing import Callable

import torch

from workbench.compression.baselines import (PrunedQuantization, QuantizedSVD, SparsePCACompression,
                                             UniformQuantization, VectorQuantization)
from workbench.compression.shapes import weight_matrix
from workbench.compression.sqf import SparseQuantizedFactorization
from workbench.compression.storage import (CODEBOOK_BITS, SCALE_BITS, Storage, dense_values, position_bits,
                                           sparse_values)

__all__ = ["METHODS", "candidates", "compress_at_budget", "special_case_start", "sqf_storage", "check_budget",
           "identity_layer_candidates"]

METHODS = ("sqf", "svd", "vq", "sparse_pca", "quant", "prune_quant")
SHORT_ROWS = (2, 3, 4, 6, 8, 9, 16)  # the sub-vector lengths SQF and VQ try (those that divide the row)
LIMITED = ("sqf", "sparse_pca")  # the families whose fits are slow: only the per_family largest of each group


def check_budget(budget) -> float:
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not 0.05 <= budget <= 32:
        raise ValueError(f"budget: expected bits per weight in [0.05, 32], got {budget!r}")
    return float(budget)


def sqf_storage(shape: tuple[int, int], rank: int, nonzeros_per_row: int, bits_z: int, bits_c: int,
                row_length: int | None = None, z_scales: str = "auto", z_values: str = "quantized") -> Storage:
    """What :class:`SparseQuantizedFactorization` will store for a weight of ``shape`` (as a matrix)."""
    n, d = shape
    rows, length = (n, d) if row_length is None else (n * d // row_length, row_length)
    c_scales = rank if row_length is None else 1
    if z_scales == "auto":
        z_scales = "tensor" if row_length is not None and row_length > 1 else "channel"
    z_scales = n if z_scales == "channel" else 1
    if z_values == "ones":  # only the support is stored
        bits_z, z_scales = 0, 0
    return (Storage(n * d) + sparse_values(rows, rank, nonzeros_per_row, bits_z, z_scales)
            + dense_values(rank * length, bits_c, c_scales))


def _identity_storage(shape: tuple[int, int], nonzeros_per_row, bits: int) -> Storage:
    """SQF with ``C = I``: ``s`` quantized weights per row (or a list of counts, one per row), their positions and a
    scale per row."""
    n, d = shape
    return Storage(n * d) + sparse_values(n, d, nonzeros_per_row, bits, n)


def _family(shape, budget, steps: int = 60) -> dict[str, list[tuple[float, Callable]]]:
    """``{method: [(predicted bits per weight, make estimator[, family]), ...]}`` (sparse_pca: an estimate;
    prune_quant is planned from the weight itself, :func:`_pruning_candidates`)."""
    n, d = shape
    weights = n * d
    out: dict[str, list] = {m: [] for m in METHODS}
    for b in range(1, 9):
        out["quant"].append((b + SCALE_BITS / d, lambda b=b: UniformQuantization(b)))
        if b >= 2:
            per_rank = (n + d) * b + SCALE_BITS  # and n scales for Z's rows
            rank = min(min(n, d), int((budget * weights - n * SCALE_BITS) // per_rank))
            if rank >= 1:
                out["svd"].append(((rank * per_rank + n * SCALE_BITS) / weights,
                                   lambda r=rank, b=b: QuantizedSVD(r, b)))
    for b in (4,):
        for rank in sorted({r for r in (8, 32) if r <= min(n, d)}):
            for alpha in (0.02, 0.1):
                est = (rank * d * b + 0.5 * n * rank * (b + position_bits(rank))) / weights
                out["sparse_pca"].append((est, lambda r=rank, a=alpha, b=b: SparsePCACompression(r, a, b)))
    for length in (1,) + SHORT_ROWS:
        if d % length:
            continue
        subvectors = weights // length
        for j in range(12, 0, -1):
            K = 2 ** j
            if K > subvectors:
                continue
            bits = (subvectors * j + K * length * CODEBOOK_BITS) / weights
            if bits <= budget:
                out["vq"].append((bits, lambda K=K, L=length: VectorQuantization(K, L)))
                break
    sqf = []
    for k in (1, 2, 4, 8, 16, 32):  # scalar rows: a non-uniform grid of 2k levels, a scale per channel or one
        for z_scales in ("channel", "tensor"):
            sqf.append(((k, 1, 1, 8, 1), "grid" if z_scales == "channel" else "auto", z_scales))
    for length in SHORT_ROWS:
        for k in (16, 32, 64, 128, 256):
            for s in (1, 2):
                for bz in (1, 2, 3):
                    for bc in (4, 8):
                        sqf.append(((k, s, bz, bc, length), "auto", "auto"))
    for bz, bc in ((2, 2), (3, 3), (4, 4), (2, 4), (4, 8), (8, 8)):  # whole rows: the largest rank that fits
        for fraction in (0.5, 0.25):
            fits = [k for k in range(1, min(n, d) + 1) if sqf_storage(
                (n, d), k, max(1, int(k * fraction)), bz, bc).bits_per_weight <= budget]
            if fits:
                k = fits[-1]
                sqf.append(((k, max(1, int(k * fraction)), bz, bc, None), "auto", "auto"))
    for (k, s, bz, bc, length), init, z_scales in sqf:
        if (length is None and k > min(n, d)) or (length is not None and (d % length or k > n * d // length)):
            continue
        bits = sqf_storage((n, d), k, s, bz, bc, length, z_scales).bits_per_weight
        family = ("scalar", z_scales) if length == 1 else (("short", length) if length else ("whole",))
        out["sqf"].append((bits, lambda k=k, s=s, bz=bz, bc=bc, L=length, i=init, zs=z_scales:
                           SparseQuantizedFactorization(k, s, bz, bc, row_length=L, init=i, z_scales=zs, steps=steps),
                           family))
    for b in range(2, 9):  # C = I: s quantized weights kept per row (pruning + quantization with a row budget)
        fits = [s for s in range(1, d + 1) if _identity_storage((n, d), s, b).bits_per_weight <= budget]
        if fits:
            s = fits[-1]
            out["sqf"].append((_identity_storage((n, d), s, b).bits_per_weight, lambda s=s, b=b:
                               SparseQuantizedFactorization(d, s, b, dictionary="identity", steps=steps),
                               ("identity",)))
    for length in (1,) + SHORT_ROWS:  # Z of ones with an 8-bit codebook: per length the largest that fits
        if d % length:
            continue
        for j in range(12, 0, -1):
            k = 2 ** j
            bits = sqf_storage((n, d), k, 1, 1, 8, length, z_values="ones").bits_per_weight
            if k <= weights // length and bits <= budget:
                out["sqf"].append((bits, lambda k=k, L=length: SparseQuantizedFactorization(
                    k, 1, 1, 8, row_length=L, z_values="ones", steps=steps), ("ones",)))
                break
    return out


def candidates(shape: tuple[int, int], method: str, budget: float, per_family: int = 3,
               steps: int = 60) -> list[Callable]:
    """The estimators (unfitted) that :func:`compress_at_budget` tries for ``method`` at ``budget``."""
    budget = check_budget(budget)
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    options = _family(shape, budget, steps)[method]
    slack = 1.15 if method == "sparse_pca" else 1.0  # an estimate: fitted, then measured
    fitting = [o for o in options if o[0] <= budget * slack]
    groups: dict = {}
    for o in fitting:
        groups.setdefault(o[2] if len(o) > 2 else "", []).append(o)
    limit = per_family if method in LIMITED else None  # the cheap families are tried in full
    chosen = []
    for group in groups.values():
        chosen += [o[1] for o in sorted(group, key=lambda o: -o[0])[:limit]]
    return chosen


def _pruning_candidates(W, budget: float) -> list[Callable]:
    """For each of 2–8 bits, magnitude pruning at the smallest sparsity (a 0.01 grid) whose exact storage fits."""
    out = []
    for b in range(2, 9):
        for sp in [x / 100 for x in range(0, 100)]:
            est = PrunedQuantization(sp, b)
            if est.storage_for(W).bits_per_weight <= budget:
                out.append(lambda est=est: est)
                break
    return out


def identity_layer_candidates(W, budget: float) -> list[Callable]:
    """SQF with ``C = I`` and ``support="layer"`` for each of 2–8 bits: the most non-zeros ``t`` (any count, found by
    bisection: storage grows with ``t``) whose storage fits ``budget``, i.e. the layer's ``t`` largest ``|w|``
    quantized with a scale per row and their positions per row as a list or a bitmap."""
    M = weight_matrix(W)
    n, d = M.shape
    rows_by_size = M.abs().reshape(-1).argsort(descending=True) // d  # the row of each weight, largest first

    def storage(t: int, bits: int) -> Storage:
        return _identity_storage((n, d), torch.bincount(rows_by_size[:t], minlength=n).tolist(), bits)

    out = []
    for b in range(2, 9):
        if storage(1, b).bits_per_weight > budget:
            continue
        lo, hi = 1, n * d  # storage(lo) fits; find the largest t that does
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if storage(mid, b).bits_per_weight <= budget else (lo, mid - 1)
        out.append(lambda t=lo, b=b: SparseQuantizedFactorization(d, t / n, b, dictionary="identity",
                                                                   support="layer"))
    return out


def special_case_start(est, steps: int = 60) -> SparseQuantizedFactorization:
    """The SQF configuration that stores what the fitted baseline ``est`` stores, started from its solution: a
    :class:`QuantizedSVD` of rank ``k`` at ``b`` bits is SQF with ``s = k``, ``bits_z = bits_c = b`` from the SVD
    (its first iterate is the baseline itself); a :class:`VectorQuantization` is SQF with ``Z`` of ones and a 15-bit
    codebook (steps of 2^-14 of its largest entry: as fine as fp16; the bit saved per entry pays for its 32-bit
    scale) started at the baseline's codewords and assignments. The descent keeps its best iterate, so the SQF
    fit is never worse than its start."""
    if isinstance(est, QuantizedSVD):
        return SparseQuantizedFactorization(est.rank, est.rank, est.bits, est.bits, init="svd", steps=steps)
    if isinstance(est, VectorQuantization):  # Z's support: one 1 per row, at the sub-vector's codeword
        labels = est.labels_[:, None]
        return SparseQuantizedFactorization(est.codewords, 1, 1, 15, row_length=est.row_length, z_values="ones",
                                            init=(torch.ones(labels.shape), labels, est.codebook_.clone()),
                                            steps=steps)
    raise TypeError(f"est: expected a fitted QuantizedSVD or VectorQuantization, got {type(est).__name__}")


def compress_at_budget(W, method: str, budget: float, per_family: int = 3, steps: int = 60):
    """The fitted estimator of ``method`` with the smallest relative error among those whose measured storage is
    at most ``budget`` bits per weight; ``None`` when nothing of the family fits. ``per_family`` and ``steps``
    (SQF's descent) trade time for quality: a quick run uses 1 and 20. SQF's search also tries ``C = I`` with the
    layer's largest weights (:func:`identity_layer_candidates`) and starts from the best quantized SVD and the best
    VQ at the budget (:func:`special_case_start`): its special cases."""
    M = weight_matrix(W)
    best = None
    makers = (_pruning_candidates(W, check_budget(budget)) if method == "prune_quant"
              else candidates(tuple(M.shape), method, budget, per_family, steps))
    if method == "sqf":
        makers += identity_layer_candidates(W, budget)
        for case in ("svd", "vq"):
            found = compress_at_budget(W, case, budget)
            if found is not None:
                makers.append(lambda found=found: special_case_start(found, steps))
    for make in makers:
        est = make()
        try:
            est.fit(W)
        except ValueError:
            continue  # a configuration this weight cannot take (e.g. more codewords than sub-vectors)
        if est.storage_.bits_per_weight <= budget + 1e-9 and (best is None or
                                                               est.relative_error_ < best.relative_error_):
            best = est
    return best
