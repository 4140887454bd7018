"""Two-layer graph convolutional network (Kipf & Welling, 2017), written functionally so that its
weights can be differentiated through optimizer steps (LDS's bilevel program).

.. math::  f_w(X, A) = \\hat A\\, \\mathrm{ReLU}(\\hat A X W_1) W_2, \\qquad
           \\hat A = \\tilde D^{-1/2} (A + I) \\tilde D^{-1/2}

No biases, dropout on the hidden layer, as in LDS's code.

Shapes:
    x: ``(N, d)`` (or the sparse pair from :func:`sparse_features`); adjacency: ``(N, N)`` dense or sparse COO,
    symmetric; output: ``(N, C)`` logits.
"""

from __future__ import annotations

import math
import warnings

import torch

from workbench.graphs import normalize_adjacency  # shared with gnn_sampling
from workbench.structure_learning.taped_graph import TapedGraph

__all__ = ["normalize_adjacency", "init_gcn", "gcn_forward", "sparse_features"]


def init_gcn(n_features: int, n_classes: int, hidden: int = 16, generator: torch.Generator | None = None,
             dtype=torch.float32) -> list[torch.Tensor]:
    """Glorot-uniform ``[W1 (d, hidden), W2 (hidden, C)]``."""
    weights = []
    for fan_in, fan_out in ((n_features, hidden), (hidden, n_classes)):
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        w = (torch.rand(fan_in, fan_out, generator=generator, dtype=dtype) * 2 - 1) * bound
        weights.append(w)
    return weights


class _SparseFeatureMatmul(torch.autograd.Function):
    """``X @ W`` for constant sparse features ``X``; twice differentiable (LDS differentiates through
    gradients): the backward ``X^T g`` is this product with ``X^T`` in place of ``X``."""

    @staticmethod
    def forward(ctx, w, x, x_t):
        ctx.x, ctx.x_t = x, x_t
        return x @ w

    @staticmethod
    def backward(ctx, g):
        return _SparseFeatureMatmul.apply(g, ctx.x_t, ctx.x), None, None


def sparse_features(x: torch.Tensor, max_density: float = 0.1) -> torch.Tensor | tuple:
    """``(X, X^T)`` as sparse CSR tensors when fewer than ``max_density`` of the entries are non-zero
    (bag-of-words features: Cora 1.3 %, Citeseer 0.9 %), else ``x`` unchanged. ``gcn_forward`` takes either."""
    if x.is_sparse or x.numel() == 0 or float((x != 0).float().mean()) >= max_density:
        return x
    with warnings.catch_warnings():  # CSR matmul is all we use, and it is stable on CPU
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return (x.to_sparse_csr(), x.T.contiguous().to_sparse_csr())


def _features_times(x, w: torch.Tensor) -> torch.Tensor:
    if isinstance(x, tuple):
        return _SparseFeatureMatmul.apply(w, *x)
    return x @ w


def _propagator(a_hat):
    """``h -> A_hat h`` for a normalised adjacency tensor (dense or sparse) or a :class:`TapedGraph`."""
    if isinstance(a_hat, TapedGraph):
        return a_hat.propagate
    return lambda h: torch.sparse.mm(a_hat, h) if a_hat.is_sparse else a_hat @ h


def gcn_forward(weights, x: torch.Tensor, a_hat: torch.Tensor, *, dropout: float = 0.5, training: bool = False,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Logits of the 2-layer GCN for weights ``[W1, W2]`` and a normalised adjacency ``a_hat`` (or a
    :class:`~.taped_graph.TapedGraph`, which normalises on the fly and tapes its uses)."""
    w1, w2 = weights
    prop = _propagator(a_hat)
    h = torch.relu(prop(_features_times(x, w1)))
    if training and dropout > 0:
        keep = (torch.rand(h.shape, generator=generator, dtype=h.dtype) >= dropout).to(h.dtype)
        h = h * keep / (1 - dropout)
    return prop(h @ w2)
