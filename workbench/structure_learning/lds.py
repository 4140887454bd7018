"""LDS: learning discrete graph structures for GNNs (Franceschi, Niepert, Pontil, He; ICML 2019).

``LDS(...).fit(X, y, train_idx, val_idx, graph=None)`` learns Bernoulli edge probabilities
``edge_probs_`` jointly with a 2-layer GCN by the bilevel program of :mod:`bilevel`:

1. ``theta`` starts from ``graph`` (LDS) or, without one, from the kNN graph of ``X`` (kNN-LDS; only
   its upper triangle survives the projection, as in the authors' code);
2. each outer iteration re-initialises the GCN and Adam, then trains it in chunks of ``tau`` steps
   on freshly sampled graphs; after each chunk, ``theta`` takes a projected SGD step along the
   truncated hypergradient of the validation loss (learning rate ``outer_lr / (1 + 1e-3 k)``); the
   inner loop stops after ``max_inner_steps`` or when the training loss stops falling by 0.1 %
   for ``inner_patience`` steps;
3. the validation labels are split in half: one half drives the hypergradient, the other (early
   stopping) scores the model averaged over ``n_samples`` graphs after each outer iteration; the
   best one is kept (accuracy, ties broken by loss), and training stops after ``patience`` outer iterations
   without a higher early-stopping accuracy (or, once it is 100 %, without a lower early-stopping loss).

Predictions average the GCN's softmax over ``n_samples`` sampled graphs.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from workbench.structure_learning.bilevel import AdamState, hyper_step
from workbench.structure_learning.gcn import gcn_forward, init_gcn, sparse_features
from workbench.structure_learning.sampler import EdgeSampler, project, projected_step_, symmetric
from workbench.structure_learning.taped_graph import TapedGraph
from workbench.structure_learning.validation import (
    check_features, check_graph_inputs, check_int, check_k, check_real,
)

__all__ = ["LDS", "knn_graph", "mean_prediction"]


def knn_graph(X: np.ndarray, k: int, metric: str = "cosine") -> torch.Tensor:
    """Directed kNN graph of the rows of ``X`` as a dense 0/1 ``(N, N)`` tensor (scikit-learn): row ``i`` has
    exactly ``k`` ones, at ``i``'s nearest other rows (``1 <= k < N``), and a zero diagonal."""
    from sklearn.neighbors import kneighbors_graph

    X = check_features(X).numpy()
    k = check_k(k, len(X))
    return torch.as_tensor(kneighbors_graph(X, k, metric=metric, include_self=False).toarray(), dtype=torch.float32)


@torch.no_grad()
def mean_prediction(weights, x, theta, n_samples: int, generator=None) -> torch.Tensor:
    """Softmax of the GCN averaged over ``n_samples`` graphs drawn from ``theta``: ``(N, C)``."""
    n_samples = check_int("n_samples", n_samples)
    probs, sampler = 0, EdgeSampler(theta)
    for _ in range(n_samples):
        graph = TapedGraph(sampler.sample(generator))
        probs = probs + F.softmax(gcn_forward(weights, x, graph), dim=-1)
    return probs / n_samples


