"""Straightforward reference implementations, the baseline the benchmark compares against."""

from __future__ import annotations

import torch

__all__ = ["nm_prune_topk", "mvue_prune_sorted"]


def nm_prune_topk(x: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """N:M pruning along the last dim the way most code does it: ``topk`` per block + ``scatter``."""
    blocks = x.reshape(-1, m)
    idx = blocks.abs().topk(n, dim=-1).indices
    mask = torch.zeros_like(blocks, dtype=torch.bool).scatter_(-1, idx, True)
    return (blocks * mask).reshape(x.shape)


def mvue_prune_sorted(x: torch.Tensor, n: int, m: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Exact MVUE N:M along the last dim, the straightforward way: sort each block, water-fill the
    inclusion probabilities, systematic sampling over a cumulative sum (many passes over memory)."""
    from kernels._random import draw_key
    from kernels.mvue import mvue_blocks_generic

    blocks = x.reshape(-1, m)
    return mvue_blocks_generic(blocks, n, "exact", draw_key(generator, x.device)).reshape(x.shape)
