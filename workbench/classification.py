"""The small, real classification problems that several topics train on (shared here, not imported from one
topic by another): the digits split and its MLP, the MNIST CNN (data in :mod:`workbench.mnist`), and one plain
training loop.

Everything is seeded; on CPU a run repeats exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from workbench.checks import check_int
from workbench.data import load

__all__ = ["Split", "DigitsData", "digits_data", "make_mlp", "make_cnn", "evaluate", "fit_classifier"]


@dataclass
class Split:
    """A train/test split: ``x_*`` float32 ``(N, ...)`` (``(N, 64)`` for digits, ``(N, 1, 28, 28)`` for images),
    ``y_*`` int64 ``(N,)``."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


DigitsData = Split  # the name the N:M topic has always used


def digits_data(seed: int = 0, test_fraction: float = 0.25) -> Split:
    """Stratified train/test split of scikit-learn's digits (1,797 8x8 images), z-scored with training statistics."""
    from sklearn.model_selection import train_test_split

    X, y = load("digits")
    xtr, xte, ytr, yte = train_test_split(X, y, test_size=test_fraction, stratify=y, random_state=seed)
    mu, sd = xtr.mean(0), xtr.std(0) + 1e-6
    t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32)  # noqa: E731
    return Split(t((xtr - mu) / sd), torch.as_tensor(ytr), t((xte - mu) / sd), torch.as_tensor(yte))


def make_mlp(seed: int = 0, hidden: int = 256, n_in: int = 64, n_out: int = 10) -> nn.Sequential:
    """``n_in -> hidden -> hidden -> n_out`` ReLU MLP with seeded initialisation."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, n_out)
    )


def make_cnn(seed: int = 0, channels: tuple[int, int] = (32, 64), hidden: int = 128) -> nn.Sequential:
    """``conv3x3(1->c1) ReLU pool2 conv3x3(c1->c2) ReLU pool2 flatten linear(c2*7*7->hidden) ReLU linear(->10)``:
    421k parameters with the defaults, ``(B, 1, 28, 28) -> (B, 10)``. A plain ``Sequential`` so that structured
    pruning can shrink it."""
    torch.manual_seed(seed)
    c1, c2 = channels
    return nn.Sequential(
        nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(c2 * 7 * 7, hidden), nn.ReLU(), nn.Linear(hidden, 10),
    )


def fit_classifier(model: nn.Module, data: Split, epochs: int, lr: float, batch_size: int = 64, seed: int = 0, *,
                   on_epoch: Callable[[dict], None] | None = None,
                   should_stop: Callable[[], bool] | None = None) -> list[dict]:
    """Train ``model`` in place on ``data``: cross-entropy, SGD with momentum 0.9, a cosine learning rate from
    ``lr`` to 0 over all steps, batches drawn by a permutation seeded by ``seed`` (the pruning topic's recipe).
    ``on_epoch(record)`` gets ``{"epoch", "loss", "test_accuracy"}`` after each epoch; ``should_stop()`` is polled
    after each epoch. Returns the records."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(data, Split):
        raise TypeError(f"data: expected a workbench.classification.Split, got {type(data).__name__}")
    epochs, batch_size, seed = check_int("epochs", epochs, 0), check_int("batch_size", batch_size, 1), \
        check_int("seed", seed, 0)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr <= 100:
        raise ValueError(f"lr: expected a learning rate in (0, 100], got {lr!r}")
    if len(data.x_train) == 0 or len(data.x_train) != len(data.y_train):
        raise ValueError(f"data: expected as many training labels as inputs (at least one), got "
                         f"{len(data.x_train)} inputs and {len(data.y_train)} labels")
    n = len(data.x_train)
    total = max(1, epochs * math.ceil(n / batch_size))
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr, momentum=0.9)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    loss_fn = nn.CrossEntropyLoss()
    history = []
    model.train()
    for epoch in range(1, epochs + 1):
        perm = torch.randperm(n, generator=gen)
        running = 0.0
        for i in range(0, n, batch_size):
            idx = perm[i:i + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(data.x_train[idx]), data.y_train[idx])
            loss.backward()
            opt.step()
            schedule.step()
            running += float(loss.detach()) * len(idx)
        record = {"epoch": epoch, "loss": running / n, "test_accuracy": evaluate(model, data.x_test, data.y_test)}
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
        if should_stop is not None and should_stop():
            break
    return history


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> float:
    """Classification accuracy of ``model`` on ``(x, y)`` (a fraction in [0, 1]), in eval mode, by batches."""
    was_training = model.training
    model.eval()
    correct = sum(int((model(x[i:i + batch_size]).argmax(-1) == y[i:i + batch_size]).sum())
                  for i in range(0, len(x), batch_size))
    model.train(was_training)
    return correct / max(len(x), 1)
