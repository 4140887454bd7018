"""One training loop for the SNN and the neural baselines (released code's schedule, made selectable).

Adam (``lr``, weight decay ``weight_decay``) on the cross-entropy of the logits, minibatches of ``batch_size``
drawn with class-balanced weights (``balanced``: the released ``WeightedRandomSampler`` with weights 1 / class
count), gradient values clipped at ``clip``, the model's ``clamp_()`` after each step; ``ReduceLROnPlateau``
(factor 0.1, ``patience``) on the held-out accuracy after ``warmup`` epochs. ``valid_fraction`` of the training
flows (stratified) is held out to choose the epoch: the returned model is the best one on it.

``train(model, x, y, settings)`` → history, one dict per epoch (``epoch``, ``loss``, ``valid_accuracy``, ``lr``,
``seconds``); ``progress(record)`` sees each record; ``should_stop()`` ends training after the current batch.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from workbench.checks import check_int, check_real

__all__ = ["TrainSettings", "train", "predict_logits", "holdout_split"]


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 30
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-5
    clip: float = 5.0
    balanced: bool = True
    patience: int = 3
    warmup: int = 5
    valid_fraction: float = 0.1
    seed: int = 0

    def __post_init__(self):
        check_int("epochs", self.epochs, 1)
        check_int("batch_size", self.batch_size, 1)
        check_real("lr", self.lr)
        check_real("weight_decay", self.weight_decay, 0.0, low_open=False)
        check_real("clip", self.clip)
        check_int("patience", self.patience, 0)
        check_int("warmup", self.warmup, 0)
        check_real("valid_fraction", self.valid_fraction, 0.0, 0.5, low_open=False, high_open=True)


def holdout_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified indices ``(train, held_out)``: ``fraction`` of each class held out (at least one when > 0)."""
    rng = np.random.default_rng(seed)
    train, held = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = int(round(fraction * len(idx))) if fraction > 0 else 0
        k = min(max(k, 1 if fraction > 0 else 0), len(idx) - 1)
        held.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(held))


@torch.no_grad()
def predict_logits(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """``model(x)`` in evaluation mode, in batches, ``(N, C)``."""
    was = model.training
    model.eval()
    try:
        return torch.cat([model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])
    finally:
        model.train(was)


def train(model: torch.nn.Module, x: torch.Tensor, y, settings: TrainSettings | None = None,
          progress: Callable[[dict], None] | None = None,
          should_stop: Callable[[], bool] | None = None) -> list[dict]:
    """Fit ``model`` to ``x`` ``(N, ...)`` and labels ``y`` ``(N,)``; keeps the best held-out epoch's weights."""
    s = settings or TrainSettings()
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"x: expected a float tensor, got {type(x).__name__}")
    y = torch.as_tensor(np.asarray(y), dtype=torch.long)
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"y: expected {len(x)} labels (one per flow), got shape {tuple(y.shape)}")
    fit_idx, held_idx = holdout_split(y.numpy(), s.valid_fraction, s.seed)
    fit_idx = torch.from_numpy(fit_idx)
    y_fit = y[fit_idx]  # batches index x through fit_idx: no second copy of the (large) training inputs
    x_held, y_held = x[held_idx], y[held_idx]
    counts = torch.bincount(y_fit, minlength=int(y.max()) + 1).clamp(min=1)
    weights = (1.0 / counts.double())[y_fit] if s.balanced else torch.ones(len(y_fit), dtype=torch.double)
    gen = torch.Generator().manual_seed(s.seed)
    opt = torch.optim.Adam(model.parameters(), lr=s.lr, weight_decay=s.weight_decay)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.1, patience=s.patience)
    clamp = getattr(model, "clamp_", None)
    history, best, best_state = [], -1.0, None
    model.train()
    for epoch in range(s.epochs):
        t0 = time.perf_counter()
        order = torch.multinomial(weights, len(y_fit), replacement=True, generator=gen)
        losses, stopped = [], False
        for i in range(0, len(order), s.batch_size):
            batch = order[i:i + s.batch_size]
            loss = torch.nn.functional.cross_entropy(model(x[fit_idx[batch]]), y_fit[batch])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_value_(model.parameters(), s.clip)
            opt.step()
            if clamp is not None:
                clamp()
            losses.append(loss.item())
            if should_stop is not None and should_stop():
                stopped = True
                break
        if len(held_idx):
            acc = float((predict_logits(model, x_held).argmax(1) == y_held).float().mean())
        else:
            acc = float("nan")
        if epoch + 1 >= s.warmup and len(held_idx):
            plateau.step(acc)
        record = {"epoch": epoch + 1, "loss": float(np.mean(losses)), "valid_accuracy": acc,
                  "lr": opt.param_groups[0]["lr"], "seconds": time.perf_counter() - t0}
        history.append(record)
        if not len(held_idx) or acc > best:
            best, best_state = acc, copy.deepcopy(model.state_dict())
        if progress is not None:
            progress(record)
        if stopped:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history
