"""The baselines SQF is compared with at equal storage, each a small estimator in the scikit-learn spirit
(constructor stores, ``fit(W)`` returns ``self``, learned attributes end in ``_``; ``reconstruct()`` gives ``Ŵ`` in
``W``'s shape; ``storage_`` is the shared accountant's :class:`~workbench.compression.storage.Storage`; the
factorizing ones keep ``factors_ = (Z, C)``, dequantized, with ``Z C`` the rows of ``Ŵ``):

* :class:`UniformQuantization`: every weight a ``bits``-bit code, one scale per row (output channel);
* :class:`PrunedQuantization`: magnitude pruning of the layer to ``sparsity``, the survivors quantized per row;
* :class:`QuantizedSVD`: truncated SVD ``W ≈ (U√S)(√S Vᵀ)``, both factors quantized;
* :class:`VectorQuantization`: k-means codebook of ``codewords`` over sub-vectors of ``row_length`` (codebook fp16);
* :class:`SparsePCACompression`: scikit-learn's ``SparsePCA`` on ``Wᵀ``, so that the sparse components form a
  sparse left factor ``Z`` ``(n, k)`` and the codes the right factor ``C``; both quantized.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from workbench.checks import check_int
from workbench.compression.quantize import check_bits, quantize
from workbench.compression.row_sparse import dense
from workbench.compression.shapes import as_rows, weight_matrix
from workbench.compression.storage import CODEBOOK_BITS, Storage, dense_values, position_bits, sparse_values

__all__ = ["UniformQuantization", "PrunedQuantization", "QuantizedSVD", "VectorQuantization",
           "SparsePCACompression", "BASELINES"]


class _Compressor:
    """What every baseline shares: the fitted reconstruction, its error and its storage."""

    def _finish(self, W, M_hat: torch.Tensor, M: torch.Tensor, storage: Storage):
        self.shape_ = tuple(W.shape)
        self.W_hat_ = M_hat.reshape(self.shape_)
        self.storage_ = storage
        self.relative_error_ = float(torch.linalg.norm(M - M_hat) / (torch.linalg.norm(M) or 1.0))
        return self

    def reconstruct(self) -> torch.Tensor:
        if not hasattr(self, "W_hat_"):
            raise RuntimeError(f"{type(self).__name__}: call fit(W) first")
        return self.W_hat_

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({args})"


def _check_rank(rank, M: torch.Tensor) -> None:
    check_int("rank", rank, 1)
    if rank > min(M.shape):
        raise ValueError(f"rank: expected at most min(W.shape) = {min(M.shape)}, got {rank}")


class UniformQuantization(_Compressor):
    """``bits``-bit codes for every weight, one fp32 scale per row: ``bits + 32 / d`` bits per weight."""

    def __init__(self, bits: int = 4):
        self.bits = bits

    def fit(self, W) -> "UniformQuantization":
        M = weight_matrix(W)
        check_bits("bits", self.bits)
        values, _, _ = quantize(M, self.bits, dim=0)
        return self._finish(W, values, M, Storage(M.numel()) + dense_values(M.numel(), self.bits, M.shape[0]))


class PrunedQuantization(_Compressor):
    """Keep the ``1 - sparsity`` largest ``|w|`` of the layer, quantize them (``bits``, a scale per row); store
    their positions per row (list or bitmap, whichever is smaller)."""

    def __init__(self, sparsity: float = 0.5, bits: int = 4):
        self.sparsity = sparsity
        self.bits = bits

    def fit(self, W) -> "PrunedQuantization":
        M = weight_matrix(W)
        mask, storage = self._plan(M)
        values, _, _ = quantize(M, self.bits, dim=0, mask=mask)
        return self._finish(W, values, M, storage)

    def _plan(self, M: torch.Tensor) -> tuple[torch.Tensor, Storage]:
        check_bits("bits", self.bits)
        if isinstance(self.sparsity, bool) or not isinstance(self.sparsity, (int, float)) or \
                not 0 <= self.sparsity < 1:
            raise ValueError(f"sparsity: expected a number in [0, 1), got {self.sparsity!r}")
        keep = max(1, round((1 - self.sparsity) * M.numel()))
        mask = torch.zeros(M.numel(), dtype=torch.bool)
        mask[M.abs().reshape(-1).topk(keep).indices] = True
        mask = mask.reshape(M.shape)
        counts = mask.sum(1).tolist()
        return mask, Storage(M.numel()) + sparse_values(M.shape[0], M.shape[1], counts, self.bits, M.shape[0])

    def storage_for(self, W) -> Storage:
        """What :meth:`fit` would store for ``W`` (the mask decides the positions), without quantizing."""
        return self._plan(weight_matrix(W))[1]


class QuantizedSVD(_Compressor):
    """Truncated SVD of rank ``rank``, the singular values split evenly (``Z = U√S``, ``C = √S Vᵀ``), both
    quantized at ``bits`` with a scale per row (``Z``'s rows are the output channels: SQF's layout)."""

    def __init__(self, rank: int = 8, bits: int = 4):
        self.rank = rank
        self.bits = bits

    def fit(self, W) -> "QuantizedSVD":
        M = weight_matrix(W)
        _check_rank(self.rank, M)
        check_bits("bits", self.bits)
        U, S, Vh = torch.linalg.svd(M.double(), full_matrices=False)
        root = S[:self.rank].sqrt()
        Z, _, _ = quantize((U[:, :self.rank] * root).float(), self.bits, dim=0)
        C, _, _ = quantize((root[:, None] * Vh[:self.rank]).float(), self.bits, dim=0)
        n, d = M.shape
        self.factors_ = (Z, C)
        storage = (Storage(M.numel()) + dense_values(n * self.rank, self.bits, n)
                   + dense_values(self.rank * d, self.bits, self.rank))
        return self._finish(W, Z @ C, M, storage)


class VectorQuantization(_Compressor):
    """k-means (scikit-learn) over the sub-vectors of ``row_length``: each stored as the number of its nearest of
    ``codewords`` centroids (``ceil(log2 codewords)`` bits); the codebook in fp16."""

    def __init__(self, codewords: int = 256, row_length: int = 4, seed: int = 0):
        self.codewords = codewords
        self.row_length = row_length
        self.seed = seed

    def fit(self, W) -> "VectorQuantization":
        from sklearn.cluster import KMeans

        M = as_rows(W, self.row_length)
        check_int("codewords", self.codewords, 1)
        check_int("seed", self.seed, 0)
        if self.codewords > len(M):
            raise ValueError(f"codewords: expected at most the {len(M)} sub-vectors, got {self.codewords}")
        km = KMeans(self.codewords, n_init=1, random_state=self.seed).fit(M.double().numpy())
        book = torch.as_tensor(km.cluster_centers_, dtype=torch.float32).half().float()  # stored in fp16
        self.codebook_ = book
        self.labels_ = torch.as_tensor(km.labels_, dtype=torch.long)
        storage = Storage(M.numel(), indices=len(M) * position_bits(self.codewords),
                          codebooks=book.numel() * CODEBOOK_BITS)
        return self._finish(W, book[self.labels_], M, storage)

    @property
    def factors_(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(Z, C)``: ``Z`` ``(sub-vectors, codewords)`` one-hot (dense, built on access: 100,000 sub-vectors and
        4,096 codewords are 1.6 GB), ``C`` the codebook."""
        if not hasattr(self, "labels_"):
            raise RuntimeError("VectorQuantization: call fit(W) first")
        labels = self.labels_[:, None]  # Z's support: one 1 per row
        return dense(torch.ones(labels.shape), labels, self.codewords), self.codebook_


