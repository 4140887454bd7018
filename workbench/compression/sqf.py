"""Sparse quantized factorization (SQF; Kuzmin, van Baalen, Nagel, Behboodi 2022): ``W ≈ Z C``.

``W`` as rows (:func:`~workbench.compression.shapes.as_rows`: whole rows ``(n, d)``, or sub-vectors of
``row_length``) is stored as

* ``Z`` ``(rows, k)``: at most ``s = nonzeros_per_row`` non-zeros per row, each a ``bits_z``-bit code on the grid of
  its output channel (``z_scales="channel"``) or of the tensor (``"tensor"``);
* ``C`` ``(k, L)``: the dictionary, ``bits_c``-bit codes with a scale per row of ``C`` or one for the tensor.

With ``dictionary="identity"`` ``C = I`` (``k = L``, nothing stored for it) and ``Z`` is ``W`` itself, its ``s``
largest weights per row kept and quantized (nothing to alternate: one projection): magnitude pruning +
quantization with a fixed count per row is this special case. With ``support="layer"`` as well, ``Z`` keeps the
``round(s · rows)`` largest weights of the whole layer, so rows hold different counts, each row's positions stored
as a list or a bitmap: unstructured magnitude pruning + quantization
(:class:`~workbench.compression.baselines.PrunedQuantization`) is this special case.

With ``z_values="ones"`` the non-zeros of ``Z`` are all 1 and only its support is stored (the paper's
``z ∈ {0, 1}``): ``s = 1`` is then vector quantization with a ``bits_c``-bit codebook, ``s > 1`` additive
(residual) quantization.

Found by alternating minimisation of ``f(Z, C) = ½‖W − Z C‖²_F``, projected onto the sparse, quantized sets:

* Z-step, ``z_step="pursuit"`` (default): per row, ``s`` rounds of quantized greedy pursuit (the atom and grid code
  that reduce the residual most: the exact projection for ``s = 1``), then least squares on the chosen support,
  the scales refitted (weighted by ``‖c_a‖²``, what an error costs in the product) and the values rounded;
  ``z_step="gradient"``: projected gradient descent ``Z ← P_Q(P_s(Z − η (Z C − W) Cᵀ))``, ``η = 1 / ‖C Cᵀ‖₂``
  (``P_s`` keeps each row's ``s`` largest ``|z|``, ``P_Q`` rounds), with ``straight_through`` (the gradient at the
  projected factors moves latent real-valued ones, so small steps accumulate) and ``debias`` (least squares on
  the support: hard thresholding pursuit);
* C-step: with ``debias`` the least-squares dictionary for this ``Z`` (ridge-stabilised), else a gradient step
  ``η = 1 / ‖Zᵀ Z‖₂``; then rounded.

The best iterate is kept, so the result is never worse than its start; of ``restarts`` runs, the best.

Special cases: ``s = k`` is a quantized truncated SVD; ``s = 1`` on short rows is vector quantization, with the
codebook ``C`` (``z_values="ones"``) or ``±C`` (``bits_z = 1``: ``Z``'s code is the sign); ``row_length=1``,
``s = 1`` is a non-uniform scalar grid of ``2k`` levels; ``s < k`` on whole rows is sparse PCA with hard
thresholding.
"""

from __future__ import annotations

import math

import torch

from kernels.quantized import grid_values
from workbench.checks import check_int
from workbench.compression.quantize import check_bits, fit_group_scales, group_codes, nearest_levels, quantize
from workbench.compression.shapes import as_rows, weight_matrix
from workbench.compression.row_sparse import dense, least_squares_dictionary, product, ridge
from workbench.compression.sqf_starts import (given_start, random_start, residual_kmeans_start, svd_start,
                                              uniform_grid_start)
from workbench.compression.storage import Storage, dense_values, sparse_values

__all__ = ["SparseQuantizedFactorization", "INITS"]

INITS = ("auto", "svd", "kmeans", "grid", "random")
_CHUNK = 1 << 16  # entries of a (rows, k) block in the pursuit's inner loop (256 KiB of float32)


