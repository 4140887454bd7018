"""Two-layer graph convolutional network (Kipf & Welling, 2017), written functionally so that its
weights can be differentiated through optimizer steps (LDS's bilevel program).

.. math::  f_w(X, A) = \\hat A\\, \\mathrm{ReLU}(\\hat A X W_1) W_2, \\qquad
           \\hat A = \\tilde D^{-1/2} (A + I) \\tilde D^{-1/2}

No biases, dropout on the hidden layer, as in LDS's code.

Shapes:
    x: ``(N, d)``; adjacency: ``(N, N)`` dense or sparse COO, symmetric; output: ``(N, C)`` logits.
"""

from __future__ import annotations

import math

import torch

__all__ = ["normalize_adjacency", "init_gcn", "gcn_forward"]


def normalize_adjacency(adj: torch.Tensor) -> torch.Tensor:
    """``D^-1/2 (A + I) D^-1/2`` for a dense or sparse ``(N, N)`` adjacency (differentiable when dense)."""
    n = adj.shape[0]
    if adj.is_sparse:
        adj = adj.coalesce()
        idx = torch.arange(n, device=adj.device)
        eye = torch.sparse_coo_tensor(torch.stack([idx, idx]), torch.ones(n, dtype=adj.dtype, device=adj.device), (n, n),
                                      check_invariants=False)
        a = (adj + eye).coalesce()
        deg = torch.sparse.sum(a, dim=1).to_dense()
        d = deg.pow(-0.5)
        i, j = a.indices()
        return torch.sparse_coo_tensor(a.indices(), d[i] * a.values() * d[j], (n, n), check_invariants=False).coalesce()
    a = adj + torch.eye(n, dtype=adj.dtype, device=adj.device)
    d = a.sum(1).pow(-0.5)
    return d[:, None] * a * d[None, :]


def init_gcn(n_features: int, n_classes: int, hidden: int = 16, generator: torch.Generator | None = None,
             dtype=torch.float32) -> list[torch.Tensor]:
    """Glorot-uniform ``[W1 (d, hidden), W2 (hidden, C)]``."""
    weights = []
    for fan_in, fan_out in ((n_features, hidden), (hidden, n_classes)):
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        w = (torch.rand(fan_in, fan_out, generator=generator, dtype=dtype) * 2 - 1) * bound
        weights.append(w)
    return weights


def _mm(a: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    return torch.sparse.mm(a, h) if a.is_sparse else a @ h


def gcn_forward(weights, x: torch.Tensor, a_hat: torch.Tensor, *, dropout: float = 0.5, training: bool = False,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Logits of the 2-layer GCN for weights ``[W1, W2]`` and a normalised adjacency ``a_hat``."""
    w1, w2 = weights
    h = torch.relu(_mm(a_hat, x @ w1))
    if training and dropout > 0:
        keep = (torch.rand(h.shape, generator=generator, dtype=h.dtype) >= dropout).to(h.dtype)
        h = h * keep / (1 - dropout)
    return _mm(a_hat, h @ w2)
