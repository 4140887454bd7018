"""The small, real classification problems that several topics train on (shared here, not imported from one
topic by another): the digits split and its MLP.

Everything is seeded; on CPU a run repeats exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from workbench.data import load

__all__ = ["Split", "DigitsData", "digits_data", "make_mlp", "evaluate"]


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


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> float:
    """Classification accuracy of ``model`` on ``(x, y)`` (a fraction in [0, 1]), in eval mode, by batches."""
    was_training = model.training
    model.eval()
    correct = sum(int((model(x[i:i + batch_size]).argmax(-1) == y[i:i + batch_size]).sum())
                  for i in range(0, len(x), batch_size))
    model.train(was_training)
    return correct / max(len(x), 1)
