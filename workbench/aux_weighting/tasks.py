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
* ``degree``: regression of ``log(1 + d_i)``, standardised over the graph (so its loss starts near 1 like the
  others': unstandardised, its gradient on the encoder was 18 times the target's on Cora), from the embedding;
  squared error per node ``(nodes,)``;
* ``random_labels``: the target's own classifier trained against labels drawn once at random for ``nodes`` nodes:
  label noise, a deliberately harmful task (with a head of its own the encoder had room for both, and Cora's
  accuracy did not move).

Shapes: ``X (N, d)``; embeddings ``(N, hidden)``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

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
    X_sparse: torch.Tensor = field(init=False, repr=False)  # X as a CSR matrix: what the encoder multiplies

    def __post_init__(self):
        self.X_sparse = _csr(self.X)

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


def prepare(data: GraphDataset, seed: int = 0, labels_per_class: int | None = None) -> TaskGraph:
    """A :class:`TaskGraph` from a :class:`~workbench.graphs.GraphDataset` with a graph (``random_y`` drawn with
    ``seed``). ``labels_per_class``: keep that many of each class's training nodes, drawn with ``seed`` (the
    few-label setting; None keeps the split's, 20 per class on Planetoid); validation and test nodes unchanged."""
    if not isinstance(data, GraphDataset):
        raise TypeError(f"data: expected a GraphDataset, got {type(data).__name__}")
    if data.graph is None:
        raise ValueError("data: expected a data set with a graph, got one without (graph=None)")
    both = edge_index(data.graph)
    a = torch.sparse_coo_tensor(both, torch.ones(both.shape[1]), data.graph.shape, check_invariants=False)
    a_hat = _csr(normalize_adjacency(a))
    y = torch.as_tensor(data.y, dtype=torch.int64)
    gen = torch.Generator().manual_seed(check_int("seed", seed, 0))
    classes = int(y.max()) + 1
    X = torch.as_tensor(data.X, dtype=torch.float32)
    X_std = (X - X.mean(0)) / X.std(0).clamp(min=1e-6)
    random_y = torch.randint(classes, (len(y),), generator=gen)
    train = torch.as_tensor(data.train_idx)
    if labels_per_class is not None:
        k = check_int("labels_per_class", labels_per_class, 1)
        fewest = int(torch.bincount(y[train], minlength=classes).min())
        if k > fewest:
            raise ValueError(f"labels_per_class: expected at most {fewest} (the fewest training nodes of a class in "
                             f"{data.name}), got {k}")
        members = [train[y[train] == c] for c in range(classes)]
        train = torch.cat([m[torch.randperm(len(m), generator=gen)[:k]] for m in members]).sort().values
    return TaskGraph(data.name, X, X_std, a_hat,
                     both[:, both[0] < both[1]], torch.as_tensor(np.asarray(data.graph).sum(1), dtype=torch.float32),
                     y, train, torch.as_tensor(data.val_idx), torch.as_tensor(data.test_idx), random_y)


def _csr(matrix: torch.Tensor, values: torch.Tensor | None = None) -> torch.Tensor:
    """``matrix`` (dense or sparse) as a CSR tensor; ``values``: new stored values for a CSR ``matrix``."""
    with warnings.catch_warnings():  # "Sparse CSR tensor support is in beta": nothing a caller can act on
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        if values is None:
            return matrix.to_sparse_csr()
        return torch.sparse_csr_tensor(matrix.crow_indices(), matrix.col_indices(), values, matrix.shape,
                                       check_invariants=False)


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
                 "degree": nn.Linear(hidden, 1)}  # random labels: the target's classifier
        self.heads = nn.ModuleDict({t: heads[t] for t in self.tasks if t in heads})
        self.dropout = float(dropout)

    def shared_parameters(self) -> list[str]:
        """Names of the shared parameters (encoder and target classifier), on which gradient cosines are taken."""
        return [n for n, _ in self.named_parameters() if not n.startswith("heads.")]

    def embed(self, graph: TaskGraph, masked: torch.Tensor | None = None) -> torch.Tensor:
        """``(N, hidden)``: ``H^ℓ = ReLU(Â (H^{ℓ-1} W_ℓ + b_ℓ))``, dropout on each layer's input; ``H⁰ = X`` with the
        rows of ``masked`` zeroed. ``X`` is multiplied as the sparse matrix it is (bag-of-words rows: 1 % of Cora's
        entries are non-zero), so dropout on it drops stored entries (as Kipf and Welling's sparse dropout)."""
        first = self.encoder[0]
        x = graph.X_sparse
        if self.training and self.dropout > 0:
            keep = (torch.rand(x.values().shape) >= self.dropout).to(x.values().dtype) / (1 - self.dropout)
            x = _csr(x, x.values() * keep)
        xw = x @ first.weight.T
        if masked is not None:  # a zeroed row of X gives a zero row of X W
            xw = xw.index_fill(0, masked, 0.0)
        h = torch.relu(graph.a_hat @ (xw + first.bias))
        for linear in self.encoder[1:]:
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
        logits = self.classifier(nn.functional.dropout(z, self.dropout, self.training))
        out = {"target": nn.functional.cross_entropy(logits[d.target], graph.y[d.target], reduction="none")}
        if "link" in self.heads:
            score = lambda p: (self.heads["link"](z[p[0]]) * z[p[1]]).sum(1)  # noqa: E731
            s = torch.cat([score(d.positives), score(d.negatives)])
            labels = torch.cat([torch.ones(d.positives.shape[1]), torch.zeros(d.negatives.shape[1])]).to(s.dtype)
            out["link"] = nn.functional.binary_cross_entropy_with_logits(s, labels, reduction="none")
        if "attribute" in self.heads:
            rebuilt = self.heads["attribute"](self.embed(graph, d.masked)[d.masked])
            out["attribute"] = (rebuilt - graph.X_std[d.masked]).pow(2).mean(1)
        if "degree" in self.heads:
            log_degree = torch.log1p(graph.degree)
            wanted = (log_degree[d.nodes] - log_degree.mean()) / log_degree.std().clamp(min=1e-6)
            out["degree"] = (self.heads["degree"](z[d.nodes])[:, 0] - wanted).pow(2)
        if "random_labels" in self.tasks:
            out["random_labels"] = nn.functional.cross_entropy(logits[d.nodes], graph.random_y[d.nodes],
                                                               reduction="none")
        return out
