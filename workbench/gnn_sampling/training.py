"""Training a GCN with a sampler, and the gradient-variance measurement (the paper's Definition 3.1).

:func:`iter_train` yields a record per evaluation (step, seconds of training, loss, validation and test F1-micro,
training and validation loss); the loss of a step is ``Σ_i w_i CE(z_i, y_i)`` over the batch (an estimate of the
mean over the training nodes), the training loss that mean itself, computed exactly (the paper's Fig. 4 plots it).

:func:`gradient_variance` measures, at the current weights and without dropout, the mean squared distance of the
sampler's mini-batch gradient ``g̃`` to the full-batch gradient ``∇f``, and its two components as the paper
defines them, each estimated by holding the other fixed: the *stochastic* part ``E‖g − ∇f‖²`` with ``g`` the same
batch's gradient computed exactly (its nodes' full ``L``-hop neighbourhoods, fresh embeddings), and the
*embedding* part ``E‖g̃ − g‖²`` (the same batch: only the approximation of the embeddings differs). Each is a mean
over ``draws`` batches with its standard error.

A sampler whose state goes stale between refreshes (MVS: histories and gradient norms refreshed every ``K`` steps)
injects a variance that depends on where in that cycle a step falls: it grows as the weights move away from those
the state was computed at. :func:`iter_train`'s ``variance_window=W`` measures the variance at step ``v`` over the ``W``
steps up to ``v``, the ``draws`` spread evenly over them, each draw at that step's weights and state against that
step's full gradient: with ``W = K``, the variance the optimiser meets over one whole cycle, not at one phase of it.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from typing import Iterator

import torch
from torch import nn

from workbench.checks import check_int, check_real
from workbench.gnn_sampling.blocks import MiniBatch, exact_minibatch, full_batch
from workbench.gnn_sampling.graph import Graph
from workbench.gnn_sampling.model import GCN, node_gradient_norms
from workbench.gnn_sampling.samplers import Sampler

__all__ = ["PARTS", "batch_loss", "f1_micro", "evaluate", "evaluation_batch", "iter_train", "gradient_variance",
           "full_gradient", "window_draws"]

#: what a variance measurement reports: the total and its two parts (see the module)
PARTS = ("total", "stochastic", "embedding")


def batch_loss(model: GCN, X: torch.Tensor, y: torch.Tensor, batch: MiniBatch, history=None):
    """``(Σ_i w_i CE_i, hidden pre-activations, logits, a)`` of a mini-batch (``a``: the last layer's aggregated
    input, see :func:`~workbench.gnn_sampling.model.node_gradient_norms`)."""
    logits, hidden, a = model(X, batch, history)
    losses = nn.functional.cross_entropy(logits, y[batch.nodes], reduction="none")
    return (batch.weights * losses).sum(), hidden, logits, a


def f1_micro(pred: torch.Tensor, y: torch.Tensor) -> float:
    """F1-micro of a single-label prediction: the accuracy, ``k / n`` in float64 (in float32, 420 / 500 would be
    0.83999997, short of a target of 0.84)."""
    return int((pred == y).sum()) / len(y) if len(y) else float("nan")


def evaluate(model: GCN, graph: Graph, full_nodes: MiniBatch | None = None) -> dict:
    """Validation and test F1-micro, the full-batch training loss ``(1/N) Σ_{i∈train} CE_i`` and the same mean over
    the validation nodes (the paper's "testing loss"), all with exact computation and no dropout; ``full_nodes``:
    :func:`evaluation_batch` of ``graph`` (built if not given)."""
    batch = full_nodes or evaluation_batch(graph, model.num_layers)
    was = model.training
    model.eval()
    with torch.no_grad():
        logits = model(graph.X, batch)[0]
    model.train(was)
    nv, nt = len(graph.val_idx), len(graph.test_idx)
    pred = logits[:nv + nt].argmax(1)
    return {"val_f1": f1_micro(pred[:nv], graph.y[graph.val_idx]),
            "test_f1": f1_micro(pred[nv:], graph.y[graph.test_idx]),
            "train_loss": _mean_loss(logits[nv + nt:], graph.y[graph.train_idx]),
            "val_loss": _mean_loss(logits[:nv], graph.y[graph.val_idx])}


def _mean_loss(logits: torch.Tensor, y: torch.Tensor) -> float:
    return float(nn.functional.cross_entropy(logits, y)) if len(y) else float("nan")


def evaluation_batch(graph: Graph, layers: int) -> MiniBatch:
    """The exact computation of the validation, test and training nodes' outputs, in that order (what
    :func:`evaluate` reads)."""
    nodes = torch.cat([graph.val_idx, graph.test_idx, graph.train_idx])
    return exact_minibatch(graph, nodes, torch.ones(len(nodes)), layers)


def iter_train(graph: Graph, sampler: Sampler, steps: int, *, hidden: int = 64, dropout: float = 0.1,
               lr: float = 0.01, eval_every: int = 10, seed: int = 0, model: GCN | None = None,
               variance_at: tuple = (), draws: int = 30, variance_window: int = 1,
               exact_step_every: int = 0) -> Iterator[dict]:
    """Adam on the sampler's mini-batch losses for ``steps`` steps; every ``eval_every`` steps (and at the end) a
    record ``{"step", "seconds", "loss", "val_f1", "test_f1", "train_loss", "val_loss"}`` (``loss``: the step's
    mini-batch estimate; ``train_loss``, ``val_loss``: :func:`evaluate`'s; ``seconds``: training time so far,
    evaluations excluded). At the steps in ``variance_at`` the record also has ``"variance"``: the gradient variance
    over ``draws`` batches drawn in the ``variance_window`` steps up to it (:func:`window_draws`; 1: all at that step,
    :func:`gradient_variance`), each after its step's update; not counted in ``seconds``, and the training run is
    the same with or without it. The model is ``model`` or a new :class:`GCN` (``hidden``, ``dropout``,
    ``seed``). ``exact_step_every=K > 0``: before mini-batches 1, K + 1, 2K + 1, … (after the sampler's refresh)
    an extra Adam step on the exact full-batch loss (dropout on; counted in ``seconds``, not in ``step``): MVS-GNN's
    Alg. 1 as the preprint writes it applies its checkpoint pass's gradient so, the authors' ``mvs_gcn_plus`` does
    not (0: never)."""
    steps = check_int("steps", steps, 1)
    eval_every = check_int("eval_every", eval_every, 1)
    variance_at = {check_int("variance_at", v, 1) for v in variance_at}
    draws = check_int("draws", draws, 2)
    variance_window = check_int("variance_window", variance_window, 1)
    lr = check_real("lr", lr)
    exact_step_every = check_int("exact_step_every", exact_step_every, 0)
    model = model or GCN(graph.X.shape[1], graph.num_classes, hidden, sampler.layers, dropout, seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    eval_batch = evaluation_batch(graph, model.num_layers)
    everyone = full_batch(graph, model.num_layers) if exact_step_every else None
    spent, loss = 0.0, float("nan")
    plan = {v: window_draws(v, variance_window, draws) for v in variance_at}  # checkpoint -> {step: draws}
    measured = {v: {k: [] for k in PARTS} for v in variance_at}
    generators = {v: torch.Generator().manual_seed(seed + v) for v in variance_at}
    model.train()
    for step in range(1, steps + 1):
        t0 = time.perf_counter()
        sampler.refresh(model, graph.X)
        if exact_step_every and (step - 1) % exact_step_every == 0:  # after MVS's exact pass, as in Alg. 1
            opt.zero_grad()
            batch_loss(model, graph.X, graph.y, everyone)[0].backward()
            opt.step()
        batch = sampler.sample(gen)
        if len(batch.nodes):  # a Bernoulli batch can be empty: nothing to learn from this draw
            opt.zero_grad()
            total, hidden_rows, logits, a = batch_loss(model, graph.X, graph.y, batch, sampler.history)
            total.backward()
            opt.step()
            sampler.update(batch, hidden_rows, node_gradient_norms(logits, a, graph.y[batch.nodes]))
            loss = float(total.detach())
        spent += time.perf_counter() - t0
        for v, counts in plan.items():
            if counts.get(step):
                for key, values in _variance_draws(model, graph, sampler, counts[step], generators[v]).items():
                    measured[v][key].extend(values)
        if step % eval_every == 0 or step == steps or step in variance_at:
            record = {"step": step, "seconds": spent, "loss": loss, **evaluate(model, graph, eval_batch)}
            if step in variance_at:
                record["variance"] = _summary(measured.pop(step))
            yield record


def _flat_grad(model: GCN, total: torch.Tensor) -> torch.Tensor:
    grads = torch.autograd.grad(total, list(model.parameters()), allow_unused=True)
    return torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1)
                      for g, p in zip(grads, model.parameters())])


def full_gradient(model: GCN, graph: Graph) -> torch.Tensor:
    """``∇f``: the gradient of the mean loss over every training node, computed exactly, flattened."""
    return _flat_grad(model, batch_loss(model, graph.X, graph.y, full_batch(graph, model.num_layers))[0])


def window_draws(step: int, window: int, draws: int) -> dict[int, int]:
    """``{step: draws}`` for a measurement at ``step`` over the ``window`` steps up to it (the first step is 1):
    draw ``k`` of ``draws`` falls ``⌊k W / draws⌋`` steps into the window, so the draws are spread evenly over it
    (several per step when ``draws > W``, every few steps when fewer)."""
    step, window, draws = check_int("step", step, 1), check_int("window", window, 1), check_int("draws", draws, 1)
    window = min(window, step)
    first = step - window + 1
    return dict(Counter(first + (k * window) // draws for k in range(draws)))


def _variance_draws(model: GCN, graph: Graph, sampler: Sampler, draws: int, gen: torch.Generator) -> dict:
    """Squared distances of ``draws`` batches' gradients at the current weights and sampler state (no dropout):
    ``{"total", "stochastic", "embedding"}``, each a list of ``draws`` floats (see the module)."""
    model.eval()  # no dropout: the variance the sampler injects, nothing else
    try:
        reference = full_gradient(model, graph)
        out = {k: [] for k in PARTS}
        for _ in range(draws):
            batch = sampler.sample(gen)
            approx = _flat_grad(model, batch_loss(model, graph.X, graph.y, batch, sampler.history)[0])
            exact = exact_minibatch(graph, batch.nodes, batch.weights, model.num_layers)
            same_batch = _flat_grad(model, batch_loss(model, graph.X, graph.y, exact)[0])
            out["total"].append(float(((approx - reference) ** 2).sum()))
            out["stochastic"].append(float(((same_batch - reference) ** 2).sum()))
            out["embedding"].append(float(((approx - same_batch) ** 2).sum()))
    finally:
        model.train()
    return out


def _summary(values: dict) -> dict:
    out = {}
    for key, vals in values.items():
        v = torch.tensor(vals, dtype=torch.float64)
        out[key] = {"mean": float(v.mean()), "se": float(v.std() / math.sqrt(len(v)))}
    out["draws"] = len(values["total"])
    return out


def gradient_variance(model: GCN, graph: Graph, sampler: Sampler, draws: int = 30, seed: int = 0) -> dict:
    """``{"total", "stochastic", "embedding"}`` (each ``{"mean", "se"}``, squared gradient norms) and ``"draws"``
    for ``sampler`` at the model's weights and the sampler's current state (see the module); the model is left in
    training mode."""
    draws = check_int("draws", draws, 2)
    gen = torch.Generator().manual_seed(check_int("seed", seed, 0))
    return _summary(_variance_draws(model, graph, sampler, draws, gen))
