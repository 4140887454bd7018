"""PyTorch's semi-structured (2:4) sparse tensors for GPU matmuls, with a dense fallback.

``to_semi_structured(w)`` prunes ``w`` 2:4 along its rows (the reduction dim of ``x @ w.T``) and, on
an NVIDIA GPU of compute capability >= 8.0 with a supported dtype and shape, converts it with
``torch.sparse.to_sparse_semi_structured`` (CUTLASS / cuSPARSELt kernels). Elsewhere it returns the
dense pruned tensor, so ``nm_linear`` gives the same result on every machine.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from kernels.nm_mask import nm_prune

__all__ = ["semi_structured_supported", "to_semi_structured", "from_semi_structured", "nm_linear"]

# minimum (rows, cols) of the sparse operand, from torch.sparse.semi_structured's constraints
_MIN_SHAPE = {torch.float16: (32, 64), torch.bfloat16: (32, 64), torch.int8: (32, 128)}


def semi_structured_supported(w: torch.Tensor) -> bool:
    """True if ``w`` can become a ``SparseSemiStructuredTensor`` on this machine."""
    if w.device.type != "cuda" or w.dim() != 2 or w.dtype not in _MIN_SHAPE:
        return False
    if torch.cuda.get_device_capability(w.device) < (8, 0):
        return False
    r, c = _MIN_SHAPE[w.dtype]
    return w.shape[0] % r == 0 and w.shape[1] % c == 0


def to_semi_structured(w: torch.Tensor) -> torch.Tensor:
    """2:4-prune ``w`` (along dim 1) and convert it where supported; else the dense pruned tensor."""
    pruned = nm_prune(w, 2, 4, dim=-1)
    if semi_structured_supported(pruned):
        from torch.sparse import to_sparse_semi_structured

        return to_sparse_semi_structured(pruned.contiguous())
    return pruned


def from_semi_structured(w: torch.Tensor) -> torch.Tensor:
    """The dense tensor of ``w`` (identity for a dense tensor)."""
    return w.to_dense()  # a strided tensor returns itself


def nm_linear(x: torch.Tensor, w: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``x @ w.T + bias`` with ``w`` from :func:`to_semi_structured` (sparse kernels or dense fallback)."""
    return F.linear(x, w, bias)