class SparsePCACompression(_Compressor):
    """scikit-learn's ``SparsePCA(rank, alpha)`` fitted on ``Wᵀ`` (the columns of ``W`` are the samples): its sparse
    components are ``Zᵀ``; ``C`` is the least-squares right factor for them (scikit-learn centres the samples to
    find the components; the weight itself is what is factorized). The non-zeros of ``Z`` are quantized at
    ``bits`` (scale per column, positions per row) and ``C`` at ``bits`` (scale per row)."""

    def __init__(self, rank: int = 8, alpha: float = 1.0, bits: int = 4, seed: int = 0):
        self.rank = rank
        self.alpha = alpha
        self.bits = bits
        self.seed = seed

    def fit(self, W) -> "SparsePCACompression":
        from sklearn.decomposition import SparsePCA

        M = weight_matrix(W)
        _check_rank(self.rank, M)
        check_bits("bits", self.bits)
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, (int, float)) or not \
                (self.alpha >= 0 and math.isfinite(self.alpha)):
            raise ValueError(f"alpha: expected a finite number >= 0, got {self.alpha!r}")
        X = M.T.double().numpy()  # (d, n): d samples of n features
        spca = SparsePCA(self.rank, alpha=self.alpha, ridge_alpha=1e-6, max_iter=30, tol=1e-4,
                         random_state=self.seed)
        comps = spca.fit(X).components_  # (k, n), sparse
        Z = torch.as_tensor(comps.T, dtype=torch.float32)  # (n, k)
        mask = Z != 0
        # the best C for this Z (least squares), as the codes would be without the mean
        C = torch.as_tensor(np.linalg.lstsq(Z.double().numpy(), M.double().numpy(), rcond=None)[0],
                            dtype=torch.float32)
        Zq, _, _ = quantize(Z, self.bits, dim=1, mask=mask)
        Cq, _, _ = quantize(C, self.bits, dim=0)
        n, d = M.shape
        self.sparsity_ = 1 - float(mask.float().mean())
        self.factors_ = (Zq, Cq)
        storage = (Storage(M.numel()) + sparse_values(n, self.rank, mask.sum(1).tolist(), self.bits, self.rank)
                   + dense_values(self.rank * d, self.bits, self.rank))
        return self._finish(W, Zq @ Cq, M, storage)


BASELINES = {"quant": UniformQuantization, "prune_quant": PrunedQuantization, "svd": QuantizedSVD,
             "vq": VectorQuantization, "sparse_pca": SparsePCACompression}
