"""Straightforward reference implementations, the baseline the benchmark compares against."""

from __future__ import annotations

import torch

__all__ = ["nm_prune_topk"]


def nm_prune_topk(x: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """N:M pruning along the last dim the way most code does it: ``topk`` per block + ``scatter``."""
    blocks = x.reshape(-1, m)
    idx = blocks.abs().topk(n, dim=-1).indices
    mask = torch.zeros_like(blocks, dtype=torch.bool).scatter_(-1, idx, True)
    return (blocks * mask).reshape(x.shape)
