"""Finite-difference image derivatives: the normalised Sobel filter and the central difference.

For an image ``I`` sampled on the integer pixel grid (``x`` along the width, ``y`` along the height), both filters
estimate ``(∂I/∂x, ∂I/∂y)`` in intensity per pixel, so that a ramp ``I = a·x + b·y`` gives exactly ``(a, b)``
away from the border:

* ``"sobel"``: ``∂x ≈ (1/8) [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]] ⋆ I`` (the 3×3 Sobel kernel divided by the sum of
  its absolute values, as ``kornia.filters.spatial_gradient(mode="sobel", normalized=True)``); ``∂y`` its transpose.
  A central difference smoothed by ``[1, 2, 1]/4`` across.
* ``"central"``: ``∂x ≈ (I[y, x+1] − I[y, x−1]) / 2``, ``∂y`` likewise.

Both pad by replicating the border (kornia's choice), so the derivative across the outermost pixel is half the
interior one. ``⋆`` is cross-correlation (``torch.nn.functional.conv2d``).

Paths (:func:`kernels._backend.choose_backend`): PyTorch by one grouped ``conv2d`` (differentiable; the CPU path
and the test oracle), and a Triton stencil on CUDA tensors that need no gradient.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from kernels import _triton
from kernels._backend import choose_backend

__all__ = ["image_gradients", "GRADIENT_KINDS", "gradient_stencils"]

GRADIENT_KINDS = ("sobel", "central")


def gradient_stencils(kind: str, dtype=torch.float32, device=None) -> torch.Tensor:
    """The ``(2, 3, 3)`` cross-correlation stencils of ``kind``: index 0 gives ``∂/∂x`` (along the width), 1
    ``∂/∂y`` (along the height)."""
    if kind not in GRADIENT_KINDS:
        raise ValueError(f"kind: expected one of {GRADIENT_KINDS}, got {kind!r}")
    if kind == "sobel":
        dx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8.0
    else:
        dx = torch.tensor([[0.0, 0.0, 0.0], [-1.0, 0.0, 1.0], [0.0, 0.0, 0.0]]) / 2.0
    return torch.stack([dx, dx.T]).to(dtype=dtype, device=device)


def _check_image(image) -> None:
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"image: expected a torch.Tensor of shape (..., H, W), got {type(image).__name__}")
    if image.dim() < 2:
        raise ValueError(f"image: expected a tensor of shape (..., H, W) with at least 2 dimensions, got shape "
                         f"{tuple(image.shape)}")
    if not image.is_floating_point():
        raise TypeError(f"image: expected a floating-point tensor, got dtype {image.dtype}")
    if image.shape[-2] < 1 or image.shape[-1] < 1:
        raise ValueError(f"image: expected H, W >= 1, got shape {tuple(image.shape)}")


def _torch_path(image: torch.Tensor, kind: str) -> torch.Tensor:
    lead, (h, w) = image.shape[:-2], image.shape[-2:]
    planes = image.reshape(-1, 1, h, w)
    padded = F.pad(planes, (1, 1, 1, 1), mode="replicate") if planes.shape[0] else planes
    stencil = gradient_stencils(kind, image.dtype, image.device).unsqueeze(1)  # (2, 1, 3, 3)
    if not planes.shape[0]:
        return image.new_zeros(*lead, 2, h, w)
    return F.conv2d(padded, stencil).reshape(*lead, 2, h, w)


def image_gradients(image: torch.Tensor, kind: str = "sobel") -> torch.Tensor:
    """``(∂I/∂x, ∂I/∂y)`` of every ``H × W`` plane of ``image`` by the finite-difference filter ``kind``.

    Args:
        image: float tensor ``(..., H, W)`` (e.g. ``(C, H, W)`` or ``(N, C, H, W)``).
        kind: ``"sobel"`` (normalised, /8) or ``"central"``.

    Returns:
        ``(..., 2, H, W)``: index 0 the derivative along the width (``x``), 1 along the height (``y``), in
        intensity per pixel; replicated border.
    """
    _check_image(image)
    if kind not in GRADIENT_KINDS:
        raise ValueError(f"kind: expected one of {GRADIENT_KINDS}, got {kind!r}")
    needs_grad = torch.is_grad_enabled() and image.requires_grad
    backend = choose_backend(image, supported=not needs_grad and image.dtype in (torch.float32, torch.float16,
                                                                                  torch.bfloat16),
                             what=f"image_gradients ({'needing a gradient' if needs_grad else image.dtype})")
    if backend == "triton":
        h, w = image.shape[-2:]
        out = _triton.image_gradients_planes(image.reshape(-1, h, w), GRADIENT_KINDS.index(kind))
        return out.reshape(*image.shape[:-2], 2, h, w)
    return _torch_path(image, kind)
