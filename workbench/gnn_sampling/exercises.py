"""The notebook's "try this" exercises, checked against the library (:mod:`workbench.exercises`): the truths come from
:mod:`~workbench.gnn_sampling.mvs` and :func:`~workbench.gnn_sampling.model.node_gradient_norms`, so no number is
typed in twice."""

from __future__ import annotations

import torch

from workbench.exercises import exercise, is_close
from workbench.gnn_sampling.model import node_gradient_norms
from workbench.gnn_sampling.mvs import mvs_probabilities, sampling_variance, uniform_probabilities

__all__ = ["NORMS", "BATCH", "LOGITS", "LABEL", "AGGREGATED"]

NORMS = torch.tensor([1.0, 1.0, 2.0, 4.0], dtype=torch.float64)  # four nodes' gradient norms
BATCH = 2  # expected batch size
LOGITS, LABEL, AGGREGATED = torch.tensor([[2.0, 0.0, 0.0]]), torch.tensor([0]), torch.tensor([[3.0, 4.0]])


def _vector(answer, n: int) -> torch.Tensor:
    try:
        v = torch.as_tensor(answer, dtype=torch.float64).reshape(-1)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"expected {n} numbers, got {type(answer).__name__}") from None
    if len(v) != n:
        raise ValueError(f"expected {n} numbers, got {len(v)}")
    return v


@exercise("gnn_sampling.mvs_probabilities",
          hint="p_i = min(1, g_i / mu), with mu chosen so that the p_i add up to B = 2 (a node with g_i >= mu is "
               "always drawn)")
def _mvs_probabilities(answer):
    p = _vector(answer, len(NORMS))
    if abs(float(p.sum()) - BATCH) > 1e-3:
        return f"your probabilities add up to {float(p.sum()):g}; they must add up to the batch size, {BATCH}"
    return bool(torch.allclose(p, mvs_probabilities(NORMS, BATCH), atol=1e-3))


@exercise("gnn_sampling.variance_ratio",
          hint="the variance is sum_i g_i^2 (1/p_i - 1) / N^2: with uniform p_i = 1/2 and with MVS's p, then divide")
def _variance_ratio(answer):
    truth = (sampling_variance(NORMS, uniform_probabilities(len(NORMS), BATCH))
             / sampling_variance(NORMS, mvs_probabilities(NORMS, BATCH)))
    return is_close(answer, truth, rel=1e-3)


@exercise("gnn_sampling.gradient_norm",
          hint="beta = softmax(z) - onehot(y); the norm is |beta| * sqrt(|a|^2 + 1), with |a| = 5 here")
def _gradient_norm(answer):
    return is_close(answer, float(node_gradient_norms(LOGITS, AGGREGATED, LABEL)[0]), rel=1e-3)
