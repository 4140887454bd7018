"""A multilevel derivative loss for fits to gradients alone: the per-pixel residual, and its block means at coarser
scales, each in the units of its own scale.

A fit to ``∇I`` only is a Poisson problem, and it is badly conditioned: a component of the error at spatial
frequency ``k`` (cycles per pixel) leaves a derivative residual of size ``2πk`` times its amplitude, so the per-pixel
loss hardly sees the image's slow variations and they converge last (on a 256×256 camera, 4,000 steps of the plain
fit leave a 7.5 dB image although its gradient loss keeps falling). Multigrid solvers meet the same problem by
restricting the residual to coarser grids. Here, with ``r = ∇f − g`` on a square block of ``S = 2^L`` pixels a side,

    loss = Σ_{l=0..L} 4^l · mean_cells ‖R_l r‖²  /  Σ_{l=0..L} 4^l,

where ``R_l`` averages ``r`` over cells of ``2^l × 2^l`` pixels and ``4^l`` expresses the mean derivative in units of
the coarse cell (a derivative per ``2^l`` pixels is ``2^l`` times larger). A residual that varies slowly survives every
``R_l`` and is weighed up to ``Σ_l 4^l`` times more than one that alternates from pixel to pixel, which only
``l = 0`` sees. Level 0 alone (``L = 0``) is the per-pixel loss of :func:`training.sobolev_loss`. The loss uses the
residual of the gradient field only: the image never enters it, so the fit stays a reconstruction from gradients.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from workbench.checks import check_int, check_real
from workbench.sobolev_inr.networks import INR, pixel_grid
from workbench.sobolev_inr.training import take_step

__all__ = ["multilevel_gradient_loss", "random_blocks", "bilinear", "train_multilevel"]


def multilevel_gradient_loss(residual: torch.Tensor, levels: int) -> torch.Tensor:
    """The loss above for ``residual (B, S, S, K)``: ``B`` blocks of ``S × S`` pixels, ``K`` derivative components
    (channels × 2); ``S`` must be divisible by ``2^levels``. A scalar tensor."""
    if not isinstance(residual, torch.Tensor) or residual.dim() != 4 or residual.shape[1] != residual.shape[2]:
        raise ValueError(f"residual: expected a tensor (B, S, S, K), got "
                         f"{tuple(residual.shape) if isinstance(residual, torch.Tensor) else type(residual).__name__}")
    check_int("levels", levels, 0)
    size = residual.shape[1]
    if levels > size.bit_length() or size % (2 ** levels):
        raise ValueError(f"levels: expected 2**levels to divide the block side {size}, got levels={levels}")
    r = residual.permute(0, 3, 1, 2)  # (B, K, S, S) for the pooling
    total = residual.new_zeros(())
    for level in range(levels + 1):
        if level:
            r = F.avg_pool2d(r, 2)
        total = total + (4 ** level) * r.pow(2).sum(1).mean()
    return total / sum(4 ** level for level in range(levels + 1))


def random_blocks(shape: tuple[int, int], size: int, count: int, generator: torch.Generator
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` blocks of ``size × size`` pixels at uniformly random positions inside an image of ``shape = (H, W)``:
    the ``(rows, cols)`` index tensors, each ``(count, size, size)``."""
    h, w = shape
    check_int("count", count, 1)
    check_int("size", size, 1)
    if size > min(h, w):
        raise ValueError(f"size: expected at most the image's shorter side {min(h, w)}, got {size}")
    top = torch.randint(h - size + 1, (count,), generator=generator)
    left = torch.randint(w - size + 1, (count,), generator=generator)
    span = torch.arange(size)
    rows = (top[:, None, None] + span[None, :, None]).expand(count, size, size)
    cols = (left[:, None, None] + span[None, None, :]).expand(count, size, size)
    return rows, cols


