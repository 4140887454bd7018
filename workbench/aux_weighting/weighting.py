"""AUX-TS's weighting model and the meta-gradient that trains it (Han, Huang, An, Bai, KDD 2021, Eq. 6–9).

Each example ``i`` of task ``τ`` gets a weight ``v_i = V(e_i; φ) = σ(w₂ᵀ ReLU(W₁ e_i + b₁) + b₂)`` from its
features ``e_i = [ℓ_i, onehot(τ), cos_τ]``: its loss, its task, and the cosine between the gradient of the task's
mean loss and the target's on the shared parameters (the encoder and the target classifier). The training loss is
``L(θ, φ) = Σ_τ mean_i v_i ℓ_i``.

``φ`` is trained by a one-step look-ahead: ``θ̂(φ) = θ − α ∇_θ L(θ, φ)`` (kept differentiable in ``φ``: the
gradient is taken with ``create_graph=True`` and the model evaluated at ``θ̂`` with
``torch.func.functional_call``), then ``L_meta(φ) = CE`` of the target on a held-out fold at ``θ̂(φ)`` and
``φ ← φ − β ∇_φ L_meta``. The authors' released scripts take the look-ahead with an optimizer's in-place step,
which cuts the graph back to ``φ``: their weighting network receives no gradient. Here it does, and
``tests/aux_weighting`` checks it against finite differences of ``L_meta``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call

from workbench.aux_weighting.tasks import TASKS, Draw, MultiTaskGNN, TaskGraph
from workbench.checks import check_int, check_real

__all__ = ["WeightNet", "rescale_auxiliary", "gradient_cosines", "weighted_loss", "lookahead_target_loss",
           "meta_gradient"]


class WeightNet(nn.Module):
    """``V(e; φ)``: ``Linear(2 + len(TASKS), hidden) → ReLU → Linear(hidden, 1) → sigmoid`` (the paper's v-net;
    ``hidden`` 100 as in the authors' code)."""

    def __init__(self, hidden: int = 100, seed: int = 0, learn_target: bool = True,
                 auxiliary_mean: float | None = None):
        super().__init__()
        self.learn_target = bool(learn_target)
        self.auxiliary_mean = None if auxiliary_mean is None else check_real("auxiliary_mean", auxiliary_mean)
        torch.manual_seed(check_int("seed", seed, 0))
        self.net = nn.Sequential(nn.Linear(2 + len(TASKS), check_int("hidden", hidden, 1)), nn.ReLU(),
                                 nn.Linear(hidden, 1))

    @staticmethod
    def features(losses: dict[str, torch.Tensor], cosines: dict[str, float]) -> dict[str, torch.Tensor]:
        """``{τ: (n_τ, 2 + len(TASKS))}``: ``[ℓ_i, onehot(τ), cos_τ]`` per example, the losses detached (the weights
        are functions of ``φ`` only, as in the paper)."""
        out = {}
        for task, loss in losses.items():
            onehot = torch.zeros(len(loss), len(TASKS), dtype=loss.dtype)
            onehot[:, TASKS.index(task)] = 1.0
            cos = torch.full((len(loss), 1), float(cosines.get(task, 1.0)), dtype=loss.dtype)
            out[task] = torch.cat([loss.detach()[:, None], onehot, cos], 1)
        return out

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        """``(n,)`` weights in ``(0, 1)`` for features ``e`` ``(n, 2 + len(TASKS))``."""
        return torch.sigmoid(self.net(e.to(self.net[0].weight.dtype)))[:, 0]

    def weights(self, losses: dict[str, torch.Tensor], cosines: dict[str, float]) -> dict[str, torch.Tensor]:
        """``{τ: (n_τ,)}``: every example's weight, ``σ(V)``; the target's all 1 unless ``learn_target``.

        With ``auxiliary_mean`` ``c`` the auxiliary examples share a fixed amount of weight instead:
        ``v_i = c · exp(s_i) / mean_τ mean_j exp(s_j)`` over the auxiliary tasks ``τ`` and their examples ``j``
        (``s``: the network's output before the sigmoid), so the weighting decides which tasks and examples get the
        auxiliary training, not whether there is any (see ``docs/aux_weighting.md``). ``exp`` rather than ``σ``:
        rescaled sigmoids can all drift into saturation together, where their gradient vanishes and the weights
        stick at equal."""
        feats = self.features(losses, cosines)
        w = {t: self(e) if self.learn_target or t != "target" else torch.ones(len(e), dtype=e.dtype)
             for t, e in feats.items() if self.auxiliary_mean is None or t == "target"}
        auxiliary = [t for t in feats if t != "target"]
        if self.auxiliary_mean is None or not auxiliary:
            return w
        scores = {t: self.net(feats[t].to(self.net[0].weight.dtype))[:, 0] for t in auxiliary}
        top = max(float(s.detach().max()) for s in scores.values())  # exp(s - top) <= 1: no overflow
        return {**w, **rescale_auxiliary({t: torch.exp(s - top) for t, s in scores.items()}, self.auxiliary_mean)}


def rescale_auxiliary(weights: dict[str, torch.Tensor], mean: float) -> dict[str, torch.Tensor]:
    """``weights`` with every auxiliary task's (all but ``"target"``) multiplied by one factor ``c / m``, where
    ``m = mean_τ mean_i v_{τ,i}`` over the auxiliary tasks ``τ``: afterwards that mean of means is ``c = mean``
    (differentiable; the relative weights of tasks and examples unchanged)."""
    mean = check_real("mean", mean)
    auxiliary = [t for t in weights if t != "target"]
    if not auxiliary:
        raise ValueError(f"weights: expected at least one auxiliary task, got only {list(weights)}")
    m = sum(torch.as_tensor(weights[t]).mean() for t in auxiliary) / len(auxiliary)
    if not float(m.detach()) > 0:
        raise ValueError(f"weights: expected positive auxiliary weights to rescale, got a mean of "
                         f"{float(m.detach()):g}")
    return {t: w if t == "target" else w * (mean / m) for t, w in weights.items()}


def weighted_loss(losses: dict[str, torch.Tensor], weights: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """``Σ_τ mean_i v_i ℓ_i`` (``weights`` None: every weight 1)."""
    if not losses:
        raise ValueError("losses: expected at least one task's losses, got none")
    total = 0.0
    for task, loss in losses.items():
        v = 1.0 if weights is None else weights[task]
        total = total + (v * loss).mean()
    return total


def _shared(model: MultiTaskGNN) -> list[torch.nn.Parameter]:
    names = set(model.shared_parameters())
    return [p for n, p in model.named_parameters() if n in names]


def gradient_cosines(model: MultiTaskGNN, losses: dict[str, torch.Tensor]) -> dict[str, float]:
    """``{τ: cos(∇_s mean ℓ_τ, ∇_s mean ℓ_target)}`` on the shared parameters ``s`` (1 for the target; 0 for a task
    whose gradient there vanishes)."""
    if "target" not in losses:
        raise ValueError(f"losses: expected the target's losses among {list(losses)}")
    shared = _shared(model)

    def flat(loss):
        grads = torch.autograd.grad(loss.mean(), shared, retain_graph=True, allow_unused=True)
        return torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1) for g, p in zip(grads, shared)])

    target = flat(losses["target"])
    out = {"target": 1.0}
    for task, loss in losses.items():
        if task != "target":
            g = flat(loss)
            denominator = float(g.norm() * target.norm())
            out[task] = float(g @ target) / denominator if denominator > 0 else 0.0
    return out


