"""What the sobolev_inr page shows, as plain arrays (no UI imports): the page's centred crops, their training pixels
and filter derivatives on the luma, a fit that hands the page a picture of the network after every evaluation, and
the shipped full run's value-only / Sobolev pairs.

Every map is on the luma (the paper's Y channel, the one its PSNR is measured on), in intensity per pixel of the
``[0, 1]`` image: the fit's targets live on ``2 I − 1``, so their derivatives are halved here.
"""

from __future__ import annotations

import functools
import time
from typing import Callable

import numpy as np
import torch

from workbench.sobolev_inr.images import BUNDLED, IMAGES, LUMA, SET5, check_stride, crop, load_image, train_mask
from workbench.sobolev_inr.metrics import scores
from workbench.sobolev_inr.networks import INR, pixel_grid
from workbench.sobolev_inr.training import FitSettings, derivative_targets, to_unit, train_inr

__all__ = ["CROPS", "STRIDE", "page_images", "page_image", "to_luma", "target_maps", "training_pixels", "frame",
           "fit_with_frames", "shipped_pairs"]

CROPS = (64, 96, 128)  # pixels a side of the page's centred crops
STRIDE = 4  # the paper's: every 4th pixel in each direction is trained on


def page_images(set5: bool) -> tuple[str, ...]:
    """The images the page offers: the bundled three, and Set5 first when its files are here (``set5``)."""
    return (SET5 + BUNDLED) if set5 else BUNDLED


@functools.lru_cache(maxsize=16)
def page_image(name: str, size: int) -> np.ndarray:
    """The centred ``size × size`` crop of ``name`` (read-only, ``(size, size, C)`` in ``[0, 1]``)."""
    if name not in IMAGES:
        raise ValueError(f"image: expected one of {IMAGES}, got {name!r}")
    if size not in CROPS:
        raise ValueError(f"crop: expected one of {CROPS}, got {size!r}")
    image = load_image(name)
    side = min(size, *image.shape[:2])
    out = np.ascontiguousarray(crop(image, (side, side)))
    out.setflags(write=False)
    return out


def to_luma(values: np.ndarray) -> np.ndarray:
    """``(H, W)`` Y channel of ``(H, W, C)`` values of any range (a grey image: its channel; linear, so it also maps
    per-channel derivatives to the luma's derivatives)."""
    if not isinstance(values, np.ndarray) or values.ndim != 3 or values.shape[2] not in (1, 3):
        got = values.shape if isinstance(values, np.ndarray) else type(values).__name__
        raise ValueError(f"values: expected an (H, W, 1) or (H, W, 3) array, got {got}")
    return values[:, :, 0] if values.shape[2] == 1 else values @ LUMA


def target_maps(name: str, size: int, kernel: str) -> tuple[np.ndarray, np.ndarray]:
    """The ``kernel`` filter's ``∂x`` and ``∂y`` of the crop's luma ``(H, W)`` each, float32, intensity per pixel."""
    g = derivative_targets(page_image(name, size), kernel).numpy() / 2.0  # (H, W, C, 2) of 2 I - 1
    dx, dy = to_luma(g[..., 0]).astype(np.float32), to_luma(g[..., 1]).astype(np.float32)
    dx.setflags(write=False)
    dy.setflags(write=False)
    return dx, dy


def training_pixels(image: np.ndarray, stride: int = STRIDE) -> np.ndarray:
    """``(H / stride, W / stride, C)``: what a fit sees of ``image`` as values."""
    check_stride(image.shape, stride)
    return image[::stride, ::stride]


def frame(net: INR, image: np.ndarray) -> dict:
    """The network's picture: ``recon (H, W, C)`` in ``[0, 1]`` units (unclipped, float64), the luma's ``dx``, ``dy``
    (intensity per pixel) and ``error`` ``|Y(recon) − Y(image)|`` (float32)."""
    values, grads = net.render(with_gradient=True)
    recon = to_unit(values)
    g = grads.double().numpy() / 2.0  # derivatives of 2 I - 1
    return {"recon": recon, "dx": to_luma(g[..., 0]).astype(np.float32),
            "dy": to_luma(g[..., 1]).astype(np.float32),
            "error": np.abs(to_luma(recon) - to_luma(image)).astype(np.float32)}


def fit_with_frames(image: np.ndarray, settings: FitSettings, on_frame: Callable[[dict], None] | None = None,
                    should_stop: Callable[[], bool] | None = None) -> dict:
    """:func:`training.fit_image`'s fit (the same targets, network, seed and steps, so the same numbers), whose every
    evaluation hands ``on_frame`` the history entry (``step``, ``loss``, ``psnr_test``, ``psnr_train``,
    ``ssim_test``) with the network's :func:`frame`. Returns the last entry with its frame, ``steps`` taken and
    ``seconds``."""
    s = settings
    check_stride(image.shape, s.stride)
    t0 = time.perf_counter()
    h, w, c = image.shape
    mask = train_mask((h, w), s.stride)
    xy = pixel_grid((h, w), mask)
    values = torch.from_numpy(2.0 * image[mask] - 1.0).float()
    grads = derivative_targets(image, s.kernel)[torch.from_numpy(mask)] if s.loss == "sobolev" else None
    torch.manual_seed(s.seed)
    net = INR(s.network, (h, w), c, hidden=s.hidden, layers=s.layers, stride=s.stride, seed=s.seed)
    last: dict = {}

    def evaluate(step: int, loss: float) -> None:
        pic = frame(net, image)
        entry = {"step": step, "loss": loss,
                 **{k: round(v, 4) for k, v in scores(image, pic["recon"], s.stride).items()}}
        last.clear()
        last.update(entry, frame=pic)
        if on_frame is not None:
            on_frame({**entry, "frame": pic})

    steps = train_inr(net, xy, values, grads, lam=s.lam, steps=s.steps, lr=s.lr, seed=s.seed, evaluate=evaluate,
                      eval_every=s.eval_every, should_stop=should_stop)
    return {**last, "steps": steps, "seconds": time.perf_counter() - t0}


def shipped_pairs(data: dict) -> list[dict]:
    """The full run's fits with both losses: ``image``, ``network``, ``value`` and ``sobolev`` test PSNR (dB),
    ``gain``; what a partial or malformed file lacks is left out."""
    by = {}
    for r in data.get("results", []) if isinstance(data, dict) else []:
        try:
            by[(r["image"], r["network"], r["loss"])] = float(r["psnr_test"])
        except (KeyError, TypeError, ValueError):
            continue
    pairs = []
    for (image, network, loss), v in by.items():
        s = by.get((image, network, "sobolev"))
        if loss == "value" and s is not None and np.isfinite(v) and np.isfinite(s):
            pairs.append({"image": image, "network": network, "value": v, "sobolev": s, "gain": s - v})
    return pairs
