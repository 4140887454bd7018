"""A fit to gradients alone through the network's own finite differences: the filter applied to the network's image
on the pixel grid is fitted to the filter applied to the image, by L-BFGS on the whole grid at every step, and the
constant is set afterwards from one pixel's value.

With ``f`` the network's image ``(H, W, C)`` on the pixel grid, ``D`` the filter (:mod:`kernels.image_gradients`,
border replicated) and ``g = D I`` the targets, the residual is ``r = D f − g`` and

    loss = Σ_{l=0..L} 4^l · mean_cells ‖R_l r‖²,

``R_l`` the mean over cells of ``2^l × 2^l`` pixels (the last row and column of cells partial when ``2^l`` does not
divide ``H`` or ``W``); ``L = 0`` (the default) is the per-pixel loss ``mean ‖r‖²``. Where fitting the network's
autograd derivatives at sampled pixels stalls (the 256×256 camera: 23.2 dB after 4,000 Adam steps), this passes
30 dB, for three reasons (measured on the camera, ``docs/sobolev_inr.md``):

* **Consistency.** ``D f = D I`` holds for ``f = I``: the image is an exact solution, up to the filter's null space
  (the constant; for the central difference also the alternation at the Nyquist frequency, pinned at the border
  only). Autograd derivatives against finite differences ask instead for a function whose exact derivative at the
  pixels is the filter's smoothed one, and leave the values between the pixels free.
* **The constant outside the loss.** The loss is a function of differences, blind to the constant; after the fit
  the output layer's bias moves so that the anchor pixel has its value, exactly. Put into the loss instead, one
  pixel's value error weighed like the mean over the whole grid is a direction far stiffer than the others, and
  the fit crawls along them.
* **Cost, and L-BFGS.** One forward pass per pixel and an ordinary backward (no tangents, no second derivative), so
  every step sees the whole grid: the loss is deterministic, and L-BFGS (strong Wolfe line search) can use its
  curvature.

``L > 0`` adds the residual's block means, each in the units of its cell (a multigrid's coarse grids); under
L-BFGS they slow the fit rather than help it (128×128 camera, 600 iterations: 54.2 dB per pixel, 40.8 dB with
``L = 5``), and stay as an option for the comparison.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

from kernels.image_gradients import GRADIENT_KINDS
from workbench.checks import check_int
from workbench.sobolev_inr.networks import INR, pixel_grid
from workbench.sobolev_inr.training import filter_derivatives

__all__ = ["pyramid_levels", "checked_levels", "pyramid_loss", "network_derivatives", "train_stencil"]


def pyramid_levels(shape: tuple[int, int]) -> int:
    """The level ``L`` at which one cell of ``2^L × 2^L`` pixels covers a grid of ``shape = (H, W)``."""
    return max(0, math.ceil(math.log2(max(shape))))


def checked_levels(shape: tuple[int, int], levels: int | None) -> int:
    """``levels`` for a grid of ``shape`` (None: :func:`pyramid_levels`), checked: an int from 0 to the level at
    which one cell covers the grid."""
    top = pyramid_levels(shape)
    if levels is None:
        return top
    check_int("levels", levels, 0)
    if levels > top:
        raise ValueError(f"levels: expected at most {top} (one cell covers the {tuple(shape)} grid), got {levels}")
    return levels


def pyramid_loss(residual: torch.Tensor, levels: int | None = None) -> torch.Tensor:
    """``Σ_{l=0..L} 4^l · mean_cells ‖R_l r‖²`` for ``residual (H, W, K)`` (``K`` derivative components); ``levels``
    ``L`` (None: :func:`pyramid_levels`). A scalar tensor, not normalised (its scale is the per-pixel loss's at
    level 0)."""
    if not isinstance(residual, torch.Tensor) or residual.dim() != 3 or min(residual.shape) < 1:
        raise ValueError(f"residual: expected a non-empty tensor (H, W, K), got "
                         f"{tuple(residual.shape) if isinstance(residual, torch.Tensor) else type(residual).__name__}")
    levels = checked_levels(residual.shape[:2], levels)
    r = residual.permute(2, 0, 1).unsqueeze(0)  # (1, K, H, W) for the pooling
    total = residual.new_zeros(())
    for level in range(levels + 1):
        # from the pixels at every level: a partial cell at the end is the mean of the pixels it has
        cells = F.avg_pool2d(r, 2 ** level, ceil_mode=True) if level else r
        total = total + (4 ** level) * cells.pow(2).sum(1).mean()
    return total


def network_derivatives(net: INR, kernel: str) -> torch.Tensor:
    """The ``kernel`` filter applied to ``net``'s image on its pixel grid (border replicated, as for the image):
    ``(H, W, C, 2)``, differentiable in the network's parameters."""
    if kernel not in GRADIENT_KINDS:
        raise ValueError(f"kernel: expected one of {GRADIENT_KINDS}, got {kernel!r}")
    h, w = net.shape
    image = net(pixel_grid((h, w))).reshape(h, w, net.channels)  # (H, W, C); ``render`` is for no_grad
    return filter_derivatives(image, kernel)


