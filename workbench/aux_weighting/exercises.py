"""The notebook's "try this" exercises, checked against the library (:mod:`workbench.exercises`): the truths come from
autograd through a one-step look-ahead, from :func:`~workbench.aux_weighting.weighting.rescale_auxiliary` and from
torch's cosine, so no number is typed in twice."""

from __future__ import annotations

import torch

from workbench.aux_weighting.weighting import rescale_auxiliary
from workbench.exercises import exercise, is_close

__all__ = ["G_TARGET", "G_AUX", "STEP", "RAW_MEANS", "MEAN"]

G_TARGET = torch.tensor([1.0, 2.0], dtype=torch.float64)  # the held-out target loss's gradient (a linear loss)
G_AUX = torch.tensor([3.0, -1.0], dtype=torch.float64)  # an auxiliary task's gradient (a linear loss)
STEP = 0.1  # the look-ahead's step α
RAW_MEANS = {"target": 1.0, "link": 0.9, "attribute": 0.3, "random_labels": 0.6}  # mean weights before rescaling
MEAN = 0.5  # the auxiliary tasks' mean weight after rescaling


def _meta_gradient() -> float:
    """``d/dv`` of ``L_meta(θ − α v ∇ℓ_aux)`` at ``θ = 0``, ``v = 1``, for the linear losses above, by autograd."""
    v = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    theta = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    aux = G_AUX @ theta
    (g,) = torch.autograd.grad(v * aux, theta, create_graph=True)
    ahead = theta - STEP * g
    (dv,) = torch.autograd.grad(G_TARGET @ ahead, v)
    return float(dv)


@exercise("aux_weighting.meta_gradient",
          hint="the look-ahead is θ̂ = θ − α v ∇ℓ_aux, so dL_meta/dv = ∇L_meta(θ̂) · dθ̂/dv = −α ∇L_meta · ∇ℓ_aux")
def _meta_gradient_exercise(answer):
    return is_close(answer, _meta_gradient(), rel=1e-6)


@exercise("aux_weighting.cosine", hint="cos = (a · b) / (|a| |b|), with a = (3, −1) and b = (1, 2)")
def _cosine(answer):
    return is_close(answer, float(torch.nn.functional.cosine_similarity(G_AUX, G_TARGET, dim=0)), rel=1e-4)


@exercise("aux_weighting.rescaled",
          hint="the target keeps its weight; the three auxiliary means (0.9, 0.3, 0.6) average 0.6, so each is "
               "multiplied by 0.5 / 0.6")
def _rescaled(answer):
    if not isinstance(answer, dict) or set(answer) != set(RAW_MEANS):
        return f"expected a dict with the keys {sorted(RAW_MEANS)}, got {answer!r}"
    truth = rescale_auxiliary({t: torch.tensor([m], dtype=torch.float64) for t, m in RAW_MEANS.items()}, MEAN)
    return all(is_close(answer[t], float(truth[t][0]), rel=1e-3) is True for t in RAW_MEANS)