def lookahead_target_loss(model: MultiTaskGNN, weight_net: WeightNet, graph: TaskGraph, draw: Draw,
                          held_out: torch.Tensor, lr: float, cosines: dict[str, float] | None = None) -> torch.Tensor:
    """``L_meta(φ)``: the target's mean cross-entropy on ``held_out`` at ``θ̂ = θ − lr ∇_θ L(θ, φ)``, the look-ahead
    of one SGD step on the weighted loss of ``draw`` (see the module); differentiable in ``φ``, not in ``θ``."""
    lr = check_real("lr", lr)
    if len(held_out) == 0:
        raise ValueError("held_out: expected at least one held-out target node, got an empty fold")
    params = dict(model.named_parameters())
    losses = functional_call(model, params, (graph, draw))
    if cosines is None:
        cosines = gradient_cosines(model, losses)
    total = weighted_loss(losses, weight_net.weights(losses, cosines))
    names = list(params)
    grads = torch.autograd.grad(total, [params[n] for n in names], create_graph=True, allow_unused=True)
    ahead = {n: params[n].detach() - lr * g if g is not None else params[n].detach() for n, g in zip(names, grads)}
    logits = functional_call(model, ahead, (graph,), {"method": "logits"})
    return nn.functional.cross_entropy(logits[held_out], graph.y[held_out])


def meta_gradient(model: MultiTaskGNN, weight_net: WeightNet, graph: TaskGraph, draw: Draw, held_out: torch.Tensor,
                  lr: float, cosines: dict[str, float] | None = None) -> tuple[float, list[torch.Tensor]]:
    """``(L_meta, ∇_φ L_meta)``, the gradient one tensor per parameter of ``weight_net``."""
    loss = lookahead_target_loss(model, weight_net, graph, draw, held_out, lr, cosines)
    grads = torch.autograd.grad(loss, list(weight_net.parameters()), allow_unused=True)
    params = list(weight_net.parameters())
    return float(loss.detach()), [g if g is not None else torch.zeros_like(p) for g, p in zip(grads, params)]
