"""Masks on a model's weights through ``torch.nn.utils.parametrize``: the layer's ``weight`` becomes
``original ⊙ mask`` for every forward and backward, the optimiser updates ``original``, and PyTorch knows.

Prunable layers are the ``Linear`` and ``Conv2d`` modules; a mask is a bool tensor of the weight's shape (and, for
structured pruning, of the bias's). Sparsity is the fraction of prunable weights that are zero in the weights the
model uses, in [0, 1].
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

__all__ = ["Mask", "prunable_layers", "apply_masks", "current_masks", "remove_masks", "model_sparsity",
           "layer_sparsity", "dense_gradients", "record_dense_gradients", "keep_top"]


class _MaskedWeight(torch.autograd.Function):
    """``w ⊙ mask`` whose backward also keeps ``dL/d(w ⊙ mask)`` (the dense gradient, masked entries included) on
    the parametrization: what RigL grows by and movement pruning scores with."""

    @staticmethod
    def forward(ctx, w, mask, owner):
        ctx.save_for_backward(mask)
        ctx.owner = owner
        return w * mask

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        ctx.owner.dense_grad = grad.detach().clone()
        return grad * mask, None, None


class Mask(nn.Module):
    """The parametrization ``w -> w ⊙ mask`` (``mask``: a buffer of 0/1 in the weight's dtype)."""

    def __init__(self, mask: torch.Tensor):
        super().__init__()
        self.register_buffer("mask", mask.detach().clone())
        self.record = False  # keep the dense gradient at the next backward (see record_dense_gradients)
        self.dense_grad: torch.Tensor | None = None

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        mask = self.mask.to(w.dtype)
        return _MaskedWeight.apply(w, mask, self) if self.record else w * mask


def prunable_layers(model: nn.Module) -> dict[str, nn.Module]:
    """``{name: module}`` of the model's ``Linear`` and ``Conv2d`` layers, in order; ValueError when there is none."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    layers = {name: mod for name, mod in model.named_modules() if isinstance(mod, (nn.Linear, nn.Conv2d))}
    if not layers:
        raise ValueError(f"model: expected a model with prunable layers (Linear or Conv2d), got a "
                         f"{type(model).__name__} with none")
    return layers


def _mask_of(module: nn.Module, tensor: str) -> Mask | None:
    if not parametrize.is_parametrized(module, tensor):
        return None
    return next((p for p in module.parametrizations[tensor] if isinstance(p, Mask)), None)


def apply_masks(model: nn.Module, masks: dict[str, torch.Tensor], biases: dict[str, torch.Tensor] | None = None):
    """Mask each named layer's weight (and bias, for structured pruning) with the given bool tensors: a first call
    registers the parametrization, later calls only replace its mask."""
    layers = prunable_layers(model)
    for kind, given in (("weight", masks), ("bias", biases or {})):
        for name, mask in given.items():
            if name not in layers:
                raise ValueError(f"masks: expected names of prunable layers {list(layers)}, got {name!r}")
            module = layers[name]
            target = getattr(module, kind)
            if mask.shape != target.shape:
                raise ValueError(f"masks[{name!r}]: expected the {kind}'s shape {tuple(target.shape)}, got "
                                 f"{tuple(mask.shape)}")
            existing = _mask_of(module, kind)
            if existing is None:
                parametrize.register_parametrization(module, kind, Mask(mask.to(target.dtype)))
            else:
                existing.mask.copy_(mask.to(existing.mask.dtype))


def current_masks(model: nn.Module) -> dict[str, torch.Tensor]:
    """``{layer name: bool mask}`` of every masked weight (unmasked layers are left out)."""
    out = {}
    for name, module in prunable_layers(model).items():
        mask = _mask_of(module, "weight")
        if mask is not None:
            out[name] = mask.mask.bool().clone()
    return out


def remove_masks(model: nn.Module) -> nn.Module:
    """Bake the masks in (the weights become ``original ⊙ mask``) and remove the parametrizations."""
    for module in prunable_layers(model).values():
        for kind in ("weight", "bias"):
            if parametrize.is_parametrized(module, kind):
                parametrize.remove_parametrizations(module, kind, leave_parametrized=True)
    return model


@torch.no_grad()
def layer_sparsity(model: nn.Module) -> dict[str, float]:
    """``{layer name: fraction of its weight entries that are zero}`` in the weights the model uses."""
    return {name: float((module.weight == 0).float().mean()) for name, module in prunable_layers(model).items()}


@torch.no_grad()
def model_sparsity(model: nn.Module) -> float:
    """Fraction of all prunable weights (Linear and Conv2d weights; biases not counted) that are zero."""
    layers = prunable_layers(model).values()
    zeros = sum(int((m.weight == 0).sum()) for m in layers)
    return zeros / sum(m.weight.numel() for m in layers)


def record_dense_gradients(model: nn.Module, on: bool = True) -> None:
    """Keep (or stop keeping) each masked weight's dense gradient at every backward."""
    for module in prunable_layers(model).values():
        mask = _mask_of(module, "weight")
        if mask is not None:
            mask.record = on
            if not on:
                mask.dense_grad = None


def dense_gradients(model: nn.Module) -> dict[str, torch.Tensor]:
    """``{layer name: dL/dW}`` of the last backward, for masked layers the gradient with respect to the weight the
    model used (masked entries included; needs :func:`record_dense_gradients`), else the weight's own gradient."""
    out = {}
    for name, module in prunable_layers(model).items():
        mask = _mask_of(module, "weight")
        if mask is not None:
            if mask.dense_grad is not None:
                out[name] = mask.dense_grad
        elif module.weight.grad is not None:
            out[name] = module.weight.grad.detach().clone()
    return out


def keep_top(scores: dict[str, torch.Tensor], sparsity: float, scope: str = "global") -> dict[str, torch.Tensor]:
    """Bool masks keeping the highest scores: ``round((1 - sparsity) · total)`` entries over all layers together
    (``scope="global"``) or ``round((1 - sparsity) · numel)`` per layer (``"layer"``); ties broken by position."""
    if scope not in ("global", "layer"):
        raise ValueError(f"scope: expected 'global' or 'layer', got {scope!r}")
    if scope == "layer":
        return {name: _top(s.flatten(), round((1 - sparsity) * s.numel())).view_as(s) for name, s in scores.items()}
    flat = torch.cat([s.detach().flatten().float() for s in scores.values()])
    keep = _top(flat, round((1 - sparsity) * flat.numel()))
    out, start = {}, 0
    for name, s in scores.items():
        out[name] = keep[start:start + s.numel()].view_as(s)
        start += s.numel()
    return out


def _top(flat: torch.Tensor, k: int) -> torch.Tensor:
    keep = torch.zeros(flat.numel(), dtype=torch.bool, device=flat.device)
    if k > 0:
        keep[torch.topk(flat.detach().float(), k, sorted=False).indices] = True
    return keep
