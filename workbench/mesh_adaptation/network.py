"""E2N: the error-estimation network (Wallwork et al. 2022), in PyTorch.

One element at a time: the element's features ``x`` (:mod:`features`, ``N_FEATURES`` numbers) go through
``arctan`` (the paper's preprocessing: no standardisation, every raw feature squashed into
:math:`(-\\pi/2, \\pi/2)`), one hidden layer of 64 sigmoid units and a linear output; at inference the
indicator is :math:`\\eta_K = |\\mathrm{net}(x_K)|`. Training: MSE with ``reduction="sum"`` per batch of
500 elements, Adam (lr 1e-3), a 70/30 train/validation split, as the paper's ``test_and_train.py``.

Shapes: features ``(m, N_FEATURES)``, targets and predictions ``(m,)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn as nn

__all__ = ["E2N", "TrainingLog", "train_e2n"]


class E2N(nn.Module):
    """``Linear(n_features, hidden) -> Sigmoid -> Linear(hidden, 1)`` on ``arctan(x)``."""

    def __init__(self, n_features: int, hidden: int = 64):
        super().__init__()
        if not isinstance(n_features, int) or n_features < 1:
            raise ValueError(f"n_features: expected a positive integer, got {n_features!r}")
        self.n_features = n_features
        self.net = nn.Sequential(nn.Linear(n_features, hidden), nn.Sigmoid(), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"x: expected shape (m, {self.n_features}), got {tuple(x.shape)}")
        return self.net(torch.arctan(x)).squeeze(-1)

    @torch.no_grad()
    def indicators(self, features: np.ndarray) -> np.ndarray:
        """:math:`\\eta_K = |\\mathrm{net}(x_K)|` for each element, ``(m,)``."""
        x = torch.as_tensor(np.asarray(features), dtype=torch.get_default_dtype())
        return self(x).abs().cpu().numpy().astype(np.float64)


@dataclass
class TrainingLog:
    """Mean per-batch summed squared error after each epoch, on the training and validation elements."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)


def train_e2n(features: np.ndarray, targets: np.ndarray, *, epochs: int = 200, batch_size: int = 500,
              lr: float = 1e-3, val_fraction: float = 0.3, hidden: int = 64, seed: int = 0,
              progress: Callable | None = None) -> tuple[E2N, TrainingLog]:
    """Train an :class:`E2N` on per-element ``features (m, F)`` and DWR indicators ``targets (m,)``.

    The split and the batches are drawn from ``seed``: the same seed gives the same weights.
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"features: expected shape (m >= 2, F), got {x.shape}")
    if y.shape != (len(x),):
        raise ValueError(f"targets: expected shape ({len(x)},), got {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("features, targets: expected finite values")
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction: expected a number in (0, 1), got {val_fraction!r}")
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = E2N(x.shape[1], hidden)
    perm = torch.randperm(len(x), generator=gen)
    n_val = max(1, int(round(val_fraction * len(x))))
    xt = torch.as_tensor(x, dtype=torch.get_default_dtype())
    yt = torch.as_tensor(y, dtype=torch.get_default_dtype())
    val, tr = perm[:n_val], perm[n_val:]
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    log = TrainingLog()
    loss_fn = nn.MSELoss(reduction="sum")
    epochs_it = range(epochs)
    if progress is not None:
        epochs_it = progress(epochs_it, total=epochs, desc="E2N epochs")
    for _ in epochs_it:
        order = tr[torch.randperm(len(tr), generator=gen)]
        losses = []
        model.train()
        for b in range(0, len(order), batch_size):
            idx = order[b:b + batch_size]
            loss = loss_fn(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        log.train_loss.append(float(np.mean(losses)))
        with torch.no_grad():
            model.eval()
            v = [float(loss_fn(model(xt[val[b:b + batch_size]]), yt[val[b:b + batch_size]]))
                 for b in range(0, len(val), batch_size)]
        log.val_loss.append(float(np.mean(v)))
    return model.eval(), log
