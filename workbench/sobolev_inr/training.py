"""Fitting an :class:`INR` to values and derivatives (Sobolev training).

Targets live on the image normalised to ``[−1, 1]`` (``t = 2 I − 1``, the released code's choice); derivative
targets are :func:`kernels.image_gradients` of ``t`` on the full-resolution image, taken at the training pixels
(as released: the filter sees the neighbours that the network never sees as values). The loss on ``N`` pixels with
``C`` channels,

    L = w_v · (1 / NC) Σ_{n,c} (f_c(p_n) − t_c(p_n))²  +  λ · (1 / N) Σ_n Σ_{c, d∈{x,y}} (∂_d f_c(p_n) − g_{c,d}(p_n))²,

is the released ``val_mse + λ_der · der_mse`` with ``w_v = 1``; ``loss="value"`` drops the second term and
``loss="gradient"`` the first (then one ``anchor`` pixel's value fixes the constant).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from kernels import image_gradients
from kernels.image_gradients import GRADIENT_KINDS
from workbench.checks import check_int, check_real
from workbench.sobolev_inr.images import check_image, check_stride, train_mask
from workbench.sobolev_inr.metrics import scores
from workbench.sobolev_inr.networks import INR, NETWORKS, pixel_grid

__all__ = ["LOSSES", "FitSettings", "FitResult", "sobolev_loss", "derivative_targets", "filter_derivatives",
           "fit_image", "train_inr", "to_unit"]

LOSSES = ("value", "sobolev")


def sobolev_loss(pred: torch.Tensor, target: torch.Tensor | None, pred_grad: torch.Tensor | None = None,
                 target_grad: torch.Tensor | None = None, lam: float = 1.0, value_weight: float = 1.0
                 ) -> torch.Tensor:
    """``w_v · mean((pred − target)²) + λ · mean_n Σ_{c,d} (pred_grad − target_grad)²``.

    Shapes: ``pred``, ``target`` ``(N, C)``; ``pred_grad``, ``target_grad`` ``(N, C, 2)``. ``target=None`` or
    ``value_weight=0`` drops the value term; ``target_grad=None`` or ``lam=0`` the derivative term.
    """
    check_real("lam", lam, 0.0, low_open=False)
    check_real("value_weight", value_weight, 0.0, low_open=False)
    loss = pred.new_zeros(())
    if target is not None and value_weight > 0:
        if pred.shape != target.shape:
            raise ValueError(f"target: expected the prediction's shape {tuple(pred.shape)}, got "
                             f"{tuple(target.shape)}")
        loss = loss + value_weight * (pred - target).pow(2).mean()
    if target_grad is not None and lam > 0:
        if pred_grad is None or pred_grad.shape != target_grad.shape:
            raise ValueError(f"target_grad: expected the prediction's derivative shape "
                             f"{None if pred_grad is None else tuple(pred_grad.shape)}, got "
                             f"{tuple(target_grad.shape)}")
        loss = loss + lam * (pred_grad - target_grad).pow(2).sum((1, 2)).mean()
    return loss


def derivative_targets(image: np.ndarray, kind: str = "sobel") -> torch.Tensor:
    """``(H, W, C, 2)`` float32: the ``kind`` filter's ``(∂x, ∂y)`` of ``2·image − 1`` per channel, per pixel."""
    image = check_image(image)
    if kind not in GRADIENT_KINDS:
        raise ValueError(f"kind: expected one of {GRADIENT_KINDS}, got {kind!r}")
    return filter_derivatives(torch.from_numpy(2.0 * image - 1.0).float(), kind).contiguous()


def filter_derivatives(image: torch.Tensor, kind: str) -> torch.Tensor:
    """The ``kind`` filter's ``(∂x, ∂y)`` of ``image (H, W, C)`` per channel and pixel: ``(H, W, C, 2)``
    (differentiable: the network's image in :mod:`.stencil_fit`, the targets here)."""
    return image_gradients(image.permute(2, 0, 1), kind).permute(2, 3, 0, 1)  # (C, 2, H, W) -> (H, W, C, 2)


@dataclass(frozen=True)
class FitSettings:
    """One image-regression run: ``network`` trained with ``loss`` (``"value"`` or ``"sobolev"`` with weight
    ``lam`` on derivatives from the ``kernel`` filter) on every ``stride``-th pixel, ``steps`` full-batch Adam steps
    at ``lr`` (the released 1e-4), ``hidden`` × ``layers``; scored every ``eval_every`` steps."""

    network: str = "siren"
    loss: str = "sobolev"
    lam: float = 1.0
    kernel: str = "sobel"
    stride: int = 4
    steps: int = 2000
    lr: float = 1e-4
    hidden: int = 256
    layers: int = 3
    seed: int = 0
    eval_every: int = 100

    def __post_init__(self):
        if self.network not in NETWORKS:
            raise ValueError(f"network: expected one of {NETWORKS}, got {self.network!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss: expected one of {LOSSES}, got {self.loss!r}")
        check_real("lam", self.lam, 0.0, low_open=False)
        if self.kernel not in GRADIENT_KINDS:
            raise ValueError(f"kernel: expected one of {GRADIENT_KINDS}, got {self.kernel!r}")
        check_int("stride", self.stride, 1)
        check_int("steps", self.steps, 1)
        check_real("lr", self.lr)
        check_int("hidden", self.hidden, 1)
        check_int("layers", self.layers, 0)
        check_int("seed", self.seed, 0)
        check_int("eval_every", self.eval_every, 1)


