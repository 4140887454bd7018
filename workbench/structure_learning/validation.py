"""Input checks shared by the graph learners: clear errors naming the argument."""

from __future__ import annotations


import numpy as np
import torch

from workbench.checks import check_int, check_real

__all__ = ["check_graph_inputs", "check_int", "check_k", "check_real", "check_features", "check_adjacency"]


def check_k(k, n: int) -> int:
    """The neighbour count of a kNN graph on ``n`` nodes: an integer ``1 <= k < n``."""
    k = check_int("k", k)
    if k >= n:
        raise ValueError(f"k: expected 1 <= k < number of nodes ({n}), got k={k}")
    return k


def _floats(name: str, value) -> np.ndarray:
    """``value`` as a floating-point array (float32 and float64 kept, anything else as float64)."""
    try:
        a = np.asarray(value)
        return a if a.dtype in (np.float32, np.float64) else a.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected a numeric array, got {type(value).__name__} ({exc})") from None


def check_features(X) -> torch.Tensor:
    """``X`` as a float64 ``(N, d)`` tensor with ``N >= 1``, ``d >= 1`` and finite entries."""
    X = torch.as_tensor(_floats("X", X).astype(np.float64))
    if X.dim() != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"X: expected a 2-D (nodes, features) array with at least one of each, got shape "
                         f"{tuple(X.shape)}")
    if not torch.isfinite(X).all():
        bad = int((~torch.isfinite(X)).any(1).nonzero()[0, 0])
        raise ValueError(f"X: contains NaN/Inf (first at node {bad}); impute or drop those features")
    return X


def check_adjacency(graph, n: int | None = None) -> np.ndarray:
    """``graph`` (dense or scipy sparse) as a float ``(n, n)`` array of finite, non-negative edge weights."""
    if hasattr(graph, "toarray"):
        graph = graph.toarray()
    graph = _floats("graph", graph)
    if graph.ndim != 2 or graph.shape[0] != graph.shape[1] or (n is not None and graph.shape[0] != n):
        size = "(N, N)" if n is None else f"({n}, {n})"
        raise ValueError(f"graph: expected an adjacency of shape {size}, got {graph.shape}")
    bad = ~np.isfinite(graph) | (graph < 0)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(f"graph: expected finite edge weights >= 0, got {float(graph[i, j])!r} at ({i}, {j})")
    return graph


def _index(name: str, idx, n: int) -> torch.Tensor:
    a = np.asarray(idx).flatten()
    if a.size == 0:
        raise ValueError(f"{name}: expected at least one node index, got none")
    if a.dtype.kind not in "iuf" or (a.dtype.kind == "f" and not np.all(np.isfinite(a) & (a == np.round(a)))):
        hint = " (a boolean mask? pass np.flatnonzero(mask))" if a.dtype.kind == "b" else ""
        raise TypeError(f"{name}: expected integer node indices{hint}, got {a.dtype} values such as {a[0].item()!r}")
    t = torch.as_tensor(a.astype(np.int64))
    if int(t.min()) < 0 or int(t.max()) >= n:
        raise ValueError(f"{name}: expected indices in [0, {n - 1}], got range [{int(t.min())}, {int(t.max())}]")
    return t


def check_graph_inputs(X, y, train_idx, val_idx, graph=None, *, k: int | None = None):
    """Validate and convert ``(X, y, train_idx, val_idx, graph)``; returns tensors.

    ``y`` holds integer class labels ``0..C-1`` with ``C <= N`` and may mark unlabelled nodes with -1 (or NaN);
    every train and validation node must be labelled.
    """
    X = check_features(X)
    n = X.shape[0]
    y_arr = _floats("y", y).flatten()
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
    labelled = ~np.isnan(y_arr) & (y_arr >= 0)
    bad = labelled & ((y_arr != np.round(y_arr)) | (y_arr >= n))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"y: expected integer class labels in 0..{n - 1} (or -1 / NaN: unlabelled), got "
                         f"{float(y_arr[i])!r} at node {i}")
    y_t = torch.as_tensor(np.where(labelled, y_arr, -1.0), dtype=torch.long)
    if k is not None:
        check_k(k, n)
    if graph is not None:
        graph = torch.as_tensor(check_adjacency(graph, n), dtype=torch.float32)
    return X, y_t, train, val, graph
