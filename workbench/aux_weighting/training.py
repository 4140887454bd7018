"""Training with auxiliary tasks, weighted six ways (the paper's method and the baselines of issue 22).

* ``target_only``: the target's mean loss alone;
* ``equal``: ``Σ_τ mean ℓ_τ``, every task weighted 1;
* ``finetune``: the auxiliary tasks alone for ``pretrain_epochs`` (pre-training), then the target alone;
* ``cosine``: task ``τ`` weighted ``max(0, cos_τ)``, its gradient's cosine with the target's on the shared
  parameters, recomputed every step (gradient-cosine weighting without meta-learning, GCS-like);
* ``uncertainty``: ``Σ_τ exp(−s_τ) mean ℓ_τ + s_τ`` with a learned log-variance ``s_τ`` per task (Kendall, Gal,
  Cipolla 2018);
* ``meta`` (AUX-TS): per-example weights ``V(e; φ)`` (:mod:`.weighting`). Each epoch, first the ``φ``-step: the
  training nodes are cut into ``folds`` (stratified by class); for each, the one-step look-ahead on the other folds'
  target losses and the auxiliary losses, and the target loss at the look-ahead on the held-out fold; their mean's
  gradient moves ``φ`` (Adam, ``meta_lr``). Then the ``θ``-step on every task, weighted by ``V`` (no gradient to
  ``φ``). By default the target keeps weight 1 and the auxiliary weights share a fixed mean (:class:`TrainConfig`).

Every method trains the same :class:`~.tasks.MultiTaskGNN` (Adam, ``lr``, weight decay on the encoder) for
``epochs`` full-graph steps; the model with the best validation accuracy gives the test accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Iterator

import torch

from workbench.aux_weighting.tasks import AUXILIARY, MultiTaskGNN, TaskGraph, check_tasks, draw
from workbench.aux_weighting.weighting import WeightNet, gradient_cosines, lookahead_target_loss, weighted_loss
from workbench.checks import check_int, check_real

__all__ = ["METHODS", "TrainConfig", "iter_train", "accuracy", "stratified_folds"]

METHODS = ("target_only", "equal", "finetune", "cosine", "uncertainty", "meta")


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of every method (see the module); ``pairs``, ``mask``, ``nodes``: each step's draw.

    ``meta``'s weighting model: ``learn_target`` (the target's examples weighted by ``V`` too, as in the paper;
    default off: the target's weight is 1), ``cosine_smoothing`` ``β`` (the cosines ``V`` reads are the exponential
    average ``c ← β c + (1 − β) cos`` over steps; 0: each step's own), ``auxiliary_mean`` (the auxiliary weights
    share that mean, :meth:`~.weighting.WeightNet.weights`; None: free sigmoids, as in the paper). The defaults are
    what made ``meta`` work on Cora (``docs/aux_weighting.md``, "Getting meta to work")."""

    epochs: int = 200
    lr: float = 0.01
    weight_decay: float = 5e-4
    hidden: int = 64
    dropout: float = 0.5
    pretrain_epochs: int = 100
    meta_lr: float = 0.005  # the authors' code's wlr
    lookahead_lr: float = 0.1
    folds: int = 3  # the authors' n_fold on OAG
    weight_hidden: int = 100
    learn_target: bool = False
    cosine_smoothing: float = 0.9
    auxiliary_mean: float | None = 1.0
    pairs: int = 512
    mask: int = 256
    nodes: int = 512
    eval_every: int = 10

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "bool":
                if not isinstance(value, bool):
                    raise TypeError(f"{f.name}: expected True or False, got {value!r}")
            elif f.name == "auxiliary_mean":
                if value is not None:
                    check_real(f.name, value)
            elif f.type == "int":
                check_int(f.name, value, 0 if f.name == "pretrain_epochs" else 1)
            elif f.name == "cosine_smoothing":
                check_real(f.name, value, 0.0, 1.0, low_open=False, high_open=True)
            else:
                check_real(f.name, value, low_open=f.name != "weight_decay")
        if self.folds < 2:
            raise ValueError(f"folds: expected at least 2 (one is held out), got {self.folds}")


def accuracy(model: MultiTaskGNN, graph: TaskGraph, nodes: torch.Tensor) -> float:
    """The target classifier's accuracy on ``nodes`` (dropout off)."""
    was = model.training
    model.eval()
    with torch.no_grad():
        pred = model(graph, method="logits")[nodes].argmax(1)
    model.train(was)
    return float((pred == graph.y[nodes]).float().mean())


def _optimizer(model: MultiTaskGNN, cfg: TrainConfig, extra=()) -> torch.optim.Adam:
    encoder = [p for n, p in model.named_parameters() if n.startswith("encoder.")]
    rest = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
    return torch.optim.Adam([{"params": encoder, "weight_decay": cfg.weight_decay},
                             {"params": rest + list(extra), "weight_decay": 0.0}], lr=cfg.lr)


def stratified_folds(train: torch.Tensor, y: torch.Tensor, k: int, gen: torch.Generator) -> list[torch.Tensor]:
    """``k`` folds of ``train`` with each class spread evenly over them. Plain random folds of a class-balanced
    split are anti-correlated in their class mix (what one fold has more of, the others have less of), so the
    look-ahead on the other folds would move the class priors away from the held-out fold's and the meta-gradient
    would learn to switch the target off."""
    if len(train) < k:
        raise ValueError(f"folds: expected at most as many folds as training nodes ({len(train)}), got {k}")
    parts: list[list[torch.Tensor]] = [[] for _ in range(k)]
    offset = 0
    for c in y[train].unique():
        members = train[y[train] == c]
        members = members[torch.randperm(len(members), generator=gen)]
        for j in range(len(members)):  # round-robin, continuing where the last class ended
            parts[(offset + j) % k].append(members[j:j + 1])
        offset += len(members)
    return [torch.cat(p) for p in parts]


