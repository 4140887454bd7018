"""Input checks shared by the graph learners: clear errors naming the argument."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["check_graph_inputs"]


def _index(name: str, idx, n: int) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(idx), dtype=torch.long).flatten()
    if t.numel() == 0:
        raise ValueError(f"{name}: expected at least one node index, got none")
    if int(t.min()) < 0 or int(t.max()) >= n:
        raise ValueError(f"{name}: expected indices in [0, {n - 1}], got range [{int(t.min())}, {int(t.max())}]")
    return t


def check_graph_inputs(X, y, train_idx, val_idx, graph=None, *, k: int | None = None):
    """Validate and convert ``(X, y, train_idx, val_idx, graph)``; returns tensors.

    ``y`` may mark unlabelled nodes with -1 (or NaN); every train and validation node must be labelled.
    """
    X = torch.as_tensor(np.asarray(X, dtype=np.float64))
    if X.dim() != 2:
        raise ValueError(f"X: expected a 2-D (nodes, features) array, got shape {tuple(X.shape)}")
    n = X.shape[0]
    if torch.isnan(X).any() or torch.isinf(X).any():
        bad = int((~torch.isfinite(X)).any(1).nonzero()[0, 0])
        raise ValueError(f"X: contains NaN/Inf (first at node {bad}); impute or drop those features")
    y_arr = np.asarray(y, dtype=np.float64).flatten()
    if y_arr.shape[0] != n:
        raise ValueError(f"y: expected {n} labels (one per node of X), got {y_arr.shape[0]}")
    train = _index("train_idx", train_idx, n)
    val = _index("val_idx", val_idx, n)
    for name, idx in (("train_idx", train), ("val_idx", val)):
        lab = y_arr[idx.numpy()]
        missing = np.isnan(lab) | (lab < 0)
        if missing.any():
            raise ValueError(f"y: labels missing for {int(missing.sum())} node(s) of {name} (e.g. node "
                             f"{int(idx[np.argmax(missing)])}); every {name} node needs a label >= 0")
    y_t = torch.as_tensor(np.nan_to_num(y_arr, nan=-1.0), dtype=torch.long)
    if k is not None and not 1 <= k < n:
        raise ValueError(f"k: expected 1 <= k < number of nodes ({n}), got k={k}")
    if graph is not None:
        if hasattr(graph, "toarray"):
            graph = graph.toarray()
        graph = torch.as_tensor(np.asarray(graph, dtype=np.float32))
        if graph.shape != (n, n):
            raise ValueError(f"graph: expected an adjacency of shape ({n}, {n}), got {tuple(graph.shape)}")
    return X, y_t, train, val, graph
