"""The graph a sampler draws from: neighbour lists in CSR form, node features, labels and a split.

Every sampler needs ``neighbours(i) = indices[indptr[i]:indptr[i + 1]]`` and the degrees, so the graph is held
as CSR (both directions of every undirected edge, no self-loops: the GCN adds its own, ``Â = D̃^-1/2 (A + I)
D̃^-1/2``). An isolated node is allowed: its row of ``Â`` is its self-loop alone, so the GCN sees its own features
only. Self-loops and repeated edges in the input are dropped (documented, not an error).

Shapes: ``indptr (N + 1,)``, ``indices (E,)`` (int64; ``E`` counts each undirected edge twice), ``X (N, d)``
float32, ``y (N,)`` int64, splits sorted int64 indices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from workbench.checks import check_int

__all__ = ["Graph", "from_edges", "from_planetoid", "check_graph", "check_batch_size"]


@dataclass
class Graph:
    """An undirected graph in CSR form with node data (see the module)."""

    name: str
    indptr: torch.Tensor
    indices: torch.Tensor
    X: torch.Tensor
    y: torch.Tensor
    train_idx: torch.Tensor
    val_idx: torch.Tensor
    test_idx: torch.Tensor

    @property
    def num_nodes(self) -> int:
        return len(self.indptr) - 1

    @property
    def num_edges(self) -> int:
        """Undirected edges (each stored twice)."""
        return len(self.indices) // 2

    @property
    def num_classes(self) -> int:
        return int(self.y.max()) + 1

    @property
    def degree(self) -> torch.Tensor:
        """``(N,)`` int64 neighbour counts (self-loop not counted)."""
        return self.indptr.diff()

    def neighbours(self, node: int) -> torch.Tensor:
        return self.indices[self.indptr[node]:self.indptr[node + 1]]

    def rows(self) -> torch.Tensor:
        """``(E,)`` the source node of each entry of :attr:`indices` (the COO rows of the CSR)."""
        return torch.repeat_interleave(torch.arange(self.num_nodes), self.degree)

    @property
    def nbytes(self) -> int:
        """Bytes held by the graph's tensors: its memory footprint."""
        return sum(t.element_size() * t.numel() for t in (self.indptr, self.indices, self.X, self.y, self.train_idx,
                                                            self.val_idx, self.test_idx))


def _split_index(name: str, idx, n: int) -> torch.Tensor:
    idx = torch.as_tensor(np.asarray(idx), dtype=torch.int64).reshape(-1)
    if len(idx) == 0:
        raise ValueError(f"{name}: expected at least one node, got none")
    if int(idx.min()) < 0 or int(idx.max()) >= n:
        raise ValueError(f"{name}: expected node indices in 0..{n - 1}, got {int(idx.min())}..{int(idx.max())}")
    return idx.unique()


def from_edges(name: str, src, dst, X, y, train_idx, val_idx, test_idx) -> Graph:
    """A :class:`Graph` from an edge list ``src[k] — dst[k]`` (either direction, repeats and self-loops dropped),
    features ``X (N, d)`` and labels ``y (N,)`` (``-1``: unlabelled, never in a split)."""
    X = torch.as_tensor(np.asarray(X), dtype=torch.float32)
    if X.dim() != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"X: expected a 2-D (nodes, features) array, got shape {tuple(X.shape)}")
    if not bool(torch.isfinite(X).all()):
        raise ValueError("X: expected finite features, got a NaN or an infinity")
    n = X.shape[0]
    y = torch.as_tensor(np.asarray(y), dtype=torch.int64).reshape(-1)
    if len(y) != n:
        raise ValueError(f"y: expected {n} labels (one per row of X), got {len(y)}")
    src = torch.as_tensor(np.asarray(src), dtype=torch.int64).reshape(-1)
    dst = torch.as_tensor(np.asarray(dst), dtype=torch.int64).reshape(-1)
    if len(src) != len(dst):
        raise ValueError(f"dst: expected as many entries as src ({len(src)}), got {len(dst)}")
    if len(src) and (int(torch.minimum(src, dst).min()) < 0 or int(torch.maximum(src, dst).max()) >= n):
        raise ValueError(f"src, dst: expected node indices in 0..{n - 1}")
    keep = src != dst
    lo, hi = torch.minimum(src, dst)[keep], torch.maximum(src, dst)[keep]
    key = (lo * n + hi).unique()  # each undirected edge once
    lo, hi = key // n, key % n
    rows, cols = torch.cat([lo, hi]), torch.cat([hi, lo])
    order = (rows * n + cols).argsort()
    rows, cols = rows[order], cols[order]
    indptr = torch.zeros(n + 1, dtype=torch.int64)
    indptr[1:] = torch.bincount(rows, minlength=n).cumsum(0)
    splits = [_split_index(nm, idx, n) for nm, idx in (("train_idx", train_idx), ("val_idx", val_idx),
                                                       ("test_idx", test_idx))]
    for nm, idx in zip(("train_idx", "val_idx", "test_idx"), splits):
        if bool((y[idx] < 0).any()):
            raise ValueError(f"{nm}: contains unlabelled nodes (label -1)")
    return Graph(name, indptr, cols.contiguous(), X, y, *splits)


def from_planetoid(name: str, split: str = "full") -> Graph:
    """Cora or Citeseer (:func:`workbench.graphs.load_planetoid`) as a :class:`Graph`.

    ``split="planetoid"``: the standard 140/120 training nodes, 500 validation, 1000 test. ``"full"`` (default):
    the MVS authors' small-batch study (their ``load_data_gcn``): every labelled node of ``allx`` but the last 500
    trains (Cora 1,208, Citeseer 1,812), those 500 validate, the same 1,000 test; mini-batches need more than
    140 candidates."""
    from workbench.graphs import edge_index, load_planetoid

    if split not in ("full", "planetoid"):
        raise ValueError(f"split: expected 'full' or 'planetoid', got {split!r}")
    d = load_planetoid(name)
    ei = edge_index(d.graph)
    if split == "full":
        first_test = int(np.min(d.test_idx))  # allx's rows come before the test rows
        labelled = np.arange(first_test)
        labelled = labelled[d.y[labelled] >= 0]
        train, val = labelled[:-500], labelled[-500:]
    else:
        train, val = d.train_idx, d.val_idx
    return from_edges(name, ei[0], ei[1], d.X, d.y, train, val, d.test_idx)


def check_graph(graph) -> Graph:
    """``graph`` itself when it is a :class:`Graph`; ``TypeError`` naming it otherwise."""
    if not isinstance(graph, Graph):
        raise TypeError(f"graph: expected a workbench.gnn_sampling.graph.Graph, got {type(graph).__name__}")
    return graph


def check_batch_size(batch_size, n: int, what: str = "training nodes", name: str = "batch_size") -> int:
    """A batch size in ``1..n`` (errors name it ``name``: a command names its option)."""
    batch_size = check_int(name, batch_size, 1)
    if batch_size > n:
        raise ValueError(f"{name}: expected at most the {n} {what}, got {batch_size}")
    return batch_size
