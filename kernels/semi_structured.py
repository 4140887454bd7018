"""PyTorch's semi-structured (2:4) sparse tensors for GPU matmuls, with a dense fallback.

``to_semi_structured(w)`` prunes ``w`` 2:4 along its rows (the reduction dim of ``x @ w.T``) and, on
an NVIDIA GPU of compute capability >= 8.0 with a supported dtype and shape, converts it with
``torch.sparse.to_sparse_semi_structured`` (cuSPARSELt kernels; CUTLASS where cuSPARSELt is missing or
``SparseSemiStructuredTensor._FORCE_CUTLASS`` is set). Elsewhere it returns the dense pruned tensor, so
``nm_linear`` gives the same result on every machine.

Backward. PyTorch's ``SparseSemiStructuredTensor`` (torch 2.13) runs ``x @ W.T`` as ``W @ x.T`` with ``W``
compressed along ``in``. The gradient to ``x``, ``grad @ W``, reduces over ``out``, along which ``W`` is not 2:4
(a compressed transpose ``packed_t`` is only built by ``prune_dense_static_sort``, whose 4x4-tile mask is not
our row-wise one), so torch's own autograd raises ``NotImplementedError`` there; the gradient to the weight,
``grad.T @ x``, has no sparse operand, and the compressed tensor has no pointwise or in-place ops to update it.
So ``nm_linear`` runs its own autograd function on a compressed weight when ``x`` or ``bias`` requires grad:
sparse forward, dense backward ``grad @ W_pruned`` (and ``grad.sum`` to the bias); the weight gets no gradient
(it is a constant). ``W_pruned`` is the dense copy kept by ``to_semi_structured(w, keep_dense=True)``, else it
is rebuilt from the compressed tensor at each backward (slow on cuSPARSELt, whose ``to_dense`` is a matmul with
the identity). On the dense fallback ``nm_linear`` is plain ``F.linear`` (gradients to ``x``, weight, bias).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from kernels.nm_mask import nm_prune

__all__ = ["semi_structured_supported", "semi_structured_backend", "to_semi_structured", "from_semi_structured",
           "nm_linear"]

# minimum (rows, cols) of the sparse operand, from torch.sparse.semi_structured's constraints (CUTLASS's, the
# stricter of the two backends, so that either can take the tensor)
_MIN_SHAPE = {torch.float16: (32, 64), torch.bfloat16: (32, 64), torch.int8: (32, 128)}
_DENSE_ATTR = "_workbench_dense"  # the dense pruned copy kept on a compressed tensor (keep_dense=True)


def semi_structured_supported(w: torch.Tensor) -> bool:
    """True if ``w`` can become a ``SparseSemiStructuredTensor`` on this machine."""
    if w.device.type != "cuda" or w.dim() != 2 or w.dtype not in _MIN_SHAPE:
        return False
    if torch.cuda.get_device_capability(w.device) < (8, 0):
        return False
    r, c = _MIN_SHAPE[w.dtype]
    return w.shape[0] % r == 0 and w.shape[1] % c == 0


def _is_semi_structured(w: torch.Tensor) -> bool:
    return isinstance(w, torch.sparse.SparseSemiStructuredTensor)


def semi_structured_backend(w: torch.Tensor) -> str | None:
    """``"cusparselt"`` or ``"cutlass"`` for a ``SparseSemiStructuredTensor``, ``None`` for a dense tensor."""
    return w.BACKEND if _is_semi_structured(w) else None


def to_semi_structured(w: torch.Tensor, *, keep_dense: bool = False) -> torch.Tensor:
    """2:4-prune ``w`` (along dim 1) and convert it where supported; else the dense pruned tensor.

    ``keep_dense``: the compressed tensor also keeps the dense pruned tensor (detached; as much memory again as
    ``w``), which :func:`nm_linear`'s backward uses for the gradient to ``x``. No effect on the dense fallback.
    """
    pruned = nm_prune(w, 2, 4, dim=-1)
    if not semi_structured_supported(pruned):
        return pruned
    dense = pruned.detach().contiguous()
    sparse = _compress(dense)
    if keep_dense:
        setattr(sparse, _DENSE_ATTR, dense)
    return sparse


def _compress(dense: torch.Tensor) -> torch.Tensor:
    """``dense`` (2:4 along dim 1) as a ``SparseSemiStructuredTensor``: cuSPARSELt, else CUTLASS."""
    from torch.sparse import SparseSemiStructuredTensor, SparseSemiStructuredTensorCUTLASS, to_sparse_semi_structured

    if SparseSemiStructuredTensor._FORCE_CUTLASS or torch.backends.cusparselt.is_available():
        return to_sparse_semi_structured(dense)  # cuSPARSELt unless _FORCE_CUTLASS
    return SparseSemiStructuredTensorCUTLASS.from_dense(dense)


def from_semi_structured(w: torch.Tensor) -> torch.Tensor:
    """The dense tensor of ``w`` (identity for a dense tensor)."""
    kept = getattr(w, _DENSE_ATTR, None)
    return kept if kept is not None else w.to_dense()  # a strided tensor returns itself


class _SparseWeightLinear(torch.autograd.Function):
    """``F.linear(x, w, bias)`` with ``w`` compressed: the forward on the sparse kernels, the backward dense
    (``grad @ W_pruned`` to ``x``, ``grad`` summed to ``bias``); no gradient to ``w``."""

    @staticmethod
    def forward(ctx, x, w, bias):
        ctx.w = w
        return F.linear(x, w, bias)

    @staticmethod
    def backward(ctx, grad):
        grad_x = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_x = grad @ from_semi_structured(ctx.w)  # (..., out) @ (out, in)
        if ctx.needs_input_grad[2]:
            grad_bias = grad.reshape(-1, grad.shape[-1]).sum(0)
        return grad_x, None, grad_bias


def nm_linear(x: torch.Tensor, w: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``x @ w.T + bias`` with ``w`` from :func:`to_semi_structured` (sparse kernels or dense fallback).

    Differentiable in ``x`` and ``bias`` on both paths (see the module docstring: the backward of a compressed
    ``w`` is dense), and in ``w`` on the dense fallback only.
    """
    if _is_semi_structured(w) and torch.is_grad_enabled() and (
            x.requires_grad or (bias is not None and bias.requires_grad)):
        return _SparseWeightLinear.apply(x, w, bias)
    return F.linear(x, w, bias)
