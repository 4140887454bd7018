"""Whole models compressed layer by layer, and SQF's factors fine-tuned end to end with their sparsity fixed.

:func:`compress_model` gives every Linear and Conv2d layer of a (copied) model the best configuration of a method
at a budget (:func:`~workbench.compression.budget.compress_at_budget`); a layer for which the method has nothing
that fits (e.g. a 288-weight convolution, whose per-channel scales alone exceed one bit per weight) falls back to
8-bit uniform quantization, counted like the rest, so the model's bits per weight are what it really stores.

SQF layers become :class:`QuantizedFactors` parametrizations: ``W = (Z C)`` reshaped, where ``Z``'s values on its
fixed support and ``C`` are trainable and quantized in the forward pass with the fitted scales by the
straight-through estimator (``q(x) = x + (Q(x) − x).detach()``), so training moves the latent values and the
stored codes follow. Other methods' layers hold their reconstruction as a fixed weight.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils import parametrize

from workbench.compression.baselines import UniformQuantization
from workbench.compression.budget import compress_at_budget
from workbench.compression.quantize import nearest_levels
from workbench.compression.sqf import SparseQuantizedFactorization
from workbench.compression.storage import Storage

__all__ = ["QuantizedFactors", "CompressedModel", "compress_model", "fake_quantize"]


def fake_quantize(x: torch.Tensor, scales: torch.Tensor, bits: int) -> torch.Tensor:
    """``scales * (clamp(floor(x / scales)) + ½)`` in the forward pass, the identity's gradient in the backward
    (straight-through). ``scales`` broadcast against ``x``; where a scale is 0 the value is 0."""
    q = scales * nearest_levels(x, scales, bits)
    return x + (q - x).detach()


class QuantizedFactors(nn.Module):
    """A parametrization ``weight = reshape(Z C)`` from a fitted :class:`SparseQuantizedFactorization`: ``z``
    ``(rows, s)`` (the values at ``index``, where ``valid``) and ``c`` ``(k, L)`` trainable, quantized on their
    fitted grids. What the format fixes stays fixed: ``Z``'s ones (``z_values="ones"``), ``C = I``
    (``dictionary="identity"``) and the support are buffers."""

    def __init__(self, fitted: SparseQuantizedFactorization):
        super().__init__()
        rows, s = fitted.z_index_.shape
        per_channel = rows // len(fitted.scales_["z"])
        self.register_buffer("index", fitted.z_index_.clone())
        self.register_buffer("z_scale", fitted.scales_["z"].repeat_interleave(per_channel)[:, None].clone())
        z = fitted.z_values_.clone()
        # the stored entries (support="layer" pads shorter rows with unused positions whose value stays 0)
        self.register_buffer("valid", torch.arange(s)[None, :] < fitted.z_counts_[:, None])
        self.z_fixed = fitted.z_values == "ones"
        self.c_fixed = fitted.dictionary == "identity"
        if self.z_fixed:
            self.register_buffer("z", z)
        else:
            self.z = nn.Parameter(z)
        if self.c_fixed:
            self.register_buffer("c", fitted.C_.clone())
        else:
            self.register_buffer("c_scale", fitted.scales_["c"].expand(fitted.rank)[:, None].clone())
            self.c = nn.Parameter(fitted.C_.clone())
        self.bits_z, self.bits_c, self.rank, self.shape = fitted.bits_z, fitted.bits_c, fitted.rank, fitted.shape_

    def forward(self, original: torch.Tensor) -> torch.Tensor:  # the original weight is not used
        z = (self.z if self.z_fixed else fake_quantize(self.z, self.z_scale, self.bits_z)) * self.valid
        Z = torch.zeros(len(z), self.rank, dtype=z.dtype, device=z.device).scatter(1, self.index, z)
        c = self.c if self.c_fixed else fake_quantize(self.c, self.c_scale, self.bits_c)
        return (Z @ c).reshape(self.shape)


@dataclass
class CompressedModel:
    """A compressed copy of a model: ``net``; per layer the fitted estimator (``layers``); ``storage`` (all layers
    together); ``relative_error`` ``sqrt(Σ‖W − Ŵ‖² / Σ‖W‖²)`` over all layers; ``fallbacks`` (layers at 8 bits)."""

    net: nn.Module
    layers: dict
    storage: Storage
    relative_error: float
    fallbacks: list

    @property
    def bits_per_weight(self) -> float:
        return self.storage.bits_per_weight

    def current_relative_error(self, reference: nn.Module) -> float:
        """The weights' relative error now (after fine-tuning moved them) against ``reference``'s."""
        num = den = 0.0
        ref = dict(reference.named_modules())
        with torch.no_grad():
            for name in self.layers:
                W = ref[name].weight
                num += float(((dict(self.net.named_modules())[name].weight - W) ** 2).sum())
                den += float((W ** 2).sum())
        return math.sqrt(num / den) if den else 0.0


def compress_model(net: nn.Module, method: str, budget: float, fitted: dict | None = None, per_family: int = 3,
                   steps: int = 60) -> CompressedModel:
    """A copy of ``net`` with every Linear and Conv2d weight compressed by ``method`` at ``budget`` bits per weight
    (SQF layers trainable, see the module). ``fitted``: estimators already found per layer name (``None`` where
    nothing fitted), which are used instead of searching again; ``per_family``, ``steps``: the search's."""
    out = copy.deepcopy(net)
    layers, fallbacks = {}, []
    storage = Storage(0)
    num = den = 0.0
    for name, layer in list(out.named_modules()):
        if not isinstance(layer, (nn.Linear, nn.Conv2d)):
            continue
        W = layer.weight.detach().clone()
        est = fitted[name] if fitted is not None and name in fitted else \
            compress_at_budget(W, method, budget, per_family, steps)
        if est is None:
            est = UniformQuantization(8).fit(W)
            fallbacks.append(name)
        layers[name] = est
        storage = storage + est.storage_
        W_hat = est.reconstruct().detach()
        num += float(((W - W_hat) ** 2).sum())
        den += float((W ** 2).sum())
        if isinstance(est, SparseQuantizedFactorization):
            parametrize.register_parametrization(layer, "weight", QuantizedFactors(est), unsafe=True)
            layer.parametrizations.weight.original.requires_grad_(False)
        else:
            with torch.no_grad():
                layer.weight.copy_(W_hat)
            layer.weight.requires_grad_(False)
    return CompressedModel(out, layers, storage, math.sqrt(num / den) if den else 0.0, fallbacks)
