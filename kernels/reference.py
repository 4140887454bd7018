"""Straightforward reference implementations, the baseline the benchmark compares against."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["nm_prune_topk", "mvue_prune_sorted", "lif_reference", "image_gradients_reference"]


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


def _surrogate_reference(x: torch.Tensor, surrogate: str, slope: float) -> torch.Tensor:
    """The surrogate derivative ``g(x)`` of the Heaviside, written as the formulas of :mod:`kernels.lif`."""
    if surrogate == "sigmoid":
        return slope * torch.sigmoid(slope * x) * torch.sigmoid(-slope * x)
    if surrogate == "fast_sigmoid":
        return 1.0 / (1.0 + slope * x.abs()) ** 2
    if surrogate == "arctan":
        return (slope / 2) / (1.0 + (math.pi / 2 * slope * x) ** 2)
    raise ValueError(f"surrogate: expected one of ('sigmoid', 'fast_sigmoid', 'arctan'), got {surrogate!r}")


class _SurrogateHeaviside(torch.autograd.Function):
    """``H(x) = 1 if x > 0 else 0`` forward; ``grad * g(x)`` backward."""

    @staticmethod
    def forward(ctx, x, surrogate, slope):
        ctx.save_for_backward(x)
        ctx.surrogate, ctx.slope = surrogate, slope
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * _surrogate_reference(x, ctx.surrogate, ctx.slope), None, None


def lif_reference(current: torch.Tensor, beta: torch.Tensor, threshold: torch.Tensor, *,
                  surrogate: str = "sigmoid", slope: float = 10.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Leaky integrate-and-fire the way most code does it: a Python loop over time steps, each step a few
    broadcast ops recorded by autograd, the surrogate Heaviside an ``autograd.Function`` (no checks).

    ``v_t = beta (v_{t-1} - threshold s_{t-1}) + (1 - beta) current_t``, ``s_t = H(v_t - threshold)``;
    ``current`` ``(B, T, H)``, ``beta`` / ``threshold`` ``()``, ``(1,)`` or ``(H,)``. Returns
    ``(spikes, membrane)``, both ``(B, T, H)``. The oracle of :func:`kernels.lif` and the benchmark's baseline.
    """
    b, t_steps, h = current.shape
    v = current.new_zeros(b, h)
    s = current.new_zeros(b, h)
    spikes, membrane = [], []
    for t in range(t_steps):
        v = beta * (v - threshold * s) + (1 - beta) * current[:, t]
        s = _SurrogateHeaviside.apply(v - threshold, surrogate, slope)
        spikes.append(s)
        membrane.append(v)
    if not t_steps:
        empty = current.new_zeros(b, 0, h)
        return empty, empty.clone()
    return torch.stack(spikes, 1), torch.stack(membrane, 1)


def image_gradients_reference(image: torch.Tensor, kind: str = "sobel") -> torch.Tensor:
    """Finite-difference image derivatives the plain way (no checks, no ``conv2d``): replicate-pad every
    ``H × W`` plane by one pixel (``F.pad``), take the central difference of shifted slices, and for ``"sobel"``
    smooth it across by ``[1, 2, 1] / 4`` (the separable form of the normalised Sobel filter).

    ``image`` ``(..., H, W)``, at least one plane. Returns ``(..., 2, H, W)``: index 0 ``∂/∂x`` (along the width),
    1 ``∂/∂y``. The benchmark's baseline for :func:`kernels.image_gradients` and a second oracle in its tests.
    """
    h, w = image.shape[-2:]
    p = F.pad(image.reshape(-1, 1, h, w), (1, 1, 1, 1), mode="replicate")[:, 0]  # (P, H + 2, W + 2)
    dx = (p[:, :, 2:] - p[:, :, :-2]) / 2  # (P, H + 2, W): along x, rows -1 .. H
    dy = (p[:, 2:, :] - p[:, :-2, :]) / 2  # (P, H, W + 2): along y, columns -1 .. W
    if kind == "sobel":
        dx = (dx[:, :-2] + 2 * dx[:, 1:-1] + dx[:, 2:]) / 4
        dy = (dy[:, :, :-2] + 2 * dy[:, :, 1:-1] + dy[:, :, 2:]) / 4
    else:
        dx, dy = dx[:, 1:-1], dy[:, :, 1:-1]
    return torch.stack([dx, dy], 1).reshape(*image.shape[:-2], 2, h, w)
