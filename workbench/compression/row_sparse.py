"""Products and least squares with a row-sparse factor ``Z`` ``(rows, k)`` held as its support: ``values``
``(rows, s)`` at the positions ``index`` ``(rows, s)`` (padding entries hold value 0). When ``Z`` is sparse
(``4 s <= k``) the sums run over the support (``s`` or ``s²`` terms per row instead of ``k`` or ``k²``); otherwise
the dense formulas are cheaper and are used."""

from __future__ import annotations

import torch

__all__ = ["dense", "product", "least_squares_dictionary", "ridge"]


def _sparse(index: torch.Tensor, k: int) -> bool:
    return 4 * index.shape[1] <= k


def dense(values: torch.Tensor, index: torch.Tensor, k: int) -> torch.Tensor:
    """``Z`` ``(rows, k)``: ``values`` scattered to ``index``."""
    return torch.zeros(len(index), k).scatter_(1, index, values)


def product(values: torch.Tensor, index: torch.Tensor, C: torch.Tensor) -> torch.Tensor:
    """``Z C`` ``(rows, L)`` for a dictionary ``C`` ``(k, L)``."""
    if not _sparse(index, len(C)):
        return dense(values, index, len(C)) @ C
    return (values[:, :, None] * C[index]).sum(1)


def least_squares_dictionary(values: torch.Tensor, index: torch.Tensor, M: torch.Tensor, k: int) -> torch.Tensor:
    """:func:`ridge` for this ``Z``: ``ZᵀZ`` and ``Zᵀ M`` summed from the support when ``Z`` is sparse (a division
    when ``s = 1``: ``ZᵀZ`` is then diagonal), same ridge."""
    if not _sparse(index, k):
        return ridge(dense(values, index, k), M)
    s = index.shape[1]
    v = values.double()  # (rows, s)
    rhs = torch.zeros(k, M.shape[1], dtype=torch.float64).index_add_(
        0, index.reshape(-1), (v[:, :, None] * M.double()[:, None, :]).reshape(len(M) * s, -1))
    if s == 1:
        diagonal = torch.zeros(k, dtype=torch.float64).index_add_(0, index[:, 0], v[:, 0] ** 2)
        return (rhs / (diagonal + _ridge_lambda(diagonal))[:, None]).float()
    pairs = (index[:, :, None] * k + index[:, None, :]).reshape(-1)
    gram = torch.zeros(k * k, dtype=torch.float64).index_add_(
        0, pairs, (v[:, :, None] * v[:, None, :]).reshape(-1)).reshape(k, k)
    return _solve_ridge(gram, rhs)


def ridge(Z: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
    """``argmin_C ‖M − Z C‖² + λ‖C‖²`` with a tiny ``λ`` (relative to ``ZᵀZ``'s diagonal): ``(k, d)``."""
    return _solve_ridge(Z.T.double() @ Z.double(), Z.T.double() @ M.double())


def _solve_ridge(gram: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
    """``(gram + λ I)⁻¹ rhs`` in float64, ``λ = 10⁻⁶ · mean(diag gram) + 10⁻¹²``; returned as float32."""
    eye = torch.eye(gram.shape[0], dtype=torch.float64)
    return torch.linalg.solve(gram + _ridge_lambda(gram.diagonal()) * eye, rhs).float()


def _ridge_lambda(diagonal: torch.Tensor) -> float:
    return 1e-6 * float(diagonal.mean()) + 1e-12