@dataclass
class FitResult:
    """A trained network, its reconstruction ``(H, W, C)`` in ``[0, 1]`` units (unclipped), the final scores and
    the ``history`` (``step``, ``loss``, ``psnr_test``, ``psnr_train``) of every evaluation."""

    net: INR
    reconstruction: np.ndarray
    psnr_test: float
    psnr_train: float
    ssim_test: float
    steps: int
    seconds: float
    history: list[dict] = field(default_factory=list)


def take_step(opt: torch.optim.Optimizer, loss: torch.Tensor, step: int, steps: int, lr: float,
              evaluate: Callable[[int, float], None] | None, eval_every: int,
              should_stop: Callable[[], bool] | None) -> bool:
    """One step of ``opt`` on ``loss`` (a non-finite loss raises, naming ``lr``), then ``evaluate(step, loss)`` when
    due (every ``eval_every`` steps, the last, or a stop). True when ``should_stop()`` asks to end training."""
    if not torch.isfinite(loss):
        raise FloatingPointError(f"the loss became {loss.item()} at step {step}: lower lr (got {lr:g})")
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    stop = should_stop is not None and should_stop()
    if evaluate is not None and (step % eval_every == 0 or step == steps or stop):
        evaluate(step, loss.item())
    return stop


def train_inr(net: INR, xy: torch.Tensor, values: torch.Tensor | None, grads: torch.Tensor | None, *, lam: float,
              value_weight: float = 1.0, steps: int, lr: float, batch: int | None = None, seed: int = 0,
              evaluate: Callable[[int, float], None] | None = None, eval_every: int = 100,
              should_stop: Callable[[], bool] | None = None,
              anchor: tuple[torch.Tensor, torch.Tensor, float] | None = None) -> int:
    """Adam on :func:`sobolev_loss` over the pixels ``xy (N, 2)`` with targets ``values (N, C)`` and ``grads
    (N, C, 2)`` (either may be None); minibatches of ``batch`` pixels (None: all). ``anchor = (xy (K, 2), values
    (K, C), weight)`` adds ``weight · mean((f(xy) − values)²)`` at every step (what fixes the constant of a
    gradient-only fit; ``batch`` of its pixels per step when ``K`` is larger).
    ``evaluate(step, loss)`` runs after every ``eval_every`` steps and the last; ``should_stop()`` ends training
    early. Returns the steps taken."""
    check_int("steps", steps, 1)
    check_real("lr", lr)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    use_grad = grads is not None and lam > 0
    step = 0
    for step in range(1, steps + 1):
        idx = None if batch is None or batch >= len(xy) else torch.randint(len(xy), (batch,), generator=gen)
        pts = xy if idx is None else xy[idx]
        if use_grad:
            pred, pred_grad = net.value_and_gradient(pts)
        else:
            pred, pred_grad = net(pts), None
        loss = sobolev_loss(pred, None if values is None else (values if idx is None else values[idx]),
                            pred_grad, None if not use_grad else (grads if idx is None else grads[idx]), lam,
                            value_weight)
        if anchor is not None:
            a_xy, a_val, a_weight = anchor
            if batch is not None and batch < len(a_xy):
                pick = torch.randint(len(a_xy), (batch,), generator=gen)
                a_xy, a_val = a_xy[pick], a_val[pick]
            loss = loss + a_weight * (net(a_xy) - a_val).pow(2).mean()
        if take_step(opt, loss, step, steps, lr, evaluate, eval_every, should_stop):
            break
    return step


def to_unit(values: torch.Tensor) -> np.ndarray:
    """Network output on ``[−1, 1]`` back to ``[0, 1]`` intensities (float64, unclipped)."""
    return (values.double().numpy() + 1.0) / 2.0


def fit_image(image: np.ndarray, settings: FitSettings = FitSettings(), progress: Callable[[dict], None] | None = None,
              should_stop: Callable[[], bool] | None = None) -> FitResult:
    """Train ``settings.network`` on every ``stride``-th pixel of ``image`` ``(H, W, C)`` in ``[0, 1]`` and score
    it on the others (:func:`metrics.scores`). ``progress(entry)`` gets each history entry (with ``"step"``,
    ``"loss"``, ``"psnr_test"``, ``"psnr_train"``, ``"ssim_test"``)."""
    image = check_image(image)
    s = settings
    check_stride(image.shape, s.stride)
    t0 = time.perf_counter()
    h, w, c = image.shape
    mask = train_mask((h, w), s.stride)
    xy = pixel_grid((h, w), mask)
    values = torch.from_numpy(2.0 * image[mask] - 1.0).float()  # (N, C), row-major like xy
    grads = derivative_targets(image, s.kernel)[torch.from_numpy(mask)] if s.loss == "sobolev" else None
    torch.manual_seed(s.seed)
    net = INR(s.network, (h, w), c, hidden=s.hidden, layers=s.layers, stride=s.stride, seed=s.seed)
    history: list[dict] = []
    state: dict = {}

    def evaluate(step: int, loss: float) -> None:
        recon = to_unit(net.render())
        entry = {"step": step, "loss": loss, **{k: round(v, 4) for k, v in scores(image, recon, s.stride).items()}}
        history.append(entry)
        state["recon"] = recon
        if progress is not None:
            progress(entry)

    steps = train_inr(net, xy, values, grads, lam=s.lam, steps=s.steps, lr=s.lr, seed=s.seed, evaluate=evaluate,
                      eval_every=s.eval_every, should_stop=should_stop)
    last = history[-1]
    return FitResult(net, state["recon"], last["psnr_test"], last["psnr_train"], last["ssim_test"], steps,
                     time.perf_counter() - t0, history)