def bilinear(field: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """``field (H, W, ...)`` interpolated bilinearly at ``(rows + dy, cols + dx)``: ``rows``, ``cols`` ``(B, S, S)``
    integer indices with ``rows + 1``, ``cols + 1`` inside the field, ``shift (B, 2)`` the ``(dx, dy)`` in ``[0, 1)``
    of each block. Returns ``(B, S, S, ...)``."""
    if not isinstance(field, torch.Tensor) or field.dim() < 2:
        raise ValueError(f"field: expected a tensor (H, W, ...), got "
                         f"{tuple(field.shape) if isinstance(field, torch.Tensor) else type(field).__name__}")
    if not isinstance(shift, torch.Tensor) or shift.shape != (rows.shape[0], 2):
        raise ValueError(f"shift: expected a tensor ({rows.shape[0]}, 2), got "
                         f"{tuple(shift.shape) if isinstance(shift, torch.Tensor) else type(shift).__name__}")
    extra = (1,) * (field.dim() - 2)
    dx = shift[:, 0].reshape(-1, 1, 1, *extra)
    dy = shift[:, 1].reshape(-1, 1, 1, *extra)
    return ((1 - dy) * ((1 - dx) * field[rows, cols] + dx * field[rows, cols + 1])
            + dy * ((1 - dx) * field[rows + 1, cols] + dx * field[rows + 1, cols + 1]))


def train_multilevel(net: INR, grads: torch.Tensor, *, levels: int, blocks: int, steps: int, lr: float, seed: int = 0,
                     jitter: bool = False, anchor: tuple[torch.Tensor, torch.Tensor, float] | None = None,
                     evaluate: Callable[[int, float], None] | None = None, eval_every: int = 100,
                     should_stop: Callable[[], bool] | None = None) -> int:
    """Adam (AMSGrad) on :func:`multilevel_gradient_loss` of ``net``'s derivatives against ``grads (H, W, C, 2)``
    (intensity per pixel), over ``blocks`` random blocks of ``2^levels`` pixels a side per step, plus
    ``anchor = (xy (K, 2), values (K, C), weight)``'s ``weight · mean((f(xy) − values)²)``.

    ``jitter``: each block moves by a random sub-pixel ``(dx, dy)`` and its targets are the bilinear interpolation of
    ``grads`` there, so the derivatives are matched between the pixels as well as at them (at the pixels only, a
    component such as ``cos(π x)``, zero derivative at every integer, goes unseen). ``evaluate``, ``eval_every`` and
    ``should_stop`` as in :func:`training.train_inr`. Returns the steps taken."""
    if not isinstance(grads, torch.Tensor) or grads.dim() != 4 or grads.shape[3] != 2:
        raise ValueError(f"grads: expected a tensor (H, W, C, 2), got "
                         f"{tuple(grads.shape) if isinstance(grads, torch.Tensor) else type(grads).__name__}")
    check_int("levels", levels, 0)
    check_int("blocks", blocks, 1)
    check_int("steps", steps, 1)
    check_real("lr", lr)
    h, w, c, _ = grads.shape
    if levels > min(h, w).bit_length():
        raise ValueError(f"levels: expected 2**levels at most the image's shorter side {min(h, w)}, got {levels}")
    size = 2 ** levels
    xy = pixel_grid((h, w)).reshape(h, w, 2)
    # AMSGrad: with plain Adam the fit collapses once its loss is small (camera 128×128: 24.4 dB at step 1,500, the
    # loss jumping from 2e-5 to 3e-2 and 6 dB by step 1,800); AMSGrad's non-decreasing second moment holds it (24.7 dB
    # at step 2,400)
    opt = torch.optim.Adam(net.parameters(), lr=lr, amsgrad=True)
    gen = torch.Generator().manual_seed(seed)
    step = 0
    for step in range(1, steps + 1):
        if jitter:
            rows, cols = random_blocks((h - 1, w - 1), size, blocks, gen)
            shift = torch.rand(blocks, 2, generator=gen)  # (dx, dy) of each block, in pixels
            target = bilinear(grads, rows, cols, shift)
            points = xy[rows, cols] + shift[:, None, None, :]
        else:
            rows, cols = random_blocks((h, w), size, blocks, gen)
            target, points = grads[rows, cols], xy[rows, cols]
        _, pred_grad = net.value_and_gradient(points.reshape(-1, 2))
        residual = pred_grad.reshape(blocks, size, size, 2 * c) - target.reshape(blocks, size, size, 2 * c)
        loss = multilevel_gradient_loss(residual, levels)
        if anchor is not None:
            a_xy, a_val, a_weight = anchor
            loss = loss + a_weight * (net(a_xy) - a_val).pow(2).mean()
        if take_step(opt, loss, step, steps, lr, evaluate, eval_every, should_stop):
            break
    return step
