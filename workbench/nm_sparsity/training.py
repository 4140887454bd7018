"""A small, real training problem for N:M experiments: an MLP on scikit-learn's digits.

Everything is seeded; on CPU a run repeats exactly. The batch size is a multiple of 4 so that
gradient blocks of 2 or 4 consecutive samples tile each batch (a ragged last batch is zero-padded
by :func:`~workbench.nm_sparsity.sparsify.prune_gradient`).
"""

from __future__ import annotations

import math
from typing import Callable, Iterator

import torch
from torch import nn

from workbench.classification import DigitsData, digits_data, evaluate, make_mlp
from workbench.checks import check_int
from workbench.nm_sparsity.sparsify import check_seed

__all__ = ["DigitsData", "digits_data", "make_mlp", "train", "iter_train", "evaluate", "capture_gradients"]


def iter_train(
    model: nn.Module,
    data: DigitsData,
    *,
    epochs: int = 20,
    lr: float = 0.05,
    batch_size: int = 64,
    seed: int = 0,
) -> Iterator[dict]:
    """Train with SGD (momentum 0.9, cosine learning-rate decay) and cross-entropy, yielding after each epoch.

    Yields ``{"epoch", "loss", "train_accuracy", "test_accuracy"}``; the caller may stop iterating at
    any epoch (the dashboard does, to stream curves and honour its Stop button). Bad arguments
    (``epochs < 1``, ``batch_size < 1``, ``lr`` not a positive finite number, a non-int ``seed``)
    raise ``TypeError``/``ValueError`` naming them at the call, before the first epoch.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(data, DigitsData):
        raise TypeError(f"data: expected a DigitsData (see digits_data), got {type(data).__name__}")
    check_int("epochs", epochs, 1)
    check_int("batch_size", batch_size, 1)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)):
        raise TypeError(f"lr: expected a positive finite number, got {type(lr).__name__} {lr!r}")
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr: expected a positive finite number, got {lr!r}")
    check_seed(seed)
    return _epochs(model, data, epochs, lr, batch_size, seed)


def _epochs(model: nn.Module, data: DigitsData, epochs: int, lr: float, batch_size: int, seed: int) -> Iterator[dict]:
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loss_fn = nn.CrossEntropyLoss()
    n = data.x_train.shape[0]
    for epoch in range(1, epochs + 1):
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for i in range(0, n, batch_size):
            idx = perm[i : i + batch_size]
            opt.zero_grad()
            loss = loss_fn(model(data.x_train[idx]), data.y_train[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        yield {
            "epoch": epoch,
            "loss": total / n,
            "train_accuracy": evaluate(model, data.x_train, data.y_train),
            "test_accuracy": evaluate(model, data.x_test, data.y_test),
        }


def train(
    model: nn.Module,
    data: DigitsData,
    *,
    epochs: int = 20,
    lr: float = 0.05,
    batch_size: int = 64,
    seed: int = 0,
    progress: Callable | None = None,
) -> list[dict]:
    """Run :func:`iter_train` to the end; returns one record per epoch.

    Args:
        progress: tqdm-like callable wrapping the epoch iterator (``tqdm.auto.tqdm``, ``pn.widgets.Tqdm``).
    """
    records = iter_train(model, data, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)
    if progress is not None:
        records = progress(records, total=epochs, desc="epochs")
    return list(records)


def capture_gradients(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """Neural gradients ``dL/dz`` (gradient w.r.t. each Linear/Conv2d output) for one batch.

    Returns ``{layer name: tensor shaped like the layer output}``; parameters' ``.grad`` are left untouched.
    """
    grads: dict[str, torch.Tensor] = {}
    hooks = [
        mod.register_full_backward_hook(lambda _m, _gi, go, name=name: grads.__setitem__(name, go[0].detach().clone()))
        for name, mod in model.named_modules()
        if isinstance(mod, (nn.Linear, nn.Conv2d))
    ]
    saved = [p.grad for p in model.parameters()]
    try:
        # inputs that require grad make full backward hooks fire without a warning
        loss = nn.functional.cross_entropy(model(x.detach().requires_grad_(True)), y)
        loss.backward()
    finally:
        for h in hooks:
            h.remove()
        for p, g in zip(model.parameters(), saved):
            p.grad = g
    return grads
