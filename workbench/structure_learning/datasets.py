"""Data for graph structure learning: scikit-learn tables with the LDS paper's splits, and the
Planetoid citation graphs (Cora, Citeseer) read from their ``ind.<name>.*`` files.

Splits of the tables (LDS code, ``random_state = seed``, stratified): ``n_per`` train, ``2 n_per``
validation (halved inside LDS into a hypergradient half and an early-stopping half), rest test.
``n_per`` = 10 for Wine and Breast Cancer, 50 for Digits. Wine and Cancer features are z-scored, as in
the LDS code. Digits' pixel counts (0..16) are divided by 16: the LDS code feeds the raw counts, and with
them our GCN's inner training is unstable on some splits (seed 1: the early-stopping accuracy falls below
50 % while the outer steps add thousands of edges); the common scale leaves the cosine kNN graph exactly as
it was, whereas z-scoring the pixels would change it (and costs 3 points of kNN-GCN accuracy).
"""

from __future__ import annotations

import pickle
import sys
from dataclasses import dataclass

import numpy as np

from workbench.structure_learning.validation import check_adjacency, check_int, check_real

__all__ = ["GraphDataset", "TABLES", "load_table", "load_planetoid", "remove_edges"]

TABLES = {"wine": 10, "cancer": 10, "digits": 50}


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


def load_table(name: str, seed: int = 0) -> GraphDataset:
    """``"wine"``, ``"cancer"`` or ``"digits"`` with the paper's split for ``seed``."""
    from sklearn import datasets
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import scale

    if name not in TABLES:
        raise ValueError(f"name: expected one of {sorted(TABLES)}, got {name!r}")
    loader = {"wine": datasets.load_wine, "cancer": datasets.load_breast_cancer, "digits": datasets.load_digits}[name]
    X, y = loader(return_X_y=True)
    X = X.astype(np.float64)
    X = X / 16.0 if name == "digits" else scale(X)
    idx = np.arange(len(y))
    n = TABLES[name]
    train, rest = train_test_split(idx, train_size=n, stratify=y, random_state=seed)
    val, test = train_test_split(rest, train_size=2 * n, stratify=y[rest], random_state=seed)
    return GraphDataset(name, X, y, train, val, test)


def _load_pickle(path):
    with open(path, "rb") as f:
        return pickle.load(f, encoding="latin1") if sys.version_info > (3, 0) else pickle.load(f)


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


def remove_edges(graph: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """Drop each undirected edge independently with probability ``fraction`` (the paper's Fig. 2).

    ``graph`` is a square adjacency of finite weights >= 0 whose strict upper triangle lists the edges; the result
    is symmetric with a zero diagonal and keeps a subset of those edges with their weights.
    """
    fraction = check_real("fraction", fraction, 0.0, 1.0, low_open=False)
    seed = check_int("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)
    upper = np.triu(check_adjacency(graph), 1)
    keep = rng.random(upper.shape) >= fraction
    upper = upper * keep
    return upper + upper.T
