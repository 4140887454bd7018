"""Which weights to remove: the survey's selection criteria as scores, higher = keep (Hoefler et al. 2021, §3).

For a layer with weight ``W`` (the weight the model uses, masks included) and dense gradients ``g_b = dL_b/dW`` of
``B`` mini-batches:

* magnitude (Han et al. 2015): ``|W|``;
* random (the control): i.i.d. uniform;
* first-order saliency (Taylor, Molchanov et al. 2019): ``|W ⊙ ḡ|`` with ``ḡ = mean_b g_b``, the first-order
  change of the loss when the weight is removed;
* second-order, OBD (LeCun et al. 1990): ``½ F_ii W_i²`` with the empirical Fisher diagonal
  ``F_ii = mean_b g_{b,i}²`` standing in for the Hessian's (mini-batch gradients, not per-sample ones);
* movement (Sanh et al. 2020): ``S = -Σ_t g_t ⊙ W_t`` accumulated over the training steps (weights moving away
  from zero score high), kept by the training loop.

Shapes: every function maps ``{layer name: tensor of the weight's shape}`` to the same.
"""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from workbench.pruning.masks import dense_gradients, prunable_layers, record_dense_gradients

__all__ = ["magnitude_scores", "random_scores", "gradient_statistics", "first_order_scores", "second_order_scores",
           "channel_norms"]


@torch.no_grad()
def magnitude_scores(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: m.weight.detach().abs() for name, m in prunable_layers(model).items()}


def random_scores(model: nn.Module, generator: torch.Generator) -> dict[str, torch.Tensor]:
    return {name: torch.rand(m.weight.shape, generator=generator) for name, m in prunable_layers(model).items()}


def gradient_statistics(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
                        loss_fn=None) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """``(mean_b g_b, mean_b g_b²)`` per layer over the given ``(x, y)`` batches: dense gradients of the weights
    the model uses (masked entries included), the model's own gradients left as they were."""
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    layers = prunable_layers(model)
    saved = {name: p.grad for name, p in model.named_parameters()}
    record_dense_gradients(model, True)
    total = {name: torch.zeros_like(m.weight) for name, m in layers.items()}
    total_sq = {name: torch.zeros_like(m.weight) for name, m in layers.items()}
    count = 0
    try:
        for x, y in batches:
            model.zero_grad(set_to_none=True)
            loss_fn(model(x), y).backward()
            for name, g in dense_gradients(model).items():
                total[name] += g
                total_sq[name] += g * g
            count += 1
    finally:
        record_dense_gradients(model, False)
        for name, p in model.named_parameters():
            p.grad = saved[name]
    if count == 0:
        raise ValueError("batches: expected at least one (x, y) batch, got none")
    return {k: v / count for k, v in total.items()}, {k: v / count for k, v in total_sq.items()}


@torch.no_grad()
def first_order_scores(model: nn.Module, mean_grad: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: (m.weight * mean_grad[name]).abs() for name, m in prunable_layers(model).items()}


@torch.no_grad()
def second_order_scores(model: nn.Module, fisher_diag: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: 0.5 * fisher_diag[name] * m.weight ** 2 for name, m in prunable_layers(model).items()}


@torch.no_grad()
def channel_norms(model: nn.Module) -> dict[str, torch.Tensor]:
    """L2 norm of each output channel (a Linear's row, a Conv2d's filter) with its bias: ``(out_channels,)``."""
    out = {}
    for name, m in prunable_layers(model).items():
        sq = m.weight.flatten(1).pow(2).sum(1)
        if m.bias is not None:
            sq = sq + m.bias.pow(2)
        out[name] = sq.sqrt()
    return out
