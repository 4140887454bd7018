"""Train ``nn.Linear`` / ``nn.Conv2d`` layers with N:M-pruned weights, activations and neural gradients.

A layer computes three GEMMs; N:M sparsity accelerates a GEMM along its reduction dimension:

* forward  ``z = W a``        — weights pruned along the input features (MSE mask),
  activations pruned along the input features (MSE mask);
* backward ``delta_a = W^T delta_z`` — uses the (pruned) weights and the dense ``delta_z``;
* update   ``grad_W = delta_z a^T`` — the neural gradient ``delta_z`` (gradient w.r.t. the layer
  output) is pruned along the batch (tokens, or batch x height x width for convolutions): blocks of
  ``m`` consecutive samples per output channel, MVUE (unbiased) or MSE as chosen.

Weights get a straight-through gradient (the dense weights are updated, so the mask can change);
the activation mask passes the gradient of the kept entries. Chmiel et al. (ICLR 2023) show the MSE
mask, harmless for weights and activations, biases the neural gradients; MVUE does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from kernels import mvue_prune, nm_mask
from kernels._blocks import check_pattern, check_types

__all__ = ["NMConfig", "sparsify", "unsparsify", "prune_gradient", "parse_pattern", "GRADIENT_MASKS"]

GRADIENT_MASKS = ("mvue", "mse", "approx")


@dataclass(frozen=True)
class NMConfig:
    """N:M settings of one layer; each of weights/activations/gradients is ``None`` or ``(n, m)``."""

    weights: tuple[int, int] | None = None
    activations: tuple[int, int] | None = None
    gradients: tuple[int, int] | None = None
    gradient_mask: str = "mvue"


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_seed(seed) -> int:
    """``seed`` if :meth:`torch.Generator.manual_seed` accepts it: an int in ``[-2**63, 2**64)``."""
    if not _is_int(seed):
        raise TypeError(f"seed: expected an int, got {type(seed).__name__} {seed!r}")
    if not -(2**63) <= seed < 2**64:
        raise ValueError(f"seed: expected an int in [-2**63, 2**64), got {seed}")
    return seed


def _check_pair(name: str, value) -> tuple[int, int] | None:
    if value is None:
        return None
    if not isinstance(value, (tuple, list)) or len(value) != 2 or not all(_is_int(v) for v in value):
        raise TypeError(f"{name}: expected None or a pair (n, m) of ints, got {value!r}")
    n, m = value
    if not 1 <= n < m:
        raise ValueError(f"{name}: expected 1 <= n < m, got (n, m) = ({n}, {m})")
    return (n, m)


def parse_pattern(pattern: str) -> tuple[int, int] | None:
    """``"2:4" -> (2, 4)``, ``"dense" -> None``; ``ValueError`` naming the pattern unless ``1 <= N < M``.

    ``N == M`` keeps everything: spell it ``"dense"`` (the pair goes to :func:`sparsify`, which needs ``n < m``).
    """
    if not isinstance(pattern, str):
        raise TypeError(f"pattern: expected a str such as '2:4' or 'dense', got {type(pattern).__name__}")
    if pattern.strip() == "dense":
        return None
    parts = pattern.split(":")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"pattern: expected 'N:M' with integers 1 <= N < M, or 'dense', got {pattern!r}")
    n, m = int(parts[0]), int(parts[1])
    if not 1 <= n < m:
        raise ValueError(f"pattern: expected 'N:M' with 1 <= N < M (N == M is 'dense'), got {pattern!r}")
    return n, m


def prune_gradient(
    grad: torch.Tensor, n: int, m: int, mask: str, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Prune a 2-D neural gradient ``(samples, channels)`` in blocks of ``m`` consecutive samples.

    The sample dimension is zero-padded to a multiple of ``m`` (padding never changes a block's
    kept values) and cropped back. ``mask``: ``"mvue"`` (exact), ``"approx"`` (2:4) or ``"mse"``.
    """
    if mask not in GRADIENT_MASKS:
        raise ValueError(f"gradient_mask: expected one of {GRADIENT_MASKS}, got {mask!r}")
    check_types(grad, n, m, 0)
    check_pattern(n, m)  # before the padding below divides by m
    if grad.dim() != 2:
        raise ValueError(f"grad: expected a 2-D (samples, channels) tensor, got shape {tuple(grad.shape)}")
    rows = grad.shape[0]
    pad = (-rows) % m
    g = F.pad(grad, (0, 0, 0, pad)) if pad else grad
    if mask == "mse":
        out = torch.where(nm_mask(g, n, m, dim=0), g, torch.zeros((), dtype=g.dtype, device=g.device))
    else:
        out = mvue_prune(g, n, m, dim=0, method="exact" if mask == "mvue" else "approx", generator=generator)
    return out[:rows] if pad else out


