"""What derivative supervision makes possible beyond fitting: an image from its gradients alone (Poisson
reconstruction), and gradient-domain editing (seamless cloning).

* **Poisson reconstruction.** Fit ``f`` to the filter's derivatives ``g = D I`` and fix the constant, which no
  gradient sees, by one pixel's value ``I(a)``. By default (``method="stencil"``, :mod:`.stencil_fit`) the filter is
  applied to the network's image on the pixel grid, ``min_θ mean ‖D f − g‖²`` by L-BFGS, and the output's bias then
  sets ``f(a) = I(a)``: the discrete Poisson equation ``DᵀD f = Dᵀg`` solved by the network.
  ``method="pointwise"``: the network's autograd derivatives at sampled pixels, ``min_θ mean_n ‖∇f(p_n) −
  g(p_n)‖² + (f(a) − I(a))²`` by Adam (with the multilevel loss and jitter of :mod:`.multilevel` as options):
  slower to converge, and short of 30 dB on the 256×256 camera.
* **Seamless cloning** (Pérez, Gangnet and Blake, 2003). Inside a region Ω the guidance field is the source's
  gradient (or, ``mixed``, whichever of source and target gradient is larger), outside it the target's; values are
  supervised outside Ω only, so the network must carry the source's detail into Ω while meeting the target at the
  boundary: ``min_θ mean_n ‖∇f − v‖² + w · mean_{n∉Ω} (f − T)²``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from kernels.image_gradients import GRADIENT_KINDS
from workbench.checks import check_int, check_real
from workbench.sobolev_inr.images import check_image
from workbench.sobolev_inr.metrics import psnr
from workbench.sobolev_inr.multilevel import train_multilevel
from workbench.sobolev_inr.networks import INR, NETWORKS, pixel_grid
from workbench.sobolev_inr.stencil_fit import checked_levels, train_stencil
from workbench.sobolev_inr.training import derivative_targets, to_unit, train_inr

#: how :func:`reconstruct_from_gradients` fits: the network's own finite differences on the whole grid (L-BFGS), or
#: its autograd derivatives at sampled pixels (Adam)
RECONSTRUCTION_METHODS = ("stencil", "pointwise")

__all__ = ["GradientFit", "RECONSTRUCTION_METHODS", "reconstruct_from_gradients", "guidance_field", "seamless_clone",
           "paste", "disk_mask"]


@dataclass
class GradientFit:
    """A network fitted in the gradient domain, its image ``(H, W, C)`` (unclipped, ``[0, 1]`` units), the PSNR
    against ``reference`` where there is one (NaN otherwise), and the ``history`` (``step``, ``loss``, ``psnr``)."""

    net: INR
    reconstruction: np.ndarray
    psnr: float
    steps: int
    seconds: float
    history: list[dict] = field(default_factory=list)


def _check_common(network: str, kernel: str, steps: int, lr: float, batch: int | None, hidden: int) -> None:
    if network not in NETWORKS:
        raise ValueError(f"network: expected one of {NETWORKS}, got {network!r}")
    if kernel not in GRADIENT_KINDS:
        raise ValueError(f"kernel: expected one of {GRADIENT_KINDS}, got {kernel!r}")
    check_int("steps", steps, 1)
    check_real("lr", lr)
    if batch is not None:
        check_int("batch", batch, 1)
    check_int("hidden", hidden, 1)


def _fit(image_shape, channels, network, *, reference, hidden, layers, omega0, seed, progress,
         train: Callable[[INR, Callable[[int, float], None]], int]) -> GradientFit:
    """A new ``network`` trained by ``train(net, evaluate) → steps``; ``evaluate`` renders and scores it."""
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    net = INR(network, image_shape, channels, hidden=hidden, layers=layers, omega0=omega0, stride=1, seed=seed)
    history: list[dict] = []
    state: dict = {}

    def evaluate(step: int, loss: float) -> None:
        recon = to_unit(net.render())
        entry = {"step": step, "loss": loss,
                 "psnr": round(psnr(reference, recon), 4) if reference is not None else float("nan")}
        history.append(entry)
        state["recon"] = recon
        if progress is not None:
            progress(entry)

    steps = train(net, evaluate)
    return GradientFit(net, state["recon"], history[-1]["psnr"], steps, time.perf_counter() - t0, history)


def _pointwise(xy, grads, anchor, *, steps, lr, batch, seed, eval_every, should_stop, levels=0, jitter=False,
               value_weight=0.0):
    """The trainer of autograd derivatives at sampled pixels (Adam): per pixel (``train_inr``), or multilevel and
    jittered (``train_multilevel``)."""
    def train(net: INR, evaluate) -> int:
        if levels or jitter:
            h, w = net.shape
            size = 2 ** levels
            blocks = max(1, (h * w if batch is None else batch) // size ** 2)
            return train_multilevel(net, grads.reshape(h, w, net.channels, 2), levels=levels, blocks=blocks,
                                    steps=steps, lr=lr, seed=seed, jitter=jitter, anchor=anchor, evaluate=evaluate,
                                    eval_every=eval_every, should_stop=should_stop)
        return train_inr(net, xy, None, grads, lam=1.0, value_weight=value_weight, steps=steps, lr=lr, batch=batch,
                         seed=seed, evaluate=evaluate, eval_every=eval_every, should_stop=should_stop, anchor=anchor)
    return train


def reconstruct_from_gradients(image: np.ndarray, kernel: str = "central", network: str = "siren", steps: int = 800,
                               lr: float = 1e-4, batch: int | None = 16384, hidden: int = 256, layers: int = 3,
                               omega0: float = 30.0, seed: int = 0, eval_every: int = 100, levels: int | None = 0,
                               jitter: bool = False, method: str = "stencil",
                               progress: Callable[[dict], None] | None = None,
                               should_stop: Callable[[], bool] | None = None) -> GradientFit:
    """Fit ``network`` to the ``kernel`` derivatives of ``image`` and to the value of the centre pixel only;
    ``psnr`` of the result against ``image`` (luma).

    ``method = "stencil"`` (:mod:`.stencil_fit`): the same filter applied to the network's image on the whole pixel
    grid is fitted to the image's (``levels > 0``: also their block means over a pyramid up to ``2^levels`` pixels,
    None for the whole grid, :func:`.stencil_fit.pyramid_loss`), by ``steps`` L-BFGS iterations; the centre pixel's
    value then fixes the constant exactly. ``lr``, ``batch`` and ``jitter`` do not apply. What reaches 30 dB on the
    256×256 camera.

    ``method = "pointwise"``: the network's autograd derivatives at ``batch`` random pixels per step (None: all),
    ``steps`` Adam steps at ``lr``, the centre pixel's value as a loss term. ``levels = 0``: the per-pixel loss;
    ``levels = L > 0``: the multilevel loss of :mod:`.multilevel` on random blocks of ``2^L`` pixels a side
    (``batch // 4^L`` of them per step), ``2^L`` at most the image's shorter side. ``jitter``: each step's pixels
    move by a random sub-pixel offset, their targets interpolated bilinearly (:func:`.multilevel.train_multilevel`),
    which takes the drift between pixels away.

    Derivatives supervised at the pixels only leave a SIREN free to drift between them (a component like
    ``cos(π x)`` has a zero derivative at every integer ``x``); ω₀ = 30 acts on coordinates normalised to
    ``[−1, 1]``, so on an image of a few dozen pixels a side it oscillates within a pixel and the drift appears:
    give such images a smaller ``omega0`` (≈ 10 for 24–32 pixels), or ``jitter`` (pointwise), or the stencil,
    which scores the network at the pixels only."""
    image = check_image(image)
    _check_common(network, kernel, steps, lr, batch, hidden)
    if method not in RECONSTRUCTION_METHODS:
        raise ValueError(f"method: expected one of {RECONSTRUCTION_METHODS}, got {method!r}")
    if not isinstance(jitter, (bool, np.bool_)):
        raise TypeError(f"jitter: expected a bool, got {type(jitter).__name__}")
    h, w, c = image.shape
    grads = derivative_targets(image, kernel)  # (H, W, C, 2)
    centre_value = torch.from_numpy(2.0 * image[h // 2, w // 2] - 1).float()  # (C,) in the network's units
    common = dict(reference=image, hidden=hidden, layers=layers, omega0=omega0, seed=seed, progress=progress)
    if method == "stencil":
        if jitter:
            raise ValueError("jitter: expected False with method='stencil' (it scores the network at the pixels "
                             "only), got True")
        checked_levels((h, w), levels)  # before the network is built

        def train(net: INR, evaluate) -> int:
            return train_stencil(net, grads, kernel, steps=steps, levels=levels, anchor=(h // 2, w // 2, centre_value),
                                 evaluate=evaluate, eval_every=eval_every, should_stop=should_stop)
        return _fit((h, w), c, network, train=train, **common)
    check_int("levels", levels, 0)
    side = min(h, w) - (1 if jitter else 0)  # a jittered block needs the pixel row and column after it
    if levels > side.bit_length() or 2 ** levels > side:  # (the first test keeps a huge ``levels`` from hanging)
        raise ValueError(f"levels: expected 2**levels at most {side} (the image's shorter side"
                         f"{', less one with jitter' if jitter else ''}), got {levels}")
    xy = pixel_grid((h, w))
    centre = (h // 2) * w + w // 2
    anchor = (xy[centre:centre + 1], centre_value[None], 1.0)
    train = _pointwise(xy, grads.reshape(h * w, c, 2), anchor, steps=steps, lr=lr, batch=batch, seed=seed,
                       eval_every=eval_every, should_stop=should_stop, levels=levels, jitter=bool(jitter))
    return _fit((h, w), c, network, train=train, **common)


def disk_mask(shape: tuple[int, int], centre: tuple[float, float], radius: float) -> np.ndarray:
    """Bool ``(H, W)``: the pixels within ``radius`` of ``centre = (row, column)``."""
    check_real("radius", radius)
    rows, cols = np.ogrid[:shape[0], :shape[1]]
    return (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius ** 2


def _check_pair(target, source, region) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    target, source = check_image(target, "target"), check_image(source, "source")
    if source.shape != target.shape:
        raise ValueError(f"source: expected the target's shape {target.shape}, got {source.shape}")
    if not isinstance(region, np.ndarray) or region.dtype != bool or region.shape != target.shape[:2]:
        raise ValueError(f"region: expected a bool array of shape {target.shape[:2]}, got "
                         f"{getattr(region, 'dtype', type(region).__name__)} {getattr(region, 'shape', '')}")
    if not region.any() or region.all():
        raise ValueError("region: expected some pixels inside and some outside, got "
                         f"{'none' if not region.any() else 'all'} inside")
    return target, source, region


def guidance_field(target: np.ndarray, source: np.ndarray, region: np.ndarray, kernel: str = "central",
                   mixed: bool = False) -> torch.Tensor:
    """``(H, W, C, 2)``: the source's derivatives inside ``region``, the target's outside; ``mixed``: inside, per
    pixel and channel, whichever of the two has the larger magnitude (keeps the target's texture through holes of
    the source)."""
    target, source, region = _check_pair(target, source, region)
    gt, gs = derivative_targets(target, kernel), derivative_targets(source, kernel)
    inside = torch.from_numpy(region)[:, :, None, None]
    if mixed:
        gs = torch.where(gs.norm(dim=3, keepdim=True) >= gt.norm(dim=3, keepdim=True), gs, gt)
    return torch.where(inside, gs, gt)


def paste(target: np.ndarray, source: np.ndarray, region: np.ndarray) -> np.ndarray:
    """The naive composite: the source's pixels inside ``region``, the target's outside."""
    target, source, region = _check_pair(target, source, region)
    return np.where(region[:, :, None], source, target)


def seamless_clone(target: np.ndarray, source: np.ndarray, region: np.ndarray, kernel: str = "central",
                   mixed: bool = False, network: str = "siren", steps: int = 1000, lr: float = 1e-4,
                   batch: int | None = 16384, value_weight: float = 1.0, hidden: int = 256, layers: int = 3,
                   omega0: float = 30.0, seed: int = 0, eval_every: int = 200,
                   progress: Callable[[dict], None] | None = None,
                   should_stop: Callable[[], bool] | None = None) -> GradientFit:
    """Clone ``source`` (aligned with ``target``, same shape) into ``region`` of ``target`` by fitting ``network``
    to :func:`guidance_field` everywhere and to the target's values outside ``region`` (weight
    ``value_weight``). ``psnr``: against the target outside the region (how well the surroundings are kept)."""
    target, source, region = _check_pair(target, source, region)
    _check_common(network, kernel, steps, lr, batch, hidden)
    check_real("value_weight", value_weight)
    h, w, c = target.shape
    xy = pixel_grid((h, w))
    grads = guidance_field(target, source, region, kernel, mixed).reshape(h * w, c, 2)
    values = torch.from_numpy(2.0 * target.reshape(h * w, c) - 1.0).float()
    outside = torch.from_numpy(~region.reshape(-1))
    anchor = (xy[outside], values[outside], value_weight)  # the values outside, as the anchor set
    train = _pointwise(xy, grads, anchor, steps=steps, lr=lr, batch=batch, seed=seed, eval_every=eval_every,
                       should_stop=should_stop)
    fit = _fit((h, w), c, network, reference=None, hidden=hidden, layers=layers, omega0=omega0, seed=seed,
               progress=progress, train=train)
    fit.psnr = psnr(target, fit.reconstruction, ~region)
    return fit
