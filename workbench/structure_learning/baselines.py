"""Baselines of LDS's Table 1 run in the same splits: logistic regression, and a GCN on a fixed graph
(the kNN graph: kNN-GCN; the given graph: GCN), trained with Adam and early stopping on validation."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from workbench.structure_learning.bilevel import inner_loss
from workbench.structure_learning.gcn import gcn_forward, init_gcn, normalize_adjacency
from workbench.structure_learning.validation import check_graph_inputs

__all__ = ["logreg_accuracy", "FixedGraphGCN"]


def logreg_accuracy(X, y, train_idx, test_idx, seed: int = 0) -> float:
    """Test accuracy of scikit-learn's ``LogisticRegression`` trained on the training nodes."""
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(max_iter=2000, random_state=seed).fit(X[train_idx], y[train_idx])
    return float((clf.predict(X[test_idx]) == y[test_idx]).mean())


class FixedGraphGCN:
    """2-layer GCN on a fixed symmetric graph; early stopping on validation accuracy (then loss).

    Args mirror :class:`~workbench.structure_learning.lds.LDS`'s GCN: hidden 16, dropout 0.5,
    weight decay 5e-4 on the first layer, Adam ``lr``; at most ``max_steps`` steps, ``patience`` steps.
    """

    def __init__(self, hidden: int = 16, dropout: float = 0.5, weight_decay: float = 5e-4, lr: float = 0.01,
                 max_steps: int = 1000, patience: int = 100, seed: int = 0):
        self.hidden, self.dropout, self.weight_decay, self.lr = hidden, dropout, weight_decay, lr
        self.max_steps, self.patience, self.seed = max_steps, patience, seed

    def fit(self, X, y, train_idx, val_idx, graph) -> "FixedGraphGCN":
        X, y, train, val, graph = check_graph_inputs(X, y, train_idx, val_idx, graph)
        if graph is None:
            raise ValueError("graph: expected an (N, N) adjacency, got None")
        gen = torch.Generator().manual_seed(self.seed)
        sym = ((graph + graph.T) > 0).float()
        self.a_hat_ = normalize_adjacency(sym.to_sparse())
        self.x_ = X.float()
        n_classes = int(max(y[train].max(), y[val].max())) + 1
        weights = [w.requires_grad_(True) for w in init_gcn(X.shape[1], n_classes, self.hidden, generator=gen)]
        opt = torch.optim.Adam(weights, lr=self.lr)
        best = (-1.0, -float("inf"))
        stale = 0
        for _ in range(self.max_steps):
            opt.zero_grad()
            loss = inner_loss(weights, self.x_, self.a_hat_, y, train, weight_decay=self.weight_decay,
                              dropout=self.dropout, generator=gen)
            loss.backward()
            opt.step()
            with torch.no_grad():
                out = gcn_forward(weights, self.x_, self.a_hat_)
                acc = float((out[val].argmax(-1) == y[val]).float().mean())
                score = (acc, -float(F.cross_entropy(out[val], y[val])))
            if score > best:
                best, stale = score, 0
                self.weights_ = [w.detach().clone() for w in weights]
            else:
                stale += 1
                if stale >= self.patience:
                    break
        return self

    @torch.no_grad()
    def predict(self) -> torch.Tensor:
        return gcn_forward(self.weights_, self.x_, self.a_hat_).argmax(-1)


def accuracy(pred: torch.Tensor, y: np.ndarray, idx: np.ndarray) -> float:
    return float((pred.numpy()[idx] == y[idx]).mean())
