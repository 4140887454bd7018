"""Training a GCN with a sampler, and the gradient-variance measurement (the paper's Definition 3.1).

:func:`iter_train` yields a record per evaluation (step, seconds of training, loss, validation and test F1-micro);
the loss of a step is ``Σ_i w_i CE(z_i, y_i)`` over the batch (an estimate of the mean over the training nodes).

:func:`gradient_variance` measures, at the current weights and without dropout, the mean squared distance of the
sampler's mini-batch gradient ``g̃`` to the full-batch gradient ``∇f``, and its two components as the paper
defines them, each estimated by holding the other fixed: the *stochastic* part ``E‖g − ∇f‖²`` with ``g`` the same
batch's gradient computed exactly (its nodes' full ``L``-hop neighbourhoods, fresh embeddings), and the
*embedding* part ``E‖g̃ − g‖²`` (the same batch: only the approximation of the embeddings differs). Each is a mean
over ``draws`` batches with its standard error.
"""

from __future__ import annotations

import math
import time
from typing import Iterator

import torch
from torch import nn

from workbench.checks import check_int, check_real
from workbench.gnn_sampling.blocks import MiniBatch, exact_minibatch
from workbench.gnn_sampling.graph import Graph
from workbench.gnn_sampling.model import GCN, node_gradient_norms
from workbench.gnn_sampling.samplers import Sampler

__all__ = ["batch_loss", "f1_micro", "evaluate", "iter_train", "gradient_variance", "full_gradient"]


def batch_loss(model: GCN, X: torch.Tensor, y: torch.Tensor, batch: MiniBatch, history=None):
    """``(Σ_i w_i CE_i, hidden pre-activations, logits, a)`` of a mini-batch (``a``: the last layer's aggregated
    input, see :func:`~workbench.gnn_sampling.model.node_gradient_norms`)."""
    logits, hidden, a = model(X, batch, history)
    losses = nn.functional.cross_entropy(logits, y[batch.nodes], reduction="none")
    return (batch.weights * losses).sum(), hidden, logits, a


def f1_micro(pred: torch.Tensor, y: torch.Tensor) -> float:
    """F1-micro of a single-label prediction: the accuracy."""
    return float((pred == y).float().mean()) if len(y) else float("nan")


def evaluate(model: GCN, graph: Graph, full_nodes: MiniBatch | None = None) -> dict:
    """Validation and test F1-micro with exact computation (no dropout)."""
    nodes = torch.cat([graph.val_idx, graph.test_idx])
    batch = full_nodes or exact_minibatch(graph, nodes, torch.ones(len(nodes)), model.num_layers)
    was = model.training
    model.eval()
    with torch.no_grad():
        pred = model(graph.X, batch)[0].argmax(1)
    model.train(was)
    nv = len(graph.val_idx)
    return {"val_f1": f1_micro(pred[:nv], graph.y[graph.val_idx]),
            "test_f1": f1_micro(pred[nv:], graph.y[graph.test_idx])}


def iter_train(graph: Graph, sampler: Sampler, steps: int, *, hidden: int = 64, dropout: float = 0.1,
               lr: float = 0.01, eval_every: int = 10, seed: int = 0, model: GCN | None = None,
               variance_at: tuple = (), draws: int = 30) -> Iterator[dict]:
    """Adam on the sampler's mini-batch losses for ``steps`` steps; every ``eval_every`` steps (and at the end) a
    record ``{"step", "seconds", "loss", "val_f1", "test_f1"}`` (``seconds``: training time so far, evaluations
    excluded). At the steps in ``variance_at`` the record also has ``"variance"``: :func:`gradient_variance` over
    ``draws`` batches (not counted in ``seconds``). The model is ``model`` or a new :class:`GCN` (``hidden``,
    ``dropout``, ``seed``)."""
    steps = check_int("steps", steps, 1)
    eval_every = check_int("eval_every", eval_every, 1)
    variance_at = {check_int("variance_at", v, 1) for v in variance_at}
    lr = check_real("lr", lr)
    model = model or GCN(graph.X.shape[1], graph.num_classes, hidden, sampler.layers, dropout, seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    nodes = torch.cat([graph.val_idx, graph.test_idx])
    eval_batch = exact_minibatch(graph, nodes, torch.ones(len(nodes)), model.num_layers)
    spent, loss = 0.0, float("nan")
    model.train()
    for step in range(1, steps + 1):
        t0 = time.perf_counter()
        sampler.refresh(model, graph.X)
        batch = sampler.sample(gen)
        if len(batch.nodes):  # a Bernoulli batch can be empty: nothing to learn from this draw
            opt.zero_grad()
            total, hidden_rows, logits, a = batch_loss(model, graph.X, graph.y, batch, sampler.history)
            total.backward()
            opt.step()
            sampler.update(batch, hidden_rows, node_gradient_norms(logits, a, graph.y[batch.nodes]))
            loss = float(total.detach())
        spent += time.perf_counter() - t0
        if step % eval_every == 0 or step == steps or step in variance_at:
            record = {"step": step, "seconds": spent, "loss": loss, **evaluate(model, graph, eval_batch)}
            if step in variance_at:
                record["variance"] = gradient_variance(model, graph, sampler, draws=draws, seed=seed + step)
            yield record


def _flat_grad(model: GCN, total: torch.Tensor) -> torch.Tensor:
    grads = torch.autograd.grad(total, list(model.parameters()), allow_unused=True)
    return torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1)
                      for g, p in zip(grads, model.parameters())])


def full_gradient(model: GCN, graph: Graph) -> torch.Tensor:
    """``∇f``: the gradient of the mean loss over every training node, computed exactly, flattened."""
    n = len(graph.train_idx)
    batch = exact_minibatch(graph, graph.train_idx, torch.full((n,), 1.0 / n), model.num_layers)
    return _flat_grad(model, batch_loss(model, graph.X, graph.y, batch)[0])


def gradient_variance(model: GCN, graph: Graph, sampler: Sampler, draws: int = 30, seed: int = 0) -> dict:
    """``{"total", "stochastic", "embedding"}`` (each ``{"mean", "se"}``, squared gradient norms) and ``"draws"``
    for ``sampler`` at the model's weights (see the module); the model is left in training mode."""
    draws = check_int("draws", draws, 2)
    gen = torch.Generator().manual_seed(check_int("seed", seed, 0))
    model.eval()  # no dropout: the variance the sampler injects, nothing else
    try:
        reference = full_gradient(model, graph)
        sums = {"total": [], "stochastic": [], "embedding": []}
        for _ in range(draws):
            batch = sampler.sample(gen)
            approx = _flat_grad(model, batch_loss(model, graph.X, graph.y, batch, sampler.history)[0])
            exact = exact_minibatch(graph, batch.nodes, batch.weights, model.num_layers)
            same_batch = _flat_grad(model, batch_loss(model, graph.X, graph.y, exact)[0])
            sums["total"].append(float(((approx - reference) ** 2).sum()))
            sums["stochastic"].append(float(((same_batch - reference) ** 2).sum()))
            sums["embedding"].append(float(((approx - same_batch) ** 2).sum()))
    finally:
        model.train()
    out = {}
    for key, values in sums.items():
        v = torch.tensor(values, dtype=torch.float64)
        out[key] = {"mean": float(v.mean()), "se": float(v.std() / math.sqrt(len(v)))}
    out["draws"] = draws
    return out
