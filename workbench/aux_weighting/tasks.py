"""The target task and the self-supervised auxiliary tasks, on one shared GCN encoder.

A :class:`TaskGraph` is a graph prepared once (features, the normalised adjacency ``Â`` as a sparse tensor, each
undirected edge once, degrees, labels, split). :class:`MultiTaskGNN` holds the shared part (the encoder and the
target's classifier: what the paper's gradient cosines are computed on) and one head per auxiliary task; its
``forward(draw)`` returns every task's **per-example** losses (what the weighting model weighs), for one
:class:`Draw` of the step's randomness (negative pairs, masked nodes), so that a look-ahead and its finite
differences see the same losses.

Tasks (``TASKS``):

* ``target``: cross-entropy of the node classifier on the labelled training nodes ``(n_train,)``;
* ``link``: link prediction with negative sampling: a bilinear score ``z_iᵀ W z_j`` of ``pairs`` real edges and as
  many uniformly drawn node pairs, binary cross-entropy per pair ``(2 pairs,)``;
* ``attribute``: masked feature reconstruction: the features of ``mask`` nodes are zeroed in a second encoder
  pass, a linear decoder predicts them, standardised per feature, from their embedding; mean squared error per
  masked node ``(mask,)`` (about 1 for a decoder that predicts the mean);
* ``degree``: regression of ``log(1 + d_i)`` from the embedding; squared error per node ``(nodes,)``;
* ``random_labels``: cross-entropy against labels drawn once at random: a deliberately harmful task.

Shapes: ``X (N, d)``; embeddings ``(N, hidden)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from workbench.checks import check_int
from workbench.graphs import GraphDataset, edge_index, normalize_adjacency

__all__ = ["TASKS", "AUXILIARY", "TaskGraph", "Draw", "prepare", "draw", "MultiTaskGNN", "check_tasks"]

AUXILIARY = ("link", "attribute", "degree", "random_labels")
TASKS = ("target",) + AUXILIARY


def check_tasks(tasks) -> tuple[str, ...]:
    """``tasks`` as a tuple of auxiliary task names; ``ValueError`` naming ``tasks`` for an empty list or a name
    not in :data:`AUXILIARY`."""
    if isinstance(tasks, str) or not isinstance(tasks, (tuple, list)):
        raise TypeError(f"tasks: expected a list of auxiliary task names, got {type(tasks).__name__}")
    unknown = [t for t in tasks if t not in AUXILIARY]
    if unknown or not tasks:
        raise ValueError(f"tasks: expected one or more of {list(AUXILIARY)}, got {list(tasks)}")
    if len(set(tasks)) != len(tasks):
        raise ValueError(f"tasks: expected each task once, got {list(tasks)}")
    return tuple(tasks)


@dataclass
class TaskGraph:
    """A graph ready for training: ``X (N, d)`` float32 and ``X_std`` (each feature standardised: what the
    attribute task reconstructs), ``a_hat`` sparse ``(N, N)``, ``edges (2, E)`` (each undirected edge once,
    ``i < j``), ``degree (N,)``, ``y (N,)`` (−1: unlabelled), the split, and ``random_y (N,)``."""

    name: str
    X: torch.Tensor
    X_std: torch.Tensor
    a_hat: torch.Tensor
    edges: torch.Tensor
    degree: torch.Tensor
    y: torch.Tensor
    train_idx: torch.Tensor
    val_idx: torch.Tensor
    test_idx: torch.Tensor
    random_y: torch.Tensor

    @property
    def num_nodes(self) -> int:
        return self.X.shape[0]

    def astype(self, dtype: torch.dtype) -> "TaskGraph":
        """The same graph with its floating-point tensors in ``dtype`` (float64 for finite differences)."""
        return TaskGraph(self.name, self.X.to(dtype), self.X_std.to(dtype), self.a_hat.to(dtype), self.edges,
                         self.degree.to(dtype), self.y, self.train_idx, self.val_idx, self.test_idx, self.random_y)

    @property
    def num_classes(self) -> int:
        return int(self.y.max()) + 1


def prepare(data: GraphDataset, seed: int = 0) -> TaskGraph:
    """A :class:`TaskGraph` from a :class:`~workbench.graphs.GraphDataset` with a graph (``random_y`` drawn with
    ``seed``)."""
    if not isinstance(data, GraphDataset):
        raise TypeError(f"data: expected a GraphDataset, got {type(data).__name__}")
    if data.graph is None:
        raise ValueError("data: expected a data set with a graph, got one without (graph=None)")
    both = edge_index(data.graph)
    a = torch.sparse_coo_tensor(both, torch.ones(both.shape[1]), data.graph.shape, check_invariants=False)
    a_hat = normalize_adjacency(a).to_sparse_csr()
    y = torch.as_tensor(data.y, dtype=torch.int64)
    gen = torch.Generator().manual_seed(check_int("seed", seed, 0))
    classes = int(y.max()) + 1
    X = torch.as_tensor(data.X, dtype=torch.float32)
    X_std = (X - X.mean(0)) / X.std(0).clamp(min=1e-6)
    return TaskGraph(data.name, X, X_std, a_hat,
                     both[:, both[0] < both[1]], torch.as_tensor(np.asarray(data.graph).sum(1), dtype=torch.float32),
                     y, torch.as_tensor(data.train_idx), torch.as_tensor(data.val_idx),
                     torch.as_tensor(data.test_idx), torch.randint(classes, (len(y),), generator=gen))


@dataclass
class Draw:
    """One step's randomness: link positives ``(2, p)`` and negatives ``(2, p)``, masked nodes ``(m,)``, degree
    nodes ``(k,)``, random-label nodes ``(k,)``, and the target nodes whose losses count (a fold of the training
    nodes)."""

    positives: torch.Tensor
    negatives: torch.Tensor
    masked: torch.Tensor
    nodes: torch.Tensor
    target: torch.Tensor


def draw(graph: TaskGraph, generator: torch.Generator, target: torch.Tensor | None = None, pairs: int = 256,
         mask: int = 256, nodes: int = 256) -> Draw:
    """A :class:`Draw` of ``pairs`` edges and as many random pairs, ``mask`` masked nodes and ``nodes`` nodes for
    the per-node tasks (each at most what the graph has); ``target``: the training nodes whose target losses count
    (default: all of them)."""
    pairs, mask, nodes = check_int("pairs", pairs, 1), check_int("mask", mask, 1), check_int("nodes", nodes, 1)
    n, e = graph.num_nodes, graph.edges.shape[1]
    pos = graph.edges[:, torch.randperm(e, generator=generator)[:min(pairs, e)]]
    neg = torch.randint(n, (2, pos.shape[1]), generator=generator)
    masked = torch.randperm(n, generator=generator)[:min(mask, n)]
    some = torch.randperm(n, generator=generator)[:min(nodes, n)]
    target = graph.train_idx if target is None else target
    if len(target) == 0:
        raise ValueError("target: expected at least one training node, got an empty fold")
    return Draw(pos, neg, masked, some, target)


class MultiTaskGNN(nn.Module):
    """A ``layers``-layer GCN encoder (width ``hidden``, ReLU, dropout), the target classifier, and a head per
    auxiliary task in ``tasks``. ``forward(graph, draw)`` -> ``{task: per-example losses}`` (see the module)."""

    def __init__(self, graph: TaskGraph, tasks=AUXILIARY, hidden: int = 64, layers: int = 2, dropout: float = 0.5,
                 seed: int = 0):
        super().__init__()
        self.tasks = check_tasks(tasks)
        hidden, layers = check_int("hidden", hidden, 1), check_int("layers", layers, 1)
        torch.manual_seed(check_int("seed", seed, 0))
        sizes = [graph.X.shape[1]] + [hidden] * layers
        self.encoder = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.classifier = nn.Linear(hidden, graph.num_classes)
        heads = {"link": nn.Linear(hidden, hidden, bias=False), "attribute": nn.Linear(hidden, graph.X.shape[1]),
                 "degree": nn.Linear(hidden, 1), "random_labels": nn.Linear(hidden, graph.num_classes)}
        self.heads = nn.ModuleDict({t: heads[t] for t in self.tasks})
        self.dropout = float(dropout)

    def shared_parameters(self) -> list[str]:
        """Names of the shared parameters (encoder and target classifier), on which gradient cosines are taken."""
        return [n for n, _ in self.named_parameters() if not n.startswith("heads.")]

    def embed(self, graph: TaskGraph, X: torch.Tensor | None = None) -> torch.Tensor:
        """``(N, hidden)``: ``H^ℓ = ReLU(Â H^{ℓ-1} W_ℓ + b_ℓ)``, dropout on each layer's input."""
        h = graph.X if X is None else X
        for linear in self.encoder:
            h = nn.functional.dropout(h, self.dropout, self.training)
            h = torch.relu(graph.a_hat @ linear(h))
        return h

    def logits(self, graph: TaskGraph) -> torch.Tensor:
        return self.classifier(nn.functional.dropout(self.embed(graph), self.dropout, self.training))

    def forward(self, graph: TaskGraph, d: Draw | None = None, method: str = "losses"):
        """``{task: per-example losses}`` for the draw ``d``; ``method="logits"``: the target's logits ``(N, C)``
        (so that ``torch.func.functional_call`` can evaluate either at other parameters)."""
        if method == "logits":
            return self.logits(graph)
        if method != "losses" or not isinstance(d, Draw):
            raise ValueError(f"method: expected 'losses' with a Draw or 'logits', got {method!r} with "
                             f"{type(d).__name__}")
        z = self.embed(graph)
        out = {"target": nn.functional.cross_entropy(
            self.classifier(nn.functional.dropout(z, self.dropout, self.training))[d.target], graph.y[d.target],
            reduction="none")}
        if "link" in self.heads:
            score = lambda p: (self.heads["link"](z[p[0]]) * z[p[1]]).sum(1)  # noqa: E731
            s = torch.cat([score(d.positives), score(d.negatives)])
            labels = torch.cat([torch.ones(d.positives.shape[1]), torch.zeros(d.negatives.shape[1])]).to(s.dtype)
            out["link"] = nn.functional.binary_cross_entropy_with_logits(s, labels, reduction="none")
        if "attribute" in self.heads:
            X = graph.X.clone()
            X[d.masked] = 0.0
            rebuilt = self.heads["attribute"](self.embed(graph, X)[d.masked])
            out["attribute"] = (rebuilt - graph.X_std[d.masked]).pow(2).mean(1)
        if "degree" in self.heads:
            out["degree"] = (self.heads["degree"](z[d.nodes])[:, 0] - torch.log1p(graph.degree[d.nodes])).pow(2)
        if "random_labels" in self.heads:
            out["random_labels"] = nn.functional.cross_entropy(self.heads["random_labels"](z[d.nodes]),
                                                               graph.random_y[d.nodes], reduction="none")
        return out
