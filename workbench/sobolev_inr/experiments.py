"""Image regression with value-only and Sobolev training for SIREN, ReLU and ReLU + positional encoding on Set5,
and the reconstruction of an image from its gradients alone.

A task is one (image, network, loss) fit on every 4th pixel, scored on the others (same steps, same seed for the
two losses), or one gradient-only reconstruction. The full run is a task grid for :class:`workbench.runner.Runner`.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch

from kernels.image_gradients import GRADIENT_KINDS
from workbench.checks import check_int, check_names, check_real
from workbench.report import Report, grid_notes
from workbench.results_pages import grid_status
from workbench.runner import Runner, Task
from workbench.sobolev_inr.gradient_domain import RECONSTRUCTION_METHODS, reconstruct_from_gradients
from workbench.sobolev_inr.images import IMAGES, SET5, crop, load_image
from workbench.sobolev_inr.metrics import psnr
from workbench.sobolev_inr.networks import NETWORK_NAMES, NETWORKS
from workbench.sobolev_inr.training import LOSSES, FitSettings, fit_image

__all__ = ["Settings", "QUICK", "FULL", "TASK_VERSION", "run_task", "run_poisson", "tasks", "reproduce",
           "markdown_tables", "prepared_image"]

TASK_VERSION = 1
TASKS = "workbench.sobolev_inr.experiments"


@dataclass(frozen=True)
class Settings:
    """``images`` × ``networks`` × ``losses`` fitted for ``steps`` Adam steps at ``lr`` (λ = ``lam``, derivatives
    by ``kernel``, every ``stride``-th pixel for training), ``hidden`` × ``layers``, from ``seed``; ``crop``: the
    centred ``(h, w)`` crop of each image (None: whole). Gradient-only reconstructions of ``poisson_images`` at
    ``poisson_size`` pixels a side (block means; None: as loaded) with each of ``poisson_kernels``,
    SIREN's ``ω₀ = poisson_omega0``, by ``poisson_method``: ``"stencil"`` (:mod:`.stencil_fit`: the filter on the
    network's image, ``poisson_steps`` L-BFGS iterations on the whole grid, the per-pixel loss or with
    ``poisson_levels > 0`` a pyramid of block means, None up to the whole grid) or ``"pointwise"`` (autograd
    derivatives, ``poisson_steps`` Adam steps at ``poisson_lr`` of ``poisson_batch`` pixels, the multilevel loss
    over blocks of ``2^poisson_levels`` pixels, moved by sub-pixel offsets when ``poisson_jitter``:
    :mod:`.multilevel`)."""

    images: tuple[str, ...] = SET5
    networks: tuple[str, ...] = NETWORKS
    losses: tuple[str, ...] = LOSSES
    steps: int = 1000
    lr: float = 1e-4
    lam: float = 1.0
    kernel: str = "sobel"
    stride: int = 4
    hidden: int = 256
    layers: int = 3
    crop: tuple[int, int] | None = None
    eval_every: int = 100
    poisson_images: tuple[str, ...] = ("camera",)
    poisson_size: int | None = 256
    poisson_kernels: tuple[str, ...] = GRADIENT_KINDS
    poisson_method: str = "stencil"
    poisson_steps: int = 1000
    poisson_batch: int | None = 8192
    poisson_lr: float = 1e-4
    poisson_omega0: float = 30.0
    poisson_levels: int | None = 0
    poisson_jitter: bool = False

    def __post_init__(self):
        check_names("images", self.images, IMAGES)
        check_names("networks", self.networks, NETWORKS)
        check_names("losses", self.losses, LOSSES)
        check_int("steps", self.steps, 1)
        check_real("lr", self.lr)
        check_real("lam", self.lam, 0.0, low_open=False)
        if self.kernel not in GRADIENT_KINDS:
            raise ValueError(f"kernel: expected one of {GRADIENT_KINDS}, got {self.kernel!r}")
        check_int("stride", self.stride, 1)
        check_int("hidden", self.hidden, 1)
        check_int("layers", self.layers, 0)
        if self.crop is not None:
            for s in self.crop:
                check_int("crop", s, 2)
        check_int("eval_every", self.eval_every, 1)
        if self.poisson_images:
            check_names("poisson_images", self.poisson_images, IMAGES)
            check_names("poisson_kernels", self.poisson_kernels, GRADIENT_KINDS)
        if self.poisson_size is not None:
            check_int("poisson_size", self.poisson_size, 8)
        check_int("poisson_steps", self.poisson_steps, 1)
        if self.poisson_batch is not None:
            check_int("poisson_batch", self.poisson_batch, 1)
        check_real("poisson_lr", self.poisson_lr)
        check_real("poisson_omega0", self.poisson_omega0)
        if self.poisson_method not in RECONSTRUCTION_METHODS:
            raise ValueError(f"poisson_method: expected one of {RECONSTRUCTION_METHODS}, got {self.poisson_method!r}")
        if self.poisson_levels is not None:
            check_int("poisson_levels", self.poisson_levels, 0)
        if not isinstance(self.poisson_jitter, bool):
            raise TypeError(f"poisson_jitter: expected a bool, got {type(self.poisson_jitter).__name__}")
        if self.poisson_jitter and self.poisson_method == "stencil":
            raise ValueError("poisson_jitter: expected False with poisson_method='stencil' (it scores the network at "
                             "the pixels only), got True")


QUICK = Settings(images=("camera", "astronaut"), steps=200, crop=(48, 48), eval_every=50, poisson_size=32,
                 poisson_kernels=("central",), poisson_steps=200)
FULL = Settings()


def prepared_image(image: str, crop_to: tuple[int, int] | list[int] | None = None,
                   size: int | None = None) -> np.ndarray:
    """``image`` loaded (grey for the bundled grey camera), centre-cropped to ``crop_to``, or (``size``) cropped to a
    square and reduced to ``size`` pixels a side by block means (the side must be a multiple of ``size``)."""
    img = load_image(image)
    if crop_to is not None:
        img = crop(img, tuple(crop_to))
    if size is not None:
        side = min(img.shape[:2])
        side -= side % size
        img = crop(img, (side, side))
        f = side // size
        img = img.reshape(size, f, size, f, img.shape[2]).mean(axis=(1, 3))
    return img


def run_task(image: str, network: str, loss: str, steps: int, lr: float, lam: float, kernel: str, stride: int,
             hidden: int, layers: int, seed: int, crop: list[int] | None = None, eval_every: int = 100,
             progress: Callable | None = None) -> dict:
    """Fit ``network`` to ``image`` with ``loss``; the scores and the PSNR curve."""
    torch.manual_seed(seed)
    img = prepared_image(image, crop)
    fit = fit_image(img, FitSettings(network=network, loss=loss, lam=lam, kernel=kernel, stride=stride, steps=steps,
                                     lr=lr, hidden=hidden, layers=layers, seed=seed, eval_every=eval_every))
    return {"image": image, "network": network, "loss": loss, "psnr_test": fit.psnr_test, "ssim_test": fit.ssim_test,
            "psnr_train": fit.psnr_train, "steps": fit.steps, "seconds": fit.seconds, "shape": list(img.shape),
            "parameters": fit.net.n_parameters(), "history": fit.history}


def run_poisson(image: str, size: int | None, kernel: str, steps: int, hidden: int, layers: int, seed: int,
                eval_every: int = 100, omega0: float = 30.0, method: str = "stencil", levels: int | None = 0,
                lr: float = 1e-4, batch: int | None = None, jitter: bool = False,
                progress: Callable | None = None) -> dict:
    """Reconstruct ``image`` (grey: the channels' mean) from its ``kernel`` derivatives and one pixel's value by
    ``method`` (:func:`.gradient_domain.reconstruct_from_gradients`; ``lr``, ``batch`` and ``jitter``: pointwise
    only)."""
    img = prepared_image(image, size=size)
    img = img.mean(axis=2, keepdims=True)
    fit = reconstruct_from_gradients(img, kernel=kernel, steps=steps, lr=lr, batch=batch, hidden=hidden,
                                     layers=layers, omega0=omega0, seed=seed, eval_every=eval_every, levels=levels,
                                     jitter=jitter, method=method)
    offset = float((img - fit.reconstruction).mean())
    return {"image": image, "kernel": kernel, "method": method, "psnr": fit.psnr,
            "psnr_mean_matched": psnr(img, fit.reconstruction + offset), "shape": list(img.shape),
            "steps": fit.steps, "seconds": fit.seconds, "history": fit.history}


def tasks(s: Settings, seed: int = 0) -> list[Task]:
    fits = [Task(f"{TASKS}:run_task", {"image": im, "network": n, "loss": loss, "steps": s.steps, "lr": s.lr,
                                        "lam": s.lam, "kernel": s.kernel, "stride": s.stride, "hidden": s.hidden,
                                        "layers": s.layers, "seed": seed,
                                        "crop": list(s.crop) if s.crop else None, "eval_every": s.eval_every})
            for n in s.networks for im in s.images for loss in s.losses]  # SIREN's first: the claim's
    # the pointwise fit's own settings only where it runs: a stencil task's key holds what it uses
    pointwise = ({"lr": s.poisson_lr, "batch": s.poisson_batch, "jitter": s.poisson_jitter}
                 if s.poisson_method == "pointwise" else {})
    poisson = [Task(f"{TASKS}:run_poisson", {"image": im, "size": s.poisson_size, "kernel": k,
                                             "steps": s.poisson_steps, "hidden": s.hidden, "layers": s.layers,
                                             "seed": seed, "eval_every": max(1, s.poisson_steps // 10),
                                             "omega0": s.poisson_omega0, "method": s.poisson_method,
                                             "levels": s.poisson_levels, **pointwise})
               for im in s.poisson_images for k in s.poisson_kernels]
    return fits + poisson


def reproduce(quick: bool = False, seed: int = 0, progress: Callable | None = None,
              settings: Settings | None = None, runner: Runner | None = None) -> Report:
    """Value-only against Sobolev training, per image and network, and gradient-only reconstruction.

    Args:
        quick: :data:`QUICK`: camera and astronaut cropped to 48×48, 200 steps, and a 32×32 camera from its
            gradients, in this process. Otherwise :data:`FULL` (the five Set5 images whole, 1,000 steps; camera at
            256×256 from its gradients by both filters, 1,000 L-BFGS iterations of the stencil fit) as a task grid on
            ``runner``.
        seed: the seed of every fit (the same for the two losses).

    Returns:
        ``Report`` whose ``data["results"]`` has one object per fit (``image``, ``network``, ``loss``,
        ``psnr_test``, ``ssim_test``, ``steps``, ``seconds``, ``psnr_train``, ``history``), ``data["poisson"]``
        one per gradient-only reconstruction (``image``, ``kernel``, ``psnr``, ``psnr_mean_matched``) and
        ``data["wins"]`` per network how many images Sobolev training wins in test PSNR.
    """
    t0 = time.perf_counter()
    cfg = settings or (QUICK if quick else FULL)
    runner = runner or (Runner.in_process() if quick else Runner())
    grid = tasks(cfg, seed)
    out = runner.run("sobolev_inr", grid, TASK_VERSION, progress, desc="fits")
    done = [r for r in out if r is not None]
    results = [r for r in done if "network" in r]
    poisson = [{k: r[k] for k in ("image", "kernel", "method", "psnr", "psnr_mean_matched", "shape", "steps",
                                  "seconds", "history")} for r in done if "kernel" in r and "network" not in r]
    by = {(r["image"], r["network"], r["loss"]): r for r in results}
    wins = {}
    for n in cfg.networks:
        pairs = [(by[(im, n, "value")], by[(im, n, "sobolev")]) for im in cfg.images
                 if (im, n, "value") in by and (im, n, "sobolev") in by]
        wins[n] = {"sobolev_better": sum(s["psnr_test"] > v["psnr_test"] for v, s in pairs), "images": len(pairs),
                   "mean_gain_db": float(np.mean([s["psnr_test"] - v["psnr_test"] for v, s in pairs])) if pairs
                   else None}
    table = [{"image": im, "network": NETWORK_NAMES[n],
              **{f"{loss} PSNR": round(by[(im, n, loss)]["psnr_test"], 2) for loss in cfg.losses
                 if (im, n, loss) in by},
              **{f"{loss} SSIM": round(by[(im, n, loss)]["ssim_test"], 4) for loss in cfg.losses
                 if (im, n, loss) in by}}
             for n in cfg.networks for im in cfg.images if any((im, n, lo) in by for lo in cfg.losses)]
    data = {"topic": "sobolev_inr", "quick": quick, "seed": seed, "results": results, "poisson": poisson,
            "wins": wins, "settings": asdict(cfg), "tasks": len(grid), "tasks_missing": runner.missing,
            "seconds": time.perf_counter() - t0}
    notes = [f"Test PSNR (dB, luma) and SSIM on the pixels off the training grid (every {cfg.stride}th pixel in "
             f"each direction is trained on), after {cfg.steps} full-batch Adam steps at lr {cfg.lr:g}, "
             f"λ = {cfg.lam:g}, {cfg.kernel} derivatives, seed {seed} for both losses.",
             *[f"Gradients only, {p['image']} {p['shape'][0]}×{p['shape'][1]} ({p['kernel']}, {p['method']}, "
               f"{p['steps']} steps): {p['psnr']:.2f} dB ({p['psnr_mean_matched']:.2f} dB with the mean matched)."
               for p in poisson]]
    notes = grid_notes(
        notes, len(grid), runner, data["seconds"],
        quick="Quick run: camera and astronaut cropped to 48×48, 200 steps, camera at 32×32 from its gradients; the "
              "full run fits the five Set5 images whole, 1,000 steps." if quick else None)
    return Report("Sobolev training of implicit neural representations (Yuan et al., 2022)", data, table, notes)


def markdown_tables(data: dict) -> dict[str, str]:
    """The results page's tables: ``status``, ``psnr`` (value vs Sobolev per image and network), ``wins`` and
    ``poisson``."""
    out = {"status": grid_status(data)}
    by = {(r["image"], r["network"], r["loss"]): r for r in data["results"]}
    lines = ["| network | image | value-only PSNR | Sobolev PSNR | gain dB | value-only SSIM | Sobolev SSIM |",
             "|---" * 7 + "|"]
    for n in NETWORKS:
        for im in IMAGES:
            v, s = by.get((im, n, "value")), by.get((im, n, "sobolev"))
            if v and s:
                lines.append(f"| {NETWORK_NAMES[n]} | {im} | {v['psnr_test']:.2f} | {s['psnr_test']:.2f} | "
                             f"{s['psnr_test'] - v['psnr_test']:+.2f} | {v['ssim_test']:.4f} | {s['ssim_test']:.4f} |")
    out["psnr"] = "\n".join(lines) if len(lines) > 2 else "*Not computed yet.*"
    lines = ["| network | Sobolev better | mean gain dB |", "|---" * 3 + "|"]
    lines += [f"| {NETWORK_NAMES[n]} | {w['sobolev_better']} of {w['images']} | {w['mean_gain_db']:+.2f} |"
              for n, w in data.get("wins", {}).items() if w["images"]]
    out["wins"] = "\n".join(lines) if len(lines) > 2 else "*Not computed yet.*"
    lines = ["| image | size | filter | fit | PSNR dB | PSNR dB, mean matched | steps |", "|---" * 7 + "|"]
    lines += [f"| {p['image']} | {p['shape'][0]}×{p['shape'][1]} | {p['kernel']} | {p.get('method', 'pointwise')} | "
              f"{p['psnr']:.2f} | {p['psnr_mean_matched']:.2f} | {p['steps']} |" for p in data.get("poisson", [])]
    out["poisson"] = "\n".join(lines) if len(lines) > 2 else "*Not computed yet.*"
    return out