def _masked(x: torch.Tensor, pair: tuple[int, int] | None, dim: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    if pair is None:
        return x, None
    mask = nm_mask(x, *pair, dim=dim)
    return x * mask, mask


class _NMLinear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, cfg: NMConfig, generator):
        w, _ = _masked(weight, cfg.weights, dim=1)
        a, a_mask = _masked(x, cfg.activations, dim=-1)
        ctx.save_for_backward(a, w, a_mask)
        ctx.cfg, ctx.generator, ctx.has_bias = cfg, generator, bias is not None
        return F.linear(a, w, bias)

    @staticmethod
    def backward(ctx, grad_out):
        a, w, a_mask = ctx.saved_tensors
        cfg = ctx.cfg
        grad_x = grad_out @ w
        if a_mask is not None:
            grad_x = grad_x * a_mask
        g2 = grad_out.reshape(-1, grad_out.shape[-1])
        a2 = a.reshape(-1, a.shape[-1])
        if cfg.gradients is not None:
            g2 = prune_gradient(g2, *cfg.gradients, cfg.gradient_mask, ctx.generator)
        grad_w = g2.t() @ a2
        grad_b = grad_out.reshape(-1, grad_out.shape[-1]).sum(0) if ctx.has_bias else None
        return grad_x, grad_w, grad_b, None, None


class _NMConv2d(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, cfg: NMConfig, generator, conv: dict):
        w = weight
        if cfg.weights is not None:  # reduction dim of the forward GEMM: C_in * kh * kw
            flat = weight.reshape(weight.shape[0], -1)
            w = (flat * nm_mask(flat, *cfg.weights, dim=1)).reshape(weight.shape)
        a, a_mask = _masked(x, cfg.activations, dim=1)  # along input channels
        ctx.save_for_backward(a, w, a_mask)
        ctx.cfg, ctx.generator, ctx.conv, ctx.has_bias = cfg, generator, conv, bias is not None
        return F.conv2d(a, w, bias, **conv)

    @staticmethod
    def backward(ctx, grad_out):
        a, w, a_mask = ctx.saved_tensors
        cfg, conv = ctx.cfg, ctx.conv
        grad_x = torch.nn.grad.conv2d_input(a.shape, w, grad_out, **conv)
        if a_mask is not None:
            grad_x = grad_x * a_mask
        g = grad_out
        if cfg.gradients is not None:  # blocks along batch x height x width, per output channel
            b, c, h, wd = grad_out.shape
            flat = grad_out.permute(0, 2, 3, 1).reshape(-1, c)
            flat = prune_gradient(flat, *cfg.gradients, cfg.gradient_mask, ctx.generator)
            g = flat.reshape(b, h, wd, c).permute(0, 3, 1, 2)
        grad_w = torch.nn.grad.conv2d_weight(a, w.shape, g, **conv)
        grad_b = grad_out.sum((0, 2, 3)) if ctx.has_bias else None
        return grad_x, grad_w, grad_b, None, None, None


