"""The GCN the samplers train: ``L`` layers ``H^ℓ = σ(A_ℓ H^{ℓ-1} W_ℓ + b_ℓ)`` over a mini-batch's blocks.

Each layer aggregates first and transforms second, ``(A H) W``, so that the last layer's input ``a_i = (A H)_i``
is at hand: the gradient of node ``i``'s loss with respect to the last layer's weight and bias is
``(a_i, 1)ᵀ β_i`` with ``β_i = softmax(z_i) − onehot(y_i)``, whose norm is ``‖β_i‖ sqrt(‖a_i‖² + 1)``: MVS's
per-node gradient norm, at no extra cost (the paper's §4.3, the authors' ``autograd_wl.py``).

Hidden layers return their pre-activations ``A H W + b`` too: MVS keeps them as historical embeddings (as the
authors' code does) and applies ReLU and dropout when it reads them back.

Shapes: ``X (N, d)``; logits ``(r, C)`` for the ``r`` output nodes of the batch.
"""

from __future__ import annotations

import torch
from torch import nn

from workbench.checks import check_int, check_real
from workbench.gnn_sampling.blocks import MiniBatch

__all__ = ["GCN", "node_gradient_norms"]


class GCN(nn.Module):
    """``layers`` GCN layers of width ``hidden`` (ReLU, ``dropout`` on each layer's input but the first)."""

    def __init__(self, in_features: int, classes: int, hidden: int = 64, layers: int = 2, dropout: float = 0.1,
                 seed: int = 0):
        super().__init__()
        in_features = check_int("in_features", in_features, 1)
        classes = check_int("classes", classes, 2)
        hidden = check_int("hidden", hidden, 1)
        layers = check_int("layers", layers, 1)
        dropout = check_real("dropout", dropout, 0.0, 1.0, low_open=False, high_open=True)
        torch.manual_seed(check_int("seed", seed, 0))
        sizes = [in_features] + [hidden] * (layers - 1) + [classes]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.dropout = float(dropout)

    @property
    def num_layers(self) -> int:
        return len(self.linears)

    def _input(self, fresh: torch.Tensor, stale: torch.Tensor | None) -> torch.Tensor:
        h = torch.relu(fresh if stale is None else torch.cat([fresh, stale]))
        return nn.functional.dropout(h, self.dropout, self.training)

    def forward(self, X: torch.Tensor, batch: MiniBatch, history: list | None = None):
        """``(logits, hidden, a)``: the output nodes' logits, each hidden layer's pre-activations of its rows, and
        the last layer's aggregated input ``a`` ``(r, hidden)``. ``history[ℓ]`` ``(N, hidden)``: the stale
        pre-activations of layer ``ℓ`` that blocks above read (needed when a block has stale inputs)."""
        if len(batch.blocks) != self.num_layers:
            raise ValueError(f"batch: expected {self.num_layers} blocks (one per layer), got {len(batch.blocks)}")
        h = X[batch.blocks[0].src]
        hidden, a = [], None
        for ell, (block, linear) in enumerate(zip(batch.blocks, self.linears)):
            if ell > 0:
                stale = None
                if block.fresh < len(block.src):
                    if history is None:
                        raise ValueError("history: this batch reads historical embeddings; pass them")
                    stale = history[ell - 1][block.stale]
                h = self._input(h, stale)
            a = block.adj @ h
            h = linear(a)
            if ell < self.num_layers - 1:
                hidden.append(h)
        return h, hidden, a


def node_gradient_norms(logits: torch.Tensor, a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``‖∂ℓ_i / ∂(W_L, b_L)‖ = ‖β_i‖ sqrt(‖a_i‖² + 1)`` per output node for the cross-entropy ``ℓ_i`` (see the
    module): ``(r,)``."""
    beta = torch.softmax(logits.detach(), dim=1)
    beta[torch.arange(len(y)), y] -= 1
    return beta.norm(dim=1) * (a.detach().pow(2).sum(1) + 1).sqrt()