def iter_train(graph: TaskGraph, method: str, tasks=AUXILIARY, config: TrainConfig | None = None,
               seed: int = 0) -> Iterator[dict]:
    """Train with ``method`` on ``graph`` with the auxiliary ``tasks``; every ``eval_every`` epochs (and at the end)
    a record ``{"epoch", "loss", "val_accuracy", "test_accuracy", "best_val", "test_at_best_val", "weights",
    "cosines"}``: ``weights`` ``{task: [mean, std]}`` over the examples of the step (for the task-level methods,
    the task's weight and 0), ``cosines`` ``{task: cos}`` (the cosine of each auxiliary gradient with the
    target's)."""
    if method not in METHODS:
        raise ValueError(f"method: expected one of {list(METHODS)}, got {method!r}")
    tasks = check_tasks(tasks)
    cfg = config or TrainConfig()
    if not isinstance(cfg, TrainConfig):
        raise TypeError(f"config: expected a TrainConfig, got {type(cfg).__name__}")
    seed = check_int("seed", seed, 0)
    gen = torch.Generator().manual_seed(seed)
    model = MultiTaskGNN(graph, tasks, cfg.hidden, dropout=cfg.dropout, seed=seed)
    log_var = torch.zeros(1 + len(tasks), requires_grad=True)  # uncertainty weighting's s_tau
    optimizer = _optimizer(model, cfg, [log_var] if method == "uncertainty" else ())
    weight_net = meta_optimizer = None
    if method == "meta":
        weight_net = WeightNet(cfg.weight_hidden, seed=seed, learn_target=cfg.learn_target,
                               auxiliary_mean=cfg.auxiliary_mean)
        meta_optimizer = torch.optim.Adam(weight_net.parameters(), lr=cfg.meta_lr)
    best_val, test_at_best = -1.0, 0.0
    smooth = None  # the cosines the weighting model reads: an exponential average over steps
    total_epochs = cfg.epochs + (cfg.pretrain_epochs if method == "finetune" else 0)
    for epoch in range(1, total_epochs + 1):
        model.train()
        if method == "meta":
            meta_optimizer.zero_grad()
            folds = stratified_folds(graph.train_idx, graph.y, cfg.folds, gen)
            for k, held_out in enumerate(folds):
                rest = torch.cat([f for j, f in enumerate(folds) if j != k])
                meta = lookahead_target_loss(model, weight_net, graph, draw(graph, gen, rest, cfg.pairs, cfg.mask,
                                                                            cfg.nodes), held_out, cfg.lookahead_lr,
                                             smooth)
                (meta / len(folds)).backward()
            meta_optimizer.step()
        d = draw(graph, gen, None, cfg.pairs, cfg.mask, cfg.nodes)
        losses = model(graph, d)
        cosines = gradient_cosines(model, losses)
        b = cfg.cosine_smoothing
        smooth = cosines if smooth is None else {t: b * smooth[t] + (1 - b) * cosines[t] for t in cosines}
        pretraining = method == "finetune" and epoch <= cfg.pretrain_epochs
        weights = _weights(method, losses, smooth if method == "meta" else cosines, log_var, weight_net, pretraining)
        if method == "uncertainty":
            total = sum(torch.exp(-log_var[i]) * losses[t].mean() + log_var[i]
                        for i, t in enumerate(("target",) + tasks))
        else:
            chosen = {t: loss for t, loss in losses.items() if weights[t] is not None}
            total = weighted_loss(chosen, {t: weights[t] for t in chosen})
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        if pretraining:
            continue
        val = accuracy(model, graph, graph.val_idx)
        if val > best_val:
            best_val, test_at_best = val, accuracy(model, graph, graph.test_idx)
        if epoch % cfg.eval_every == 0 or epoch == total_epochs:
            yield {"epoch": epoch, "loss": float(total.detach()), "val_accuracy": val,
                   "test_accuracy": accuracy(model, graph, graph.test_idx), "best_val": best_val,
                   "test_at_best_val": test_at_best, "cosines": {t: cosines[t] for t in tasks},
                   "weights": {t: _summary(w) for t, w in weights.items() if t in ("target",) + tasks}}


def _weights(method, losses, cosines, log_var, weight_net, pretraining) -> dict:
    """Per task: a weight tensor (per example), a float, or None (the task is left out of this step's loss)."""
    tasks = [t for t in losses if t != "target"]
    if method == "target_only" or (method == "finetune" and not pretraining):
        return {"target": 1.0, **{t: None for t in tasks}}
    if method == "finetune":  # pre-training: the auxiliary tasks alone
        return {"target": None, **{t: 1.0 for t in tasks}}
    if method == "equal":
        return {t: 1.0 for t in losses}
    if method == "cosine":
        return {"target": 1.0, **{t: max(0.0, cosines[t]) for t in tasks}}
    if method == "uncertainty":
        return {t: float(torch.exp(-log_var[i]).detach()) for i, t in enumerate(["target"] + tasks)}
    with torch.no_grad():
        return weight_net.weights(losses, cosines)


def _summary(w) -> list[float]:
    if w is None:
        return [0.0, 0.0]
    if isinstance(w, torch.Tensor):
        return [float(w.mean()), float(w.std()) if len(w) > 1 else 0.0]
    return [float(w), 0.0]