def _linear_forward(self: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    return _NMLinear.apply(x, self.weight, self.bias, self.nm_config, self.nm_generator)


def _conv_forward(self: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    conv = dict(stride=self.stride, padding=self.padding, dilation=self.dilation, groups=self.groups)
    return _NMConv2d.apply(x, self.weight, self.bias, self.nm_config, self.nm_generator, conv)


def _check_layer(name: str, module: nn.Module, cfg: NMConfig) -> None:
    if isinstance(module, nn.Conv2d):
        if module.padding_mode != "zeros" or isinstance(module.padding, str):
            raise ValueError(f"model: layer {name!r} uses padding {module.padding!r}/{module.padding_mode!r}; "
                             "only numeric zero padding is supported")
        if module.groups != 1:
            raise ValueError(f"model: layer {name!r} has groups={module.groups}; only groups=1 is supported")
        reduction = module.weight[0].numel()
        features = module.in_channels
    else:
        reduction = features = module.in_features
    if cfg.weights and reduction % cfg.weights[1]:
        raise ValueError(f"weights: layer {name!r} has reduction size {reduction}, not a multiple of "
                         f"m={cfg.weights[1]}")
    if cfg.activations and features % cfg.activations[1]:
        raise ValueError(
            f"activations: layer {name!r} has {features} input features, not a multiple of m={cfg.activations[1]}"
        )


def sparsify(
    model: nn.Module,
    *,
    weights: tuple[int, int] | None = None,
    activations: tuple[int, int] | None = None,
    gradients: tuple[int, int] | None = None,
    gradient_mask: str = "mvue",
    layers: Callable[[str, nn.Module], bool] | None = None,
    seed: int = 0,
) -> nn.Module:
    """Make the ``Linear`` and ``Conv2d`` layers of ``model`` train with N:M sparsity, in place.

    Args:
        model: any ``nn.Module``.
        weights, activations, gradients: ``None`` (dense) or ``(n, m)``.
        gradient_mask: ``"mvue"`` (exact minimum-variance unbiased), ``"approx"`` (sequential 2:4
            sampler) or ``"mse"`` (keep the largest: biased).
        layers: optional ``(name, module) -> bool`` choosing the layers; default every Linear/Conv2d.
        seed: seed of the generator that draws the stochastic gradient masks.

    Returns:
        ``model`` (call :func:`unsparsify` to restore the dense layers).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    if gradient_mask not in GRADIENT_MASKS:
        raise ValueError(f"gradient_mask: expected one of {GRADIENT_MASKS}, got {gradient_mask!r}")
    check_seed(seed)
    cfg = NMConfig(
        _check_pair("weights", weights), _check_pair("activations", activations), _check_pair("gradients", gradients),
        gradient_mask,
    )
    if gradient_mask == "approx" and cfg.gradients not in (None, (2, 4)):
        raise ValueError(f"gradient_mask: 'approx' needs gradients=(2, 4), got {cfg.gradients}")
    chosen = [
        (name, mod)
        for name, mod in model.named_modules()
        if isinstance(mod, (nn.Linear, nn.Conv2d)) and (layers is None or layers(name, mod))
    ]
    for name, mod in chosen:
        _check_layer(name, mod, cfg)
    params = list(model.parameters())
    generator = torch.Generator(device=params[0].device if params else "cpu").manual_seed(seed)
    for _, mod in chosen:
        mod.nm_config = cfg
        mod.nm_generator = generator
        forward = _conv_forward if isinstance(mod, nn.Conv2d) else _linear_forward
        mod.forward = forward.__get__(mod)
    return model


def unsparsify(model: nn.Module) -> nn.Module:
    """Undo :func:`sparsify`: layers compute densely again (weights keep their trained values)."""
    for mod in model.modules():
        if hasattr(mod, "nm_config"):
            del mod.forward, mod.nm_config, mod.nm_generator
    return model