def train_stencil(net: INR, grads: torch.Tensor, kernel: str, *, steps: int, anchor: tuple[int, int, torch.Tensor],
                  levels: int | None = 0, history_size: int = 50,
                  evaluate: Callable[[int, float], None] | None = None, eval_every: int = 50,
                  should_stop: Callable[[], bool] | None = None) -> int:
    """L-BFGS on :func:`pyramid_loss` of :func:`network_derivatives` ``−`` ``grads (H, W, C, 2)`` (targets from the
    same ``kernel``, in the network's output units per pixel) for ``steps`` iterations (each about 1.1 evaluations of
    the whole grid); then the output bias moves so that pixel ``anchor = (row, col, values (C,))`` has its values.
    ``evaluate(step, loss)`` after every ``eval_every`` iterations and the last (the bias moved first);
    ``should_stop()`` ends training early. Returns the iterations taken."""
    h, w = net.shape
    if not isinstance(grads, torch.Tensor) or tuple(grads.shape) != (h, w, net.channels, 2):
        raise ValueError(f"grads: expected a tensor {(h, w, net.channels, 2)} (the network's grid), got "
                         f"{tuple(grads.shape) if isinstance(grads, torch.Tensor) else type(grads).__name__}")
    check_int("steps", steps, 1)
    check_int("eval_every", eval_every, 1)
    check_int("history_size", history_size, 1)
    levels = checked_levels((h, w), levels)
    row, col, value = anchor
    if not (0 <= row < h and 0 <= col < w):
        raise ValueError(f"anchor: expected a pixel inside the {h}×{w} grid, got ({row}, {col})")
    targets = grads.reshape(h, w, -1)
    # tolerances off: the loss is small in float32 terms, and the budget is ``steps``
    opt = torch.optim.LBFGS(net.parameters(), lr=1.0, max_iter=eval_every, history_size=history_size,
                            line_search_fn="strong_wolfe", tolerance_grad=0.0, tolerance_change=0.0)
    last = {"loss": float("nan")}

    @torch.enable_grad()  # L-BFGS calls it under no_grad
    def closure() -> torch.Tensor:
        opt.zero_grad(set_to_none=True)
        loss = pyramid_loss(network_derivatives(net, kernel).reshape(h, w, -1) - targets, levels)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"the loss became {loss.item()} in L-BFGS (steps so far: {done})")
        loss.backward()
        last["loss"] = loss.item()
        return loss

    def anchor_bias() -> None:  # the constant, from the one pixel whose value is given
        with torch.no_grad():
            here = net(torch.tensor([[float(col), float(row)]]))[0]
            net.output.bias += torch.as_tensor(value, dtype=here.dtype) - here

    done = 0
    first = next(net.parameters())
    while done < steps:
        chunk = min(eval_every, steps - done)
        opt.param_groups[0]["max_iter"] = chunk
        opt.param_groups[0]["max_eval"] = 2 * chunk  # the line search's evaluations, so that ``steps`` binds
        opt.step(closure)
        taken = opt.state[first].get("n_iter", 0)
        if taken == done:  # a zero gradient: nothing left to do
            break
        done = taken
        anchor_bias()  # moves the output only: the loss, a function of differences, does not change
        stop = should_stop is not None and should_stop()
        if evaluate is not None:
            evaluate(done, last["loss"])
        if stop:
            break
    return done
