"""The reshaping rule every compressor shares: a weight tensor as a matrix of rows.

* a linear weight ``(n, d)`` is itself;
* a convolution weight ``(C_out, C_in, kh, kw)`` is ``(C_out, C_in * kh * kw)``: one row per output channel, the
  order in which ``conv2d`` unfolds its input patches;
* with ``row_length = L`` (which must divide the row) each row is cut into consecutive sub-vectors of length ``L``:
  ``(n * d / L, L)``, the sub-vectors of vector quantization.

Any other number of dimensions has no rule and is refused.
"""

from __future__ import annotations

import numpy as np
import torch

from workbench.checks import check_int

__all__ = ["as_rows", "weight_matrix"]


def weight_matrix(W, name: str = "W") -> torch.Tensor:
    """``W`` (a tensor or array) as a finite float32 ``(rows, columns)`` matrix by the rule above."""
    if isinstance(W, np.ndarray):
        W = torch.from_numpy(W)
    if not isinstance(W, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor or numpy array, got {type(W).__name__}")
    if not (W.is_floating_point()):
        raise TypeError(f"{name}: expected a floating-point tensor, got dtype {W.dtype}")
    if W.ndim == 2:
        M = W
    elif W.ndim == 4:
        M = W.reshape(W.shape[0], -1)
    else:
        raise ValueError(f"{name}: expected a 2-D weight (n, d) or a 4-D convolution weight (C_out, C_in, kh, kw), "
                         f"got shape {tuple(W.shape)}; reshape it to 2-D first")
    if M.numel() == 0:
        raise ValueError(f"{name}: expected a non-empty weight, got shape {tuple(W.shape)}")
    M = M.detach().to(torch.float32)
    if not torch.isfinite(M).all():
        raise ValueError(f"{name}: expected finite values, got {int((~torch.isfinite(M)).sum())} NaN or infinite")
    return M


def as_rows(W, row_length: int | None = None, name: str = "W") -> torch.Tensor:
    """``W`` as rows of ``row_length`` (default: whole rows of :func:`weight_matrix`); ``.reshape(W.shape)`` of
    the result (or of a reconstruction of it) gives ``W``'s shape back."""
    M = weight_matrix(W, name)
    if row_length is None:
        return M
    check_int("row_length", row_length, 1)
    if M.shape[1] % row_length:
        raise ValueError(f"row_length: expected a divisor of the row length {M.shape[1]}, got {row_length}")
    return M.reshape(-1, row_length)