class SparseQuantizedFactorization:
    """``W ≈ Z C`` with ``nonzeros_per_row`` non-zeros per row of ``Z`` and both factors quantized.

    Parameters (stored, checked by :meth:`fit`): ``rank`` ``k`` (whole rows: at most ``min(W.shape)``; sub-vectors:
    at most their number), ``nonzeros_per_row`` ``s`` (1..k), ``bits_z``, ``bits_c`` (1..16; the kernel takes up
    to 8), ``row_length`` (None: whole rows), ``steps``, ``z_step`` (``"pursuit"`` or ``"gradient"``),
    ``straight_through`` and ``debias`` (see the module), ``restarts`` (restart ``r > 0`` of an SVD start rotates it
    by a random orthogonal ``k × k`` matrix: the product is unchanged, the sparse projection is not; of a k-means
    start, reseeds it; of a given start, perturbs it), ``init`` (a ``(Z, C)`` pair of tensors to start from, e.g.
    a baseline's factors, or ``(values, index, C)`` with ``Z`` as its support, ``values`` and ``index``
    ``(rows, s)``: never built dense, as a vector quantizer's one-hot ``Z`` can be gigabytes; ``"auto"``: k-means
    when ``s = 1`` or ``k > L``, else SVD; ``"grid"``: scalar rows from uniform quantization; ``"random"``),
    ``dictionary`` (``"learned"``; ``"identity"``: ``C = I``, ``rank`` must be
    the row length, ``bits_c`` unused), ``z_values`` (``"quantized"``: ``bits_z``-bit codes; ``"ones"``: every
    non-zero is 1, no value bits, no ``Z`` scales, ``bits_z`` unused), ``z_scales`` (``"auto"``: per tensor for
    short rows, per channel otherwise), ``c_scales`` (``"auto"``: per row of ``C`` for whole rows, per tensor
    otherwise), ``support`` (``"row"``: at most ``s`` non-zeros in every row of ``Z``, the paper's; ``"layer"``,
    with ``dictionary="identity"`` only: ``round(s · rows)`` non-zeros in all, where ``|w|`` is largest, ``s`` then
    any number in ``(0, k]``), ``tol`` (stop when 25 steps improve the error by less than ``tol`` times the
    start's), ``seed``.

    Learned attributes: ``z_values_`` ``(rows, s)`` (the non-zeros of ``Z``, dequantized) at ``z_index_``
    ``(rows, s)``, ``Z_`` ``(rows, k)`` (dense, built on access), ``C_`` ``(k, L)`` (dequantized),
    ``z_codes_`` ``(rows, s)`` (``support="layer"``: ``s`` the largest count, each row's own positions first,
    then distinct unused ones with code 0 and value 0), ``z_counts_`` ``(rows,)`` (non-zeros per row),
    ``c_codes_`` ``(k, L)`` (int8, int16 above 8 bits; None for ``C = I``),
    ``scales_`` (``{"z": (channels,) or (1,), "c": (k,) or (1,) or None}``), ``factors_`` (``(Z_, C_)``),
    ``storage_`` (:class:`~workbench.compression.storage.Storage`), ``history_`` (relative error per step of the
    best restart), ``restart_errors_``, ``relative_error_``, ``init_error_``.
    """

    def __init__(self, rank: int, nonzeros_per_row: int, bits_z: int = 4, bits_c: int = 4, *,
                 row_length: int | None = None, steps: int = 150, straight_through: bool = True, restarts: int = 1,
                 init: str = "auto", z_step: str = "pursuit", debias: bool = True, z_scales: str = "auto",
                 c_scales: str = "auto", z_values: str = "quantized", dictionary: str = "learned",
                 support: str = "row", tol: float = 1e-4, seed: int = 0):
        self.rank = rank
        self.nonzeros_per_row = nonzeros_per_row
        self.bits_z = bits_z
        self.bits_c = bits_c
        self.row_length = row_length
        self.steps = steps
        self.straight_through = straight_through
        self.restarts = restarts
        self.init = init
        self.z_step = z_step
        self.debias = debias
        self.z_scales = z_scales
        self.c_scales = c_scales
        self.z_values = z_values
        self.dictionary = dictionary
        self.support = support
        self.tol = tol
        self.seed = seed

    # ---------- checks ----------
    def _check(self, W2: torch.Tensor) -> None:
        n, d = W2.shape
        check_int("rank", self.rank, 1)
        if self.dictionary not in ("learned", "identity"):
            raise ValueError(f"dictionary: expected 'learned' or 'identity', got {self.dictionary!r}")
        if self.dictionary == "identity" and self.rank != d:
            raise ValueError(f"rank: with dictionary='identity' (C = I) expected the row length {d}, got {self.rank}")
        if self.dictionary == "learned" and self.row_length is None and self.rank > min(n, d):
            raise ValueError(f"rank: expected at most min(W.shape) = {min(n, d)} (W as a matrix: {n} x {d}), "
                             f"got {self.rank}")
        if self.dictionary == "learned" and self.row_length is not None and self.rank > n:
            raise ValueError(f"rank: expected at most the {n} rows of length {d} (a dictionary no larger than the "
                             f"data), got {self.rank}")
        if self.support not in ("row", "layer"):
            raise ValueError(f"support: expected 'row' or 'layer', got {self.support!r}")
        if self.support == "layer" and self.dictionary != "identity":
            raise ValueError("support: 'layer' (uneven counts per row) needs dictionary='identity', got "
                             f"dictionary={self.dictionary!r}: a learned dictionary keeps s non-zeros in every row")
        if self.support == "row":
            check_int("nonzeros_per_row", self.nonzeros_per_row, 1)
        elif (isinstance(self.nonzeros_per_row, bool) or not isinstance(self.nonzeros_per_row, (int, float))
              or not 0 < self.nonzeros_per_row < math.inf):
            raise ValueError(f"nonzeros_per_row: expected a positive number (the mean count per row), got "
                             f"{self.nonzeros_per_row!r}")
        if self.nonzeros_per_row > self.rank:
            raise ValueError(f"nonzeros_per_row: expected at most rank = {self.rank}, got {self.nonzeros_per_row}")
        check_bits("bits_z", self.bits_z)
        check_bits("bits_c", self.bits_c)
        check_int("steps", self.steps, 0)
        check_int("restarts", self.restarts, 1)
        check_int("seed", self.seed, 0)
        for name in ("straight_through", "debias"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name}: expected a bool, got {getattr(self, name)!r}")
        if self.z_step not in ("pursuit", "gradient"):
            raise ValueError(f"z_step: expected 'pursuit' or 'gradient', got {self.z_step!r}")
        if self.z_scales not in ("auto", "channel", "tensor"):
            raise ValueError(f"z_scales: expected 'auto', 'channel' or 'tensor', got {self.z_scales!r}")
        if self.c_scales not in ("auto", "row", "tensor"):
            raise ValueError(f"c_scales: expected 'auto', 'row' or 'tensor', got {self.c_scales!r}")
        if self.z_values not in ("quantized", "ones"):
            raise ValueError(f"z_values: expected 'quantized' or 'ones', got {self.z_values!r}")
        if isinstance(self.init, tuple):
            self._check_given_start(n, d)
        elif not isinstance(self.init, str) or self.init not in INITS:
            raise ValueError(f"init: expected one of {INITS}, a (Z, C) pair or a (values, index, C) triple of "
                             f"tensors, got {self.init!r}")
        if isinstance(self.tol, bool) or not isinstance(self.tol, (int, float)) or not 0 <= self.tol < 1:
            raise ValueError(f"tol: expected a number in [0, 1), got {self.tol!r}")

    def _check_given_start(self, n: int, d: int) -> None:
        s, triple = self.nonzeros_per_row, len(self.init) == 3
        shapes = ((n, s), (n, s), (self.rank, d)) if triple else ((n, self.rank), (self.rank, d))
        form = "a (values, index, C) triple" if triple else "a (Z, C) pair"
        if len(self.init) not in (2, 3) or not all(isinstance(t, torch.Tensor) and tuple(t.shape) == shape
                                                   for t, shape in zip(self.init, shapes)):
            raise ValueError(f"init: expected {form} of tensors of shapes {shapes}, got "
                             f"{[tuple(getattr(t, 'shape', ())) for t in self.init]}")
        if triple:
            index = self.init[1]
            if self.support != "row":
                raise ValueError(f"init: a (values, index, C) start needs support='row', got {self.support!r}")
            if index.dtype != torch.long or not bool(((index >= 0) & (index < self.rank)).all()):
                raise ValueError(f"init: expected index to hold int64 positions in [0, {self.rank}), got "
                                 f"{index.dtype} from {int(index.min())} to {int(index.max())}")
            if bool((index.sort(dim=1).values.diff(dim=1) == 0).any()):
                raise ValueError("init: expected distinct positions in every row of index, got a repeat")
        if not all(bool(torch.isfinite(t).all()) for t in self.init if t.is_floating_point()):
            raise ValueError(f"init: expected finite tensors in {form}, got a NaN or an infinity")

    # ---------- projections ----------
    def _project_z(self, Z: torch.Tensor):
        """``(values (rows, s), codes (rows, s), scales (channels,), index (rows, s), counts (rows,))``: the top-s
        entries of each row (``support="layer"``: the layer's top ``round(s · rows)``) on the grid of its output
        channel; ``Z`` itself, ``(rows, k)``, only where needed
        (:func:`~workbench.compression.row_sparse.dense`: it can be gigabytes)."""
        if self.support == "layer":
            keep = torch.zeros(Z.numel(), dtype=torch.bool)
            keep[Z.abs().reshape(-1).topk(self._layer_nonzeros).indices] = True
            keep = keep.reshape(Z.shape)
            counts = keep.sum(1)
            # each row's kept positions first (ascending), then unused ones: distinct, so padding never overwrites
            index = keep.to(torch.int8).argsort(dim=1, descending=True, stable=True)[:, :int(counts.max())]
            return self._project_z_on(Z.gather(1, index), index, valid=torch.arange(index.shape[1]) < counts[:, None])
        index = Z.abs().topk(self.nonzeros_per_row, dim=1).indices.sort(dim=1).values
        return self._project_z_on(Z.gather(1, index), index)

    def _project_z_on(self, picked: torch.Tensor, index: torch.Tensor, weights: torch.Tensor | None = None,
                      valid: torch.Tensor | None = None):
        """:meth:`_project_z` of ``Z`` given as its support: the values ``picked`` ``(rows, s)`` at ``index``
        ``(rows, s)``; ``weights`` ``(rows, s)`` weigh each entry's rounding error in the scale fit (``‖c_a‖²``: what
        it costs in ``Z C``); ``valid`` ``(rows, s)`` marks the entries of ``index`` that are stored (the rest get
        code 0 and value 0)."""
        counts = torch.full((len(index),), index.shape[1]) if valid is None else valid.sum(1)
        if self._ones:  # the value is implicit: code 0 on a grid of step 2 is 1 (what the kernel is handed)
            codes = torch.zeros(index.shape, dtype=torch.int8)
            scales = torch.full((self._channels,), 2.0)
            return torch.ones(index.shape), codes, scales, index, counts
        channel = (torch.arange(len(picked)) // self._rows_per_channel)[:, None].expand_as(index)
        if valid is None:
            scales = fit_group_scales(picked, channel, self._channels, self.bits_z, weights)
        else:
            scales = fit_group_scales(picked[valid], channel[valid], self._channels, self.bits_z,
                                      None if weights is None else weights[valid])
        codes = group_codes(picked, scales[channel], self.bits_z)
        values = grid_values(codes, scales[channel])
        if valid is not None:
            codes, values = codes * valid, values * valid
        return values, codes, scales, index, counts

    def _project_c(self, C: torch.Tensor):
        """``(Cq, codes (k, d), scales)``: ``scales`` ``(k,)`` (one per row) or ``(1,)`` (``c_scales="tensor"``);
        ``(I, None, None)`` for the identity dictionary."""
        if self._identity:
            return torch.eye(self.rank), None, None
        if self._c_groups == "row":
            return quantize(C, self.bits_c, dim=0)
        scale = fit_group_scales(C.reshape(-1), torch.zeros(C.numel(), dtype=torch.long), 1, self.bits_c)
        values, codes, _ = quantize(C, self.bits_c, dim=0, scales=scale.expand(C.shape[0]))
        return values, codes, scale

    # ---------- starts ----------
    def _start(self, M: torch.Tensor, restart: int):
        """``(Z, C)``, ``Z`` dense or as its support (:mod:`~workbench.compression.sqf_starts`)."""
        k = self.rank
        gen = torch.Generator().manual_seed(self.seed * 1000 + restart)
        init = self.init
        if self._identity:  # Z starts as W itself
            return M.clone(), torch.eye(k)
        if isinstance(init, tuple):  # a given start (restarts beyond the first perturb it slightly)
            return given_start(init, bool(restart), gen)
        if init == "auto":
            init = "kmeans" if self.nonzeros_per_row == 1 or k > M.shape[1] else "svd"
        if init == "kmeans":
            return residual_kmeans_start(M, k, self.nonzeros_per_row, not self._ones, self.seed * 1000 + restart * 10)
        if init == "grid":
            return uniform_grid_start(M, k, self.nonzeros_per_row, self._channels, self._ones)
        if init == "random":
            return random_start(M, k, gen)
        return svd_start(M, k, bool(restart), gen)

    # ---------- fit ----------
    def fit(self, W) -> "SparseQuantizedFactorization":
        W2 = weight_matrix(W)
        M = as_rows(W, self.row_length)
        self._check(W2 if self.row_length is None else M)
        short = self.row_length is not None and self.row_length > 1
        self._ones = self.z_values == "ones"
        self._identity = self.dictionary == "identity"
        self._layer_nonzeros = max(1, round(self.nonzeros_per_row * len(M)))  # support="layer"
        z_groups = ("tensor" if short else "channel") if self.z_scales == "auto" else self.z_scales
        self._channels = W2.shape[0] if z_groups == "channel" else 1
        self._rows_per_channel = len(M) // self._channels
        self._c_groups = ("row" if self.row_length is None else "tensor") if self.c_scales == "auto" else self.c_scales
        self.shape_ = tuple(W.shape)
        norm = float(torch.linalg.norm(M)) or 1.0
        best = None
        self.restart_errors_ = []
        for r in range(self.restarts):
            run = self._descend(M, norm, r)
            self.restart_errors_.append(run["error"])
            if best is None or run["error"] < best["error"]:
                best = run
        values, zc, zs, index, counts = best["z"]
        Cq, cc, cs = best["c"]
        self.z_values_, self.C_ = values, Cq
        self.z_index_ = index
        self.z_codes_ = zc
        self.z_counts_ = counts
        self.c_codes_ = cc
        self.scales_ = {"z": zs, "c": cs}
        self.history_ = best["history"]
        self.relative_error_ = best["error"]
        self.init_error_ = best["history"][0]
        n, d = M.shape
        z_bits, z_groups = (0, 0) if self._ones else (self.bits_z, self._channels)
        per_row = self.nonzeros_per_row if self.support == "row" else counts.tolist()
        self.storage_ = Storage(M.numel()) + sparse_values(n, self.rank, per_row, z_bits, z_groups)
        if not self._identity:
            self.storage_ += dense_values(self.rank * d, self.bits_c, len(cs))
        return self

    def _descend(self, M: torch.Tensor, norm: float, restart: int) -> dict:
        Zl, Cl = self._start(M, restart)
        if isinstance(Zl, tuple):  # a start given as its support
            z = self._project_z_on(*Zl)
            Zl = dense(*Zl, self.rank) if self.z_step == "gradient" else None
        else:
            z = self._project_z(Zl)
        c = self._project_c(Cl)
        history = []
        best = None
        if self._identity:  # C = I is fixed: the projection of W itself (its s largest weights per row) is optimal
            err = float(torch.linalg.norm(M - dense(z[0], z[3], self.rank))) / norm
            return {"error": err, "z": z, "c": c, "history": [err]}
        if self.z_step == "pursuit":
            del Zl  # the start's dense Z: the pursuit does not read it again
        for step in range(self.steps + 1):
            err = float(torch.linalg.norm(M - product(z[0], z[3], c[0]))) / norm
            history.append(err)
            if best is None or err < best["error"]:
                best = {"error": err, "z": z, "c": c}
            if step == self.steps or self._converged(history):
                break
            Cq = c[0]
            if self.z_step == "pursuit":
                z = self._pursuit_z(M, Cq, z[2])
            else:
                Zq = dense(z[0], z[3], self.rank)
                grad_z = (Zq @ Cq - M) @ Cq.T
                eta = 1.0 / max(float(torch.linalg.matrix_norm(Cq @ Cq.T, ord=2)), 1e-12)
                Zl = (Zl if self.straight_through else Zq) - eta * grad_z
                if self.debias:
                    Zl = self._debias_z(M, Zl, Cq)
                z = self._project_z(Zl)
            if self.debias:  # the exact minimiser over C for this Z (a ridge-stabilised least squares)
                Cl = least_squares_dictionary(z[0], z[3], M, self.rank)
            else:
                Zq = dense(z[0], z[3], self.rank)
                grad_c = Zq.T @ (Zq @ Cq - M)
                eta = 1.0 / max(float(torch.linalg.matrix_norm(Zq.T @ Zq, ord=2)), 1e-12)
                Cl = (Cl if self.straight_through else Cq) - eta * grad_c
            c = self._project_c(Cl)
        best["history"] = history
        return best

    def _pursuit_z(self, M: torch.Tensor, C: torch.Tensor, scales: torch.Tensor):
        """Quantized greedy pursuit: ``s`` rounds, each adding to every row the atom and the code on its channel's
        grid that reduce the residual most (``2 v ⟨r, c_a⟩ − v² ‖c_a‖²`` for the nearest code ``v`` of the
        least-squares gain ``⟨r, c_a⟩ / ‖c_a‖²``): the exact projection for ``s = 1``, greedy beyond. The support
        is then kept, its values refitted by least squares, the channel scales refitted and the values rounded."""
        n, s = len(M), self.nonzeros_per_row
        norms = (C * C).sum(1)  # (k,)
        if s == self.rank and not self._ones:  # dense Z: no support to choose, one least squares for all rows
            index = torch.arange(s).expand(n, s)
            return self._project_z_on(ridge(C.T, M.T).T, index, weights=norms[index])  # (n, k): the values at index
        channel = torch.arange(n) // self._rows_per_channel
        step = torch.where(scales > 0, scales, torch.ones_like(scales))[channel][:, None]  # (n, 1)
        usable = norms > 0
        R = M.clone()
        picks = torch.empty(n, s, dtype=torch.long)  # (no (n, k) mask of the chosen atoms: it can be gigabytes)
        rows = max(1, _CHUNK // self.rank)  # rows per block: the (rows, k) temporaries stay in cache
        for j in range(s):
            for a in range(0, n, rows):
                b = min(n, a + rows)
                corr = R[a:b] @ C.T  # (rows, k)
                if self._ones:
                    gain_err = 2 * corr - norms
                else:
                    value = step[a:b] * nearest_levels(corr / norms.clamp_min(1e-30), step[a:b], self.bits_z)
                    gain_err = 2 * value * corr - value ** 2 * norms
                gain_err.masked_fill_(~usable, float("-inf")).scatter_(1, picks[a:b, :j], float("-inf"))
                pick = gain_err.argmax(1)
                picks[a:b, j] = pick
                picked = 1.0 if self._ones else value.gather(1, pick[:, None])
                R[a:b] -= picked * C[pick]
        index = picks.sort(dim=1).values  # s distinct atoms in a row: its picks are its support
        short = (index.diff(dim=1) == 0).any(1).nonzero()[:, 0]  # fewer usable atoms than s: a pick repeated
        if len(short):  # there the chosen atoms first, then unused ones, still distinct
            chosen = torch.zeros(len(short), self.rank, dtype=torch.int8).scatter_(1, picks[short], 1)
            index[short] = chosen.argsort(dim=1, descending=True, stable=True)[:, :s].sort(dim=1).values
        if self._ones:
            return self._project_z_on(torch.ones(index.shape), index)  # (only the support matters)
        return self._project_z_on(self._least_squares_on(M, C, index), index, weights=norms[index])

    def _least_squares_on(self, M: torch.Tensor, C: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """``(n, s)``: each row's least-squares values on its support ``index`` ``(n, s)`` (ridge-stabilised
        ``s × s`` normal equations, batched)."""
        A = C[index]  # (n, s, d)
        gram = A @ A.transpose(1, 2)
        ridge = 1e-6 * gram.diagonal(dim1=1, dim2=2).mean(1).clamp_min(1e-12)[:, None, None]
        return torch.linalg.solve(gram + ridge * torch.eye(gram.shape[1]), A @ M[:, :, None])[:, :, 0]

    def _debias_z(self, M: torch.Tensor, Zl: torch.Tensor, C: torch.Tensor) -> torch.Tensor:
        """Hard thresholding pursuit's second half: on each row's top-s support of ``Zl`` the least-squares values
        ``z_S = argmin ‖m − z_S C_S‖`` (batched ``s × s`` normal equations, ridge-stabilised)."""
        index = Zl.abs().topk(self.nonzeros_per_row, dim=1).indices
        return dense(self._least_squares_on(M, C, index), index, self.rank)

    def _converged(self, history: list[float], window: int = 25) -> bool:
        return len(history) > window and min(history[:-window]) - min(history[-window:]) < self.tol * history[0]

    # ---------- results ----------
    def _fitted(self):
        if not hasattr(self, "z_values_"):
            raise RuntimeError("SparseQuantizedFactorization: call fit(W) first")

    def reconstruct(self) -> torch.Tensor:
        """``Ŵ = Z C`` in ``W``'s shape (float32)."""
        self._fitted()
        if self._identity:  # C = I: Z is Ŵ
            return self.Z_.reshape(self.shape_)
        return product(self.z_values_, self.z_index_, self.C_).reshape(self.shape_)

    @property
    def Z_(self) -> torch.Tensor:
        """``Z`` ``(rows, k)``, dense (built on each access from ``z_index_`` and ``z_values_``)."""
        self._fitted()
        return dense(self.z_values_, self.z_index_, self.rank)

    @property
    def factors_(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(Z_, C_)``, as the factorizing baselines name them."""
        self._fitted()
        return self.Z_, self.C_

    def kernel_arguments(self) -> dict:
        """The factors as :func:`kernels.factorized_linear` takes them (whole rows only: ``row_length=None``)."""
        self._fitted()
        if self.row_length is not None:
            raise ValueError(f"row_length: the factorized product needs whole rows (None), got {self.row_length}")
        if self.support != "row":
            raise ValueError(f"support: the factorized product takes s non-zeros in every row ('row'), got "
                             f"{self.support!r}")
        for name in ("bits_z", "bits_c"):
            if getattr(self, name) > 8:
                raise ValueError(f"{name}: the kernel takes int8 codes (at most 8 bits), got {getattr(self, name)}")
        c_scale = None if self._identity else self.scales_["c"].expand(self.rank).contiguous()
        return {"z_index": self.z_index_, "z_code": self.z_codes_, "z_scale": self.scales_["z"],
                "c_code": self.c_codes_, "c_scale": c_scale}

    def __repr__(self) -> str:
        values = (", z_values='ones'" if self.z_values == "ones" else "") + (
            ", dictionary='identity'" if self.dictionary == "identity" else "") + (
            ", support='layer'" if self.support == "layer" else "")
        return (f"SparseQuantizedFactorization(rank={self.rank}, nonzeros_per_row={self.nonzeros_per_row}, "
                f"bits_z={self.bits_z}, bits_c={self.bits_c}, row_length={self.row_length}{values})")
