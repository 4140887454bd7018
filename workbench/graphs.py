"""Graphs shared by the graph topics (``structure_learning``, ``gnn_sampling``): the Planetoid citation graphs
and the GCN's normalised adjacency.

* :func:`load_planetoid`: Cora or Citeseer (``ind.<name>.*`` files from :func:`workbench.data.find`) with the
  standard split, as a :class:`GraphDataset` (dense ``(N, N)`` graph; :func:`edge_index` gives its edge list);
* :func:`normalize_adjacency`: ``Â = D̃^-1/2 (A + I) D̃^-1/2`` (Kipf & Welling), dense or sparse.

Shapes: ``X (N, d)``, ``y (N,)``, graph ``(N, N)``, edge index ``(2, E)`` (both directions of every edge).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["GraphDataset", "load_planetoid", "normalize_adjacency", "edge_index"]


@dataclass
class GraphDataset:
    """Nodes with features ``X (N, d)``, labels ``y (N,)``, split indices and an optional graph ``(N, N)``."""

    name: str
    X: np.ndarray
    y: np.ndarray
    train_idx: np.ndarray
    val_idx: np.ndarray
    test_idx: np.ndarray
    graph: np.ndarray | None = None


def _load_pickle(path):
    with open(path, "rb") as f:
        return pickle.load(f, encoding="latin1")  # the files are Python 2 pickles


def load_planetoid(name: str) -> GraphDataset:
    """Cora or Citeseer with the standard Planetoid split (140/120 train, 500 val, 1000 test).

    Features are row-normalised; Citeseer's isolated test nodes missing from ``tx`` get zero rows,
    as in Kipf's loader. Files come from :func:`workbench.data.find` ("planetoid").
    """
    import scipy.sparse as sp

    from workbench.data import find

    if name not in ("cora", "citeseer"):
        raise ValueError(f"name: expected 'cora' or 'citeseer', got {name!r}")
    folder = find("planetoid")
    objs = {k: _load_pickle(folder / f"ind.{name}.{k}") for k in ("x", "y", "tx", "ty", "allx", "ally", "graph")}
    test_index = np.loadtxt(folder / f"ind.{name}.test.index", dtype=np.int64)
    test_sorted = np.sort(test_index)
    tx, ty = objs["tx"], objs["ty"]
    if name == "citeseer":
        full = np.arange(test_sorted.min(), test_sorted.max() + 1)
        tx_ext = sp.lil_matrix((len(full), tx.shape[1]))
        tx_ext[test_sorted - test_sorted.min(), :] = tx
        ty_ext = np.zeros((len(full), ty.shape[1]))
        ty_ext[test_sorted - test_sorted.min(), :] = ty
        tx, ty = tx_ext, ty_ext
    features = sp.vstack((objs["allx"], tx)).tolil()
    features[test_index, :] = features[test_sorted, :]
    labels = np.vstack((objs["ally"], ty))
    labels[test_index, :] = labels[test_sorted, :]
    n = features.shape[0]
    graph = np.zeros((n, n), dtype=np.float32)
    for i, nbrs in objs["graph"].items():
        for j in nbrs:
            if i != j:
                graph[i, j] = graph[j, i] = 1.0
    X = np.asarray(features.todense(), dtype=np.float64)
    rowsum = X.sum(1, keepdims=True)
    X = X / np.where(rowsum == 0, 1, rowsum)
    y = np.where(labels.sum(1) > 0, labels.argmax(1), -1)  # Citeseer's missing test nodes: unlabelled
    n_train = objs["y"].shape[0]
    train = np.arange(n_train)
    val = np.arange(n_train, n_train + 500)
    test = test_sorted[y[test_sorted] >= 0]
    return GraphDataset(name, X, y, train, val, test, graph)


def normalize_adjacency(adj: torch.Tensor) -> torch.Tensor:
    """``D^-1/2 (A + I) D^-1/2`` for a dense or sparse ``(N, N)`` adjacency (differentiable when dense)."""
    n = adj.shape[0]
    if adj.is_sparse:
        adj = adj.coalesce()
        idx = torch.arange(n, device=adj.device)
        ones = torch.ones(n, dtype=adj.dtype, device=adj.device)
        eye = torch.sparse_coo_tensor(torch.stack([idx, idx]), ones, (n, n), check_invariants=False)
        a = (adj + eye).coalesce()
        deg = torch.sparse.sum(a, dim=1).to_dense()
        d = deg.pow(-0.5)
        i, j = a.indices()
        return torch.sparse_coo_tensor(a.indices(), d[i] * a.values() * d[j], (n, n), check_invariants=False).coalesce()
    a = adj + torch.eye(n, dtype=adj.dtype, device=adj.device)
    d = a.sum(1).pow(-0.5)
    return d[:, None] * a * d[None, :]


def edge_index(graph: np.ndarray) -> torch.Tensor:
    """The ``(2, E)`` int64 list of the non-zero entries of a square adjacency (both directions of an undirected
    edge), row-major: the sparse form of :attr:`GraphDataset.graph`."""
    graph = np.asarray(graph)
    if graph.ndim != 2 or graph.shape[0] != graph.shape[1]:
        raise ValueError(f"graph: expected a square (N, N) adjacency, got shape {graph.shape}")
    rows, cols = np.nonzero(graph)
    return torch.as_tensor(np.stack([rows, cols]), dtype=torch.int64)
