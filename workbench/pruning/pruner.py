"""``Pruner``: one object per pruning method of the survey (Hoefler et al. 2021), in the scikit-learn style.

``Pruner(method, sparsity, ...)`` stores its settings; ``.fit(model, data)`` trains ``model`` (SGD with momentum
0.9 and a cosine learning rate, cross-entropy) while its masks follow the schedule, and returns ``self`` with

* ``masks_``: ``{layer name: bool tensor}``, the final masks (also in the model, as parametrizations);
* ``history_``: one record per epoch: ``epoch``, ``loss``, ``sparsity`` (measured), ``target`` (scheduled),
  ``test_accuracy`` (fractions in [0, 1]);
* ``schedule_``: one record per mask update: ``step``, ``target``, ``sparsity`` (zeros in the weights used) and
  ``kept`` (weights the masks keep; RigL's grown weights start at zero, so its zeros exceed its masked entries).

Methods (``METHODS``): removal by ``magnitude``, ``random`` (the control), ``first_order`` (``|W ⊙ ḡ|``),
``second_order`` (OBD with the empirical Fisher diagonal), ``movement`` (``-Σ g ⊙ W``), ``channel`` (structured:
whole output channels by L2 norm, with their biases and the next layer's matching inputs), ``nm`` (N:M through
``kernels.nm_mask``, along each weight's flattened input dimension); growth: ``rigl`` (Evci et al. 2020: sparse
from the start at an Erdős–Rényi-kernel allocation; every update drops the smallest-magnitude fraction
``α/2 (1 + cos(π t / T_end))`` of each layer's weights and grows as many where the dense gradient is largest, new
weights starting at zero). Removal masks are monotone (a removed weight stays removed), except movement's, whose
scores keep changing.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from kernels import nm_mask
from workbench.checks import check_int
from workbench.classification import Split, evaluate
from workbench.pruning.inference import PASS_THROUGH
from workbench.pruning.masks import (apply_masks, current_masks, dense_gradients, keep_top, model_sparsity,
                                     prunable_layers, record_dense_gradients)
from workbench.pruning.schedules import Schedule, check_sparsity
from workbench.pruning.scores import (channel_norms, first_order_scores, gradient_statistics, magnitude_scores,
                                      random_scores, second_order_scores)

__all__ = ["Pruner", "METHODS", "erk_densities", "parse_pattern"]

METHODS = ("magnitude", "random", "first_order", "second_order", "movement", "channel", "nm", "rigl")


def parse_pattern(pattern) -> tuple[int, int]:
    """``"2:4" -> (2, 4)``; ``1 <= n < m``."""
    if not isinstance(pattern, str):
        raise TypeError(f"pattern: expected a string 'N:M', got {type(pattern).__name__} {pattern!r}")
    parts = pattern.split(":")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"pattern: expected 'N:M' with integers 1 <= N < M, got {pattern!r}")
    n, m = (int(p) for p in parts)
    if not 1 <= n < m:
        raise ValueError(f"pattern: expected 'N:M' with integers 1 <= N < M, got {pattern!r}")
    return n, m


def erk_densities(shapes: dict[str, tuple[int, ...]], sparsity: float) -> dict[str, float]:
    """Erdős–Rényi-kernel densities (Evci et al. 2020): layer ``l``'s density ∝ ``Σ dims / Π dims`` of its weight,
    scaled so that the whole model has ``sparsity``; a layer that would exceed density 1 is dense and the rest
    rescaled."""
    sparsity = check_sparsity(sparsity)
    sizes = {k: math.prod(s) for k, s in shapes.items()}
    raw = {k: sum(s) / math.prod(s) for k, s in shapes.items()}
    dense: set[str] = set()
    while True:
        budget = (1 - sparsity) * sum(sizes.values()) - sum(sizes[k] for k in dense)
        rest = [k for k in shapes if k not in dense]
        scale = budget / sum(raw[k] * sizes[k] for k in rest) if rest else 0.0
        over = [k for k in rest if raw[k] * scale > 1]
        if not over:
            return {k: 1.0 if k in dense else raw[k] * scale for k in shapes}
        dense.update(over)


class Pruner:
    """See the module's docstring. ``schedule``: a :class:`Schedule` in steps, or None for the default: gradual
    from step 0 to 60 % of the training steps, 30 updates (one-shot for ``nm``; for ``rigl``, updates every
    ``total/30`` steps until 75 % of training). ``scope``: ``"layer"`` (each layer to the target) or ``"global"``
    (one threshold over all layers). ``channel``'s sparsity is the fraction of each layer's output channels
    removed (all layers but the last)."""

    def __init__(self, method: str = "magnitude", sparsity: float = 0.9, *, scope: str = "layer",
                 schedule: Schedule | None = None, epochs: int = 10, lr: float = 0.01, batch_size: int = 64,
                 pattern: str = "2:4", drop_fraction: float = 0.3, score_batches: int = 4, seed: int = 0):
        self.method, self.sparsity, self.scope, self.schedule = method, sparsity, scope, schedule
        self.epochs, self.lr, self.batch_size, self.pattern = epochs, lr, batch_size, pattern
        self.drop_fraction, self.score_batches, self.seed = drop_fraction, score_batches, seed

    # ---------- checks ----------
    def _check(self, model, data) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method: expected one of {', '.join(METHODS)}, got {self.method!r}")
        check_sparsity(self.sparsity)
        if self.scope not in ("layer", "global"):
            raise ValueError(f"scope: expected 'layer' or 'global', got {self.scope!r}")
        if self.schedule is not None and not isinstance(self.schedule, Schedule):
            raise TypeError(f"schedule: expected a Schedule or None, got {type(self.schedule).__name__}")
        check_int("epochs", self.epochs, 1)
        check_int("batch_size", self.batch_size, 1)
        check_int("score_batches", self.score_batches, 1)
        check_int("seed", self.seed, 0)
        for name in ("lr", "drop_fraction"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name}: expected a positive finite number, got {value!r}")
        if self.drop_fraction >= 1:
            raise ValueError(f"drop_fraction: expected a number in (0, 1), got {self.drop_fraction!r}")
        if self.method == "nm":
            parse_pattern(self.pattern)
        prunable_layers(model)  # TypeError / ValueError for a model without prunable layers
        if self.method == "channel" and not _is_chain(model):
            raise ValueError(f"method: 'channel' needs an nn.Sequential of Linear/Conv2d layers with only "
                             f"ReLU/MaxPool2d/Flatten/Dropout between them (the mlp, the cnn), got "
                             f"{type(model).__name__} with {_offending(model)}")
        if not isinstance(data, Split):
            raise TypeError(f"data: expected a workbench.classification.Split, got {type(data).__name__}")
        if len(data.x_train) == 0:
            raise ValueError("data: expected training examples, got none")

    # ---------- fit ----------
    def fit(self, model: nn.Module, data: Split, *, on_epoch: Callable[[dict], None] | None = None,
            should_stop: Callable[[], bool] | None = None) -> "Pruner":
        """Train ``model`` in place with masks following the schedule (see the class); ``on_epoch(record)`` after
        each epoch; ``should_stop()`` polled after each epoch (a page's Stop). Returns ``self``."""
        self._check(model, data)
        layers = prunable_layers(model)
        n = len(data.x_train)
        per_epoch = math.ceil(n / self.batch_size)
        total = self.epochs * per_epoch
        schedule = self.schedule or self._default_schedule(total)
        self.schedule_used_ = schedule
        updates = set(schedule.updates(total))
        gen = torch.Generator().manual_seed(self.seed)
        self._score_gen = torch.Generator().manual_seed(self.seed + 1)
        apply_masks(model, {k: torch.ones_like(m.weight, dtype=torch.bool) for k, m in layers.items()},
                    {k: torch.ones_like(m.bias, dtype=torch.bool) for k, m in layers.items()
                     if self.method == "channel" and m.bias is not None} or None)
        if self.method == "rigl":
            self._rigl_start(model)
        tracking = self.method in ("movement", "rigl")
        record_dense_gradients(model, tracking)
        self._movement = ({k: torch.zeros_like(m.weight) for k, m in layers.items()}
                          if self.method == "movement" else None)
        opt = torch.optim.SGD(model.parameters(), lr=self.lr, momentum=0.9)
        lr_schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
        loss_fn = nn.CrossEntropyLoss()
        self.history_, self.schedule_ = [], []
        step, target = 0, 0.0
        model.train()
        try:
            for epoch in range(1, self.epochs + 1):
                perm = torch.randperm(n, generator=gen)
                running = 0.0
                for i in range(0, n, self.batch_size):
                    if step in updates:
                        target = self._update(model, data, step, schedule, opt)
                        kept = sum(int(m.sum()) for m in current_masks(model).values())
                        self.schedule_.append({"step": step, "target": target, "sparsity": model_sparsity(model),
                                               "kept": kept})
                    idx = perm[i:i + self.batch_size]
                    opt.zero_grad(set_to_none=True)
                    loss = loss_fn(model(data.x_train[idx]), data.y_train[idx])
                    loss.backward()
                    if self._movement is not None:
                        with torch.no_grad():
                            for k, g in dense_gradients(model).items():
                                self._movement[k] -= g * layers[k].weight
                    opt.step()
                    lr_schedule.step()
                    running += float(loss.detach()) * len(idx)
                    step += 1
                record = {"epoch": epoch, "loss": running / n, "sparsity": model_sparsity(model), "target": target,
                          "test_accuracy": evaluate(model, data.x_test, data.y_test)}
                self.history_.append(record)
                if on_epoch is not None:
                    on_epoch(record)
                if should_stop is not None and should_stop():
                    break
        finally:
            record_dense_gradients(model, False)
        self.masks_ = current_masks(model)
        return self

    def _default_schedule(self, total: int) -> Schedule:
        if self.method == "nm":
            return Schedule("one-shot", start=0)
        end = max(1, int((0.75 if self.method == "rigl" else 0.6) * total))
        return Schedule("gradual", start=0, end=end, every=max(1, total // 30))

    # ---------- mask updates ----------
    def _update(self, model, data, step, schedule, opt) -> float:
        if self.method == "rigl":
            self._rigl_update(model, step, schedule, opt)
            return float(self.sparsity)
        target = schedule.target(step, float(self.sparsity))
        if self.method == "nm":
            self._nm_update(model)
            return model_sparsity(model)
        if self.method == "channel":
            self._channel_update(model, target)
            return target
        scores = self._scores(model, data)
        if self.method != "movement":  # monotone: what was removed stays removed
            masks = current_masks(model)
            scores = {k: torch.where(masks[k], s, torch.full_like(s, -math.inf)) for k, s in scores.items()}
        apply_masks(model, keep_top(scores, target, self.scope))
        return target

    def _scores(self, model, data) -> dict[str, torch.Tensor]:
        if self.method == "magnitude":
            return magnitude_scores(model)
        if self.method == "random":
            return random_scores(model, self._score_gen)
        if self.method == "movement":
            return {k: v.clone() for k, v in self._movement.items()}
        idx = torch.randperm(len(data.x_train), generator=self._score_gen)[:self.score_batches * self.batch_size]
        batches = [(data.x_train[idx[i:i + self.batch_size]], data.y_train[idx[i:i + self.batch_size]])
                   for i in range(0, len(idx), self.batch_size)]
        mean, mean_sq = gradient_statistics(model, batches)
        return first_order_scores(model, mean) if self.method == "first_order" else second_order_scores(model, mean_sq)

    def _nm_update(self, model) -> None:
        n, m = parse_pattern(self.pattern)
        masks, self.skipped_ = {}, []
        for name, layer in prunable_layers(model).items():
            w = layer.weight.detach().flatten(1)
            if w.shape[1] % m:
                self.skipped_.append(name)  # its rows cannot be cut into blocks of m: left dense
                continue
            masks[name] = nm_mask(w, n, m, dim=1).view_as(layer.weight)
        apply_masks(model, masks)

    def _channel_update(self, model, fraction: float) -> None:
        layers = list(prunable_layers(model).items())
        norms = channel_norms(model)
        old = current_masks(model)
        weight_masks = {k: torch.ones_like(m.weight, dtype=torch.bool) for k, m in layers}
        bias_masks = {k: torch.ones_like(m.bias, dtype=torch.bool) for k, m in layers if m.bias is not None}
        for (name, layer), (next_name, following) in zip(layers[:-1], layers[1:]):
            alive = old[name].flatten(1).any(1)
            score = torch.where(alive, norms[name], torch.full_like(norms[name], -math.inf))
            keep = torch.zeros_like(alive)
            k = max(1, round((1 - fraction) * len(alive)))
            keep[torch.topk(score, k).indices] = True
            weight_masks[name] &= keep.view(-1, *[1] * (layer.weight.dim() - 1))
            if name in bias_masks:
                bias_masks[name] &= keep
            per_channel = following.weight.shape[1] // len(keep)  # h*w features per channel after a Flatten
            columns = keep.repeat_interleave(per_channel)
            weight_masks[next_name] &= columns.view(1, -1, *[1] * (following.weight.dim() - 2))
        apply_masks(model, weight_masks, bias_masks)

    def _rigl_start(self, model) -> None:
        layers = prunable_layers(model)
        densities = erk_densities({k: tuple(m.weight.shape) for k, m in layers.items()}, float(self.sparsity))
        gen = torch.Generator().manual_seed(self.seed + 2)
        masks = {}
        for k, m in layers.items():
            keep = round(densities[k] * m.weight.numel())
            flat = torch.zeros(m.weight.numel(), dtype=torch.bool)
            flat[torch.randperm(m.weight.numel(), generator=gen)[:keep]] = True
            masks[k] = flat.view_as(m.weight)
        apply_masks(model, masks)

    @torch.no_grad()
    def _rigl_update(self, model, step, schedule, opt) -> None:
        grads = dense_gradients(model)
        if not grads:  # the first step: no gradient yet
            return
        end = max(schedule.end, 1)
        fraction = self.drop_fraction / 2 * (1 + math.cos(math.pi * min(step, end) / end))
        masks = current_masks(model)
        for name, layer in prunable_layers(model).items():
            mask = masks[name].flatten()
            k = int(fraction * int(mask.sum()))
            if k == 0 or name not in grads:
                continue
            weight = layer.weight.flatten()
            drop_score = torch.where(mask, weight.abs(), torch.full_like(weight, math.inf))
            dropped = torch.topk(drop_score, k, largest=False).indices
            mask[dropped] = False
            grow_score = torch.where(mask, torch.full_like(weight, -math.inf), grads[name].flatten().abs())
            grown = torch.topk(grow_score, k).indices
            mask[grown] = True
            original = layer.parametrizations.weight.original
            original.view(-1)[grown] = 0.0  # new connections start at zero
            state = opt.state.get(original, {})
            if "momentum_buffer" in state and state["momentum_buffer"] is not None:
                state["momentum_buffer"].view(-1)[grown] = 0.0
            masks[name] = mask.view_as(layer.weight)
        apply_masks(model, masks)


def _is_chain(model) -> bool:
    return isinstance(model, nn.Sequential) and all(isinstance(m, (nn.Linear, nn.Conv2d, *PASS_THROUGH)) for m in model)


def _offending(model) -> str:
    if not isinstance(model, nn.Sequential):
        return "a non-Sequential structure"
    bad = sorted({type(m).__name__ for m in model if not isinstance(m, (nn.Linear, nn.Conv2d, *PASS_THROUGH))})
    return ", ".join(bad)
