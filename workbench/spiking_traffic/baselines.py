"""The SNN's competitors on the same flows.

* :class:`RateMLP`: the non-spiking twin of the same size on the same encoding: ``h_t = ReLU(x_t W + c)`` per time
  step with the same ``W`` shape, ``mean_t h_t`` into a linear readout (as many weights as the SNN, dense
  multiply-accumulates at every step);
* :class:`SequenceCNN`: a 1-D CNN on the raw packet sequence (channels: size / 1500, ``log10`` of the gap to the
  previous packet, ``log10`` of the time since the first), two convolutions and a global max-pool;
* :func:`fit_trees`: gradient-boosted trees (scikit-learn's ``HistGradientBoostingClassifier``) on the raw sequences
  (sizes, times since the first packet, inter-arrival gaps): the strong, cheap competitor.

Shapes: ``RateMLP``: ``(B, T, S)`` → ``(B, C)``; ``SequenceCNN``: ``(B, 3, P)`` → ``(B, C)``; trees: ``(N, 3P)``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from workbench.checks import check_int
from workbench.spiking_traffic.flows import Flows

__all__ = ["RateMLP", "SequenceCNN", "raw_sequence", "raw_features", "fit_trees", "tree_nodes",
           "tree_comparisons"]


class RateMLP(nn.Module):
    """``mean_t ReLU(x_t W + c) V + d``: ``n_inputs → hidden → n_classes``, shared over the time steps."""

    def __init__(self, n_inputs: int = 150, hidden: int = 100, n_classes: int = 5, seed: int = 0):
        super().__init__()
        check_int("hidden", hidden, 1)
        with torch.random.fork_rng():  # seeded weights without moving the caller's random state
            torch.manual_seed(seed)
            self.hidden_layer = nn.Linear(n_inputs, hidden)
            self.out = nn.Linear(hidden, n_classes)
        self.n_inputs, self.hidden, self.n_classes = n_inputs, hidden, n_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.hidden_layer(x)).mean(1))

    def macs_per_sample(self, steps: int) -> int:
        """Dense multiply-accumulates for one flow of ``steps`` time steps."""
        return steps * self.n_inputs * self.hidden + self.hidden * self.n_classes

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


class SequenceCNN(nn.Module):
    """Two 1-D convolutions (kernel 3, ``channels``) with ReLU, a global max-pool and a linear layer."""

    def __init__(self, n_classes: int = 5, channels: tuple[int, int] = (32, 64), seed: int = 0):
        super().__init__()
        c1, c2 = channels
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.conv = nn.Sequential(nn.Conv1d(3, c1, 3, padding=1), nn.ReLU(), nn.Conv1d(c1, c2, 3, padding=1),
                                      nn.ReLU())
            self.out = nn.Linear(c2, n_classes)
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.conv(x).amax(dim=2))

    def macs_per_sample(self, length: int) -> int:
        c1, c2 = self.channels
        return length * (3 * 3 * c1 + 3 * c1 * c2) + c2 * self.out.out_features

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def raw_sequence(flows: Flows) -> torch.Tensor:
    """``(N, 3, P)`` float32: size / 1500, ``log10(gap + 1e-6)``, ``log10(time since first + 1e-6)``; padding 0."""
    valid = np.arange(flows.sizes.shape[1]) < flows.lengths[:, None]
    seq = np.stack([flows.sizes / 1500.0, np.log10(flows.inter_arrival() + 1e-6),
                    np.log10(flows.relative_times() + 1e-6)], axis=1)
    return torch.from_numpy((seq * valid[:, None]).astype(np.float32))


def raw_features(flows: Flows) -> np.ndarray:
    """``(N, 3P)``: sizes, times since the first packet, inter-arrival gaps (NaN where a flow has no packet: the
    trees treat it as missing)."""
    valid = np.arange(flows.sizes.shape[1]) < flows.lengths[:, None]
    parts = [np.where(valid, a, np.nan) for a in (flows.sizes, flows.relative_times(), flows.inter_arrival())]
    return np.concatenate(parts, axis=1)


def fit_trees(flows: Flows, max_iter: int = 300, learning_rate: float = 0.1, seed: int = 0):
    """Gradient-boosted trees on :func:`raw_features` (early stopping on 10 % of the flows, as scikit-learn does)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    check_int("max_iter", max_iter, 1)
    if flows.labels is None:
        raise ValueError("flows: expected labelled flows to fit the trees, got labels=None")
    model = HistGradientBoostingClassifier(max_iter=max_iter, learning_rate=learning_rate, early_stopping=True,
                                           random_state=seed)
    return model.fit(raw_features(flows), flows.labels)


def tree_nodes(model) -> int:
    """Nodes in all the trees (the trees' 'parameters': one threshold or value per node)."""
    return int(sum(len(p.nodes) for per_iter in model._predictors for p in per_iter))


def tree_comparisons(model) -> float:
    """Comparisons per sample: the depth of the leaf reached, summed over the trees (the leaves' training counts
    weight the depths)."""
    total = 0.0
    for per_iter in model._predictors:
        for p in per_iter:
            leaves = p.nodes[p.nodes["is_leaf"] == 1]
            total += float((leaves["depth"] * leaves["count"]).sum() / max(leaves["count"].sum(), 1))
    return total