class LDS:
    """Learner with a scikit-learn-like API; learned attributes end in ``_``.

    Args:
        k, metric: kNN graph used when ``fit`` gets no ``graph`` (kNN-LDS).
        tau: inner steps per hypergradient (truncation length).
        inner_lr: Adam learning rate of the GCN.
        outer_lr: initial SGD learning rate of the edge probabilities.
        hidden, dropout, weight_decay: the GCN (16 units, 0.5, 5e-4 on the first layer in the paper).
        max_inner_steps, inner_patience: inner loop budget and stopping rule.
        max_outer, patience: outer iterations and early-stopping patience.
        n_samples: graphs averaged for early stopping and prediction.
        seed: seeds the weights, the graph samples and the validation split.

    The counts (``k``, ``tau``, ``hidden``, ``max_inner_steps``, ``inner_patience``, ``max_outer``, ``patience``,
    ``n_samples``) must be integers >= 1, ``seed`` >= 0; the learning rates finite and positive, ``weight_decay``
    finite and >= 0, ``dropout`` in [0, 1). Anything else raises ``TypeError`` / ``ValueError`` naming it.
    """

    def __init__(self, k: int = 10, metric: str = "cosine", tau: int = 5, inner_lr: float = 0.01,
                 outer_lr: float = 1.0, hidden: int = 16, dropout: float = 0.5, weight_decay: float = 5e-4,
                 max_inner_steps: int = 400, inner_patience: int = 20, max_outer: int = 100, patience: int = 20,
                 n_samples: int = 16, seed: int = 0):
        counts = dict(k=k, tau=tau, hidden=hidden, max_inner_steps=max_inner_steps, inner_patience=inner_patience,
                      max_outer=max_outer, patience=patience, n_samples=n_samples)
        for name, value in counts.items():
            setattr(self, name, check_int(name, value))
        self.seed = check_int("seed", seed, minimum=0)
        self.inner_lr, self.outer_lr = check_real("inner_lr", inner_lr), check_real("outer_lr", outer_lr)
        self.weight_decay = check_real("weight_decay", weight_decay, low_open=False)
        self.dropout = check_real("dropout", dropout, 0.0, 1.0, low_open=False, high_open=True)
        if not isinstance(metric, str):
            raise TypeError(f"metric: expected a scikit-learn metric name, got {type(metric).__name__} {metric!r}")
        self.metric = metric

    def fit(self, X, y, train_idx, val_idx, graph=None, *, progress: Callable | None = None,
            on_outer: Callable[[dict], None] | None = None, should_stop: Callable[[], bool] | None = None) -> "LDS":
        """Learn the graph and the GCN.

        Args:
            X: ``(N, d)`` finite features; y: ``(N,)`` integer labels (-1 where unknown); train_idx, val_idx:
                node indices (at least 2 validation nodes).
            graph: ``(N, N)`` starting graph of finite weights >= 0 (LDS); ``None`` starts from the kNN graph
                (kNN-LDS).
            on_outer: receives a record per outer iteration (``outer``, ``es_accuracy``, ``es_loss``,
                ``val_loss``, ``inner_steps``, ``expected_edges``) plus the current ``theta``.
            should_stop: polled after every hypergradient step; ``True`` ends training (the best model so
                far is kept).
        """
        X, y, train_idx, val_idx, graph = check_graph_inputs(X, y, train_idx, val_idx, graph,
                                                             k=None if graph is not None else self.k)
        if len(val_idx) < 2:
            raise ValueError(f"val_idx: expected at least 2 nodes (halved into hypergradient and early-stopping "
                             f"nodes), got {len(val_idx)}")
        gen = torch.Generator().manual_seed(self.seed)
        n_classes = int(y[train_idx].max()) + 1
        n_classes = max(n_classes, int(y[val_idx].max()) + 1)
        perm = val_idx[torch.randperm(len(val_idx), generator=gen)]
        half = len(perm) // 2
        self.val_outer_idx_, self.es_idx_ = perm[:half], perm[half:]
        start = graph if graph is not None else knn_graph(X.numpy(), self.k, self.metric)
        self.initial_graph_ = ((start + start.T) > 0).float()  # the undirected starting graph, for comparison
        theta = project(start.float())
        x = sparse_features(X.float())
        best, stale, hyper_k = (-1.0, -float("inf")), 0, 0
        self.history_ = []
        outer = range(self.max_outer)
        if progress is not None:
            outer = progress(outer, total=self.max_outer, desc="outer iterations")
        for it in outer:
            weights = init_gcn(X.shape[1], n_classes, self.hidden, generator=gen)
            state = AdamState.zeros_like(weights)
            steps, best_loss, inner_stale = 0, float("inf"), 0
            stopped = False
            while steps < self.max_inner_steps and inner_stale < self.inner_patience:
                step = hyper_step(theta, weights, state, x, y, train_idx, self.val_outer_idx_, tau=self.tau,
                                  lr=self.inner_lr, weight_decay=self.weight_decay, dropout=self.dropout,
                                  generator=gen)
                weights, state = step.weights, step.state
                eta = self.outer_lr / (1 + 1e-3 * hyper_k)
                # a sum is finite iff every entry is (or the entries are ~1e38: a diverged step all the same)
                if not (np.isfinite(step.val_loss) and np.isfinite(float(step.hypergradient.sum()))):
                    raise ValueError(
                        f"inner_lr, weight_decay: expected settings under which the GCN trains, got inner_lr="
                        f"{self.inner_lr}, weight_decay={self.weight_decay}: a non-finite validation loss or "
                        f"hypergradient at outer iteration {it} (lower them, or scale X)")
                projected_step_(theta, step.hypergradient, eta)  # theta and the step are strictly upper
                hyper_k += 1
                steps += self.tau
                for loss in step.train_losses:
                    if loss < best_loss * (1 - 1e-3):
                        best_loss, inner_stale = loss, 0
                    else:
                        inner_stale += 1
                if should_stop is not None and should_stop():
                    stopped = True
                    break
            probs = mean_prediction(weights, x, theta, self.n_samples, gen)
            es_acc = float((probs[self.es_idx_].argmax(-1) == y[self.es_idx_]).float().mean())
            es_loss = float(F.nll_loss(probs[self.es_idx_].clamp_min(1e-12).log(), y[self.es_idx_]))
            record = {"outer": it, "es_accuracy": es_acc, "es_loss": es_loss, "val_loss": step.val_loss,
                      "inner_steps": steps, "expected_edges": float(theta.sum())}
            self.history_.append(record)
            if on_outer is not None:
                on_outer({**record, "theta": theta.clone()})
            # patience counts outer iterations without a higher early-stopping accuracy (as in the LDS code);
            # once that accuracy is 100 % (common with Wine's and Cancer's 10 early-stopping nodes) it cannot
            # rise, and a lower early-stopping loss counts as progress instead. The kept model is the best by
            # accuracy, ties broken by the loss.
            saturated = es_acc == best[0] == 1.0
            stale = 0 if es_acc > best[0] or (saturated and -es_loss > best[1]) else stale + 1
            if (es_acc, -es_loss) > best:
                best = (es_acc, -es_loss)
                self.weights_, self.theta_ = [w.clone() for w in weights], theta.clone()
            if stale >= self.patience or stopped:
                break
        self.es_accuracy_, self.best_score_ = best[0], best
        self.edge_probs_ = symmetric(self.theta_)
        self.x_, self.n_classes_ = x, n_classes
        self._gen = gen
        return self

    def predict_proba(self) -> torch.Tensor:
        """Class probabilities of every node, averaged over ``n_samples`` graphs: ``(N, C)``."""
        if not hasattr(self, "theta_"):
            raise RuntimeError("LDS: call fit(...) before predict")
        gen = torch.Generator().manual_seed(self.seed + 1)
        return mean_prediction(self.weights_, self.x_, self.theta_, self.n_samples, gen)

    def predict(self) -> torch.Tensor:
        """Predicted class of every node (transductive): ``(N,)``."""
        return self.predict_proba().argmax(-1)
