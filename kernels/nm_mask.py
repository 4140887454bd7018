"""MSE-optimal N:M mask: keep the ``n`` largest-magnitude entries of every block of ``m``.

For a block :math:`a \\in \\mathbb{R}^m` the mask :math:`\\mu \\in \\{0,1\\}^m, \\sum\\mu = n`
minimising :math:`\\|a - \\mu \\odot a\\|^2` keeps the ``n`` largest :math:`|a_i|`. Ties are broken
towards the lower index, so the mask is deterministic.

Shapes:
    x: any shape with ``x.shape[dim] % m == 0``; the mask has the same shape (bool).
"""

from __future__ import annotations

import torch

from kernels import _fused_cpu, _triton
from kernels._backend import choose_backend
from kernels._blocks import check_all_finite, check_nm, check_types, from_blocks, raise_on_flags, to_blocks

__all__ = ["nm_mask", "nm_prune"]


def _block_rank(mag: torch.Tensor) -> torch.Tensor:
    """Rank of each entry within its block (0 = largest magnitude, ties to the lower index).

    ``mag``: ``(num_blocks, m)``. Uses ``m`` broadcast comparisons instead of a sort, which is
    faster than ``topk`` for the small ``m`` of N:M sparsity.
    """
    m = mag.shape[-1]
    rank = torch.zeros(mag.shape, dtype=torch.int8 if m <= 127 else torch.int32, device=mag.device)
    for j in range(m):
        col = mag[:, j : j + 1]
        beats = col > mag
        # entry j also outranks equal entries that come after it
        beats[:, j + 1 :] |= col == mag[:, j + 1 :]
        beats[:, j] = False
        rank += beats
    return rank


def nm_mask(x: torch.Tensor, n: int, m: int, dim: int = -1) -> torch.Tensor:
    """Boolean N:M mask keeping the ``n`` largest-magnitude entries of each block of ``m``.

    Args:
        x: floating tensor; ``x.shape[dim]`` must be a multiple of ``m``.
        n, m: keep ``n`` of every ``m`` consecutive entries (``1 <= n < m``).
        dim: the dimension along which blocks are formed.

    Returns:
        ``torch.bool`` tensor of ``x.shape`` with exactly ``n`` ``True`` per block.
    """
    dim = check_nm(x, n, m, dim, check_finite=False)
    triton = choose_backend(x, supported=m <= 8, what=f"nm_mask {n}:{m}") == "triton"
    if not triton:  # the Triton kernel checks x as it reads it
        check_all_finite(x)
    blocks = to_blocks(x, m, dim)
    if triton:
        _, mask, flags = _triton.nm_prune_blocks(blocks, n, m, with_mask=True)
        raise_on_flags(x, flags)
        return from_blocks(mask, x, dim)
    keep = _block_rank(blocks.abs()) < n
    return from_blocks(keep, x, dim)


@torch.library.custom_op("workbench::nm_prune", mutates_args=())
def _nm_prune_op(x: torch.Tensor, n: int, m: int, dim: int) -> torch.Tensor:
    dim = check_nm(x, n, m, dim, check_finite=False)
    triton = choose_backend(x, supported=m <= 8, what=f"nm_prune {n}:{m}") == "triton"
    fused = not triton and _fused_cpu.fused_available(x, n, m, "mse")
    if not (triton or fused):  # the Triton and fused CPU kernels check x as they read it: one pass over memory
        check_all_finite(x)
    blocks = to_blocks(x, m, dim)
    if triton or fused:
        out, flags = _triton.nm_prune_blocks(blocks, n, m) if triton else _fused_cpu.nm_prune_blocks(blocks, n, m)
        raise_on_flags(x, flags)
        return from_blocks(out, x, dim).contiguous()
    keep = _block_rank(blocks.abs()) < n
    return from_blocks(torch.where(keep, blocks, torch.zeros((), dtype=x.dtype, device=x.device)), x, dim).contiguous()


@_nm_prune_op.register_fake
def _(x, n, m, dim):
    return torch.empty_like(x, memory_format=torch.contiguous_format)


def _nm_prune_setup(ctx, inputs, output):
    x, n, m, dim = inputs
    ctx.save_for_backward(x)
    ctx.nm = (n, m, dim)


def _nm_prune_backward(ctx, grad):
    (x,) = ctx.saved_tensors
    n, m, dim = ctx.nm
    return grad * nm_mask(x, n, m, dim), None, None, None  # d(mask * x)/dx = mask


_nm_prune_op.register_autograd(_nm_prune_backward, setup_context=_nm_prune_setup)


def nm_prune(x: torch.Tensor, n: int, m: int, dim: int = -1) -> torch.Tensor:
    """``x`` with its MSE-optimal N:M mask applied (dropped entries set to zero).

    Same shape and dtype as ``x`` (contiguous); at most ``n`` non-zeros per block of ``m`` along
    ``dim``. Registered as ``torch.ops.workbench.nm_prune``: it works under ``torch.compile`` and
    autograd (the gradient passes through the kept entries).
    """
    check_types(x, n, m, dim)
    return _nm_prune_op(x, n, m, dim)
