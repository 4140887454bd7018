"""LDS's bilevel step: train the GCN for ``tau`` steps on sampled graphs, then the truncated
reverse-mode hypergradient of the validation loss with respect to the edge probabilities.

Inner problem (per step :math:`t`, fresh graph :math:`A_t \\sim \\mathrm{Ber}(\\theta)`):
:math:`w_{t+1} = \\mathrm{Adam}(w_t, \\nabla_w L_{train}(w_t, A_t))` with
:math:`L_{train} = \\mathrm{CE}_{train} + \\tfrac{\\lambda}{2}\\|W_1\\|^2`.
Outer objective: :math:`F = \\mathrm{CE}_{val}(w_{\\tau}, A)`, :math:`A \\sim \\mathrm{Ber}(\\theta)`.
The hypergradient :math:`\\nabla_\\theta F` differentiates through the ``tau`` Adam steps (their
graph is kept with ``create_graph=True``) and reaches :math:`\\theta` through the straight-through
samples (:math:`\\partial A_{ij}/\\partial\\theta_{ij} = 1`); the steps before the chunk are truncated
(their weights enter as constants).

Adam is written out as a differentiable function; it uses :math:`\\sqrt{\\hat v + \\epsilon^2}` in
place of :math:`\\sqrt{\\hat v} + \\epsilon` so that its derivative stays finite where a gradient is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from workbench.structure_learning.gcn import gcn_forward
from workbench.structure_learning.sampler import EdgeSampler, symmetric
from workbench.structure_learning.taped_graph import Tape, TapedGraph

__all__ = ["AdamState", "adam_step", "inner_loss", "HyperStep", "hyper_step"]

BETAS = (0.9, 0.999)
EPS = 1e-8


@dataclass
class AdamState:
    """First and second moments and the step count of a functional Adam."""

    m: list[torch.Tensor]
    v: list[torch.Tensor]
    t: int = 0

    @classmethod
    def zeros_like(cls, weights) -> "AdamState":
        return cls([torch.zeros_like(w) for w in weights], [torch.zeros_like(w) for w in weights], 0)

    def detached(self) -> "AdamState":
        return AdamState([m.detach() for m in self.m], [v.detach() for v in self.v], self.t)


def adam_step(weights, grads, state: AdamState, lr: float):
    """One differentiable Adam step; returns ``(new weights, new state)``."""
    b1, b2 = BETAS
    t = state.t + 1
    new_w, new_m, new_v = [], [], []
    for w, g, m, v in zip(weights, grads, state.m, state.v):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        new_w.append(w - lr * m_hat / torch.sqrt(v_hat + EPS**2))
        new_m.append(m)
        new_v.append(v)
    return new_w, AdamState(new_m, new_v, t)


def inner_loss(weights, x, a_hat, y, train_idx, *, weight_decay: float, dropout: float, generator=None):
    """Cross-entropy on the training nodes + ``weight_decay/2 * ||W1||^2`` (first layer only, as LDS)."""
    logits = gcn_forward(weights, x, a_hat, dropout=dropout, training=True, generator=generator)
    return F.cross_entropy(logits[train_idx], y[train_idx]) + 0.5 * weight_decay * weights[0].square().sum()


@dataclass
class HyperStep:
    """Result of one chunk: the hypergradient, the new inner state and the chunk's training losses."""

    hypergradient: torch.Tensor
    weights: list[torch.Tensor]
    state: AdamState
    train_losses: list[float]
    val_loss: float


def _graph(theta, sampler: EdgeSampler | None, generator, tape: Tape) -> TapedGraph:
    a = sampler.sample(generator) if sampler is not None else symmetric(theta.detach())
    return TapedGraph(a, tape)


def hyper_step(theta: torch.Tensor, weights, state: AdamState, x, y, train_idx, val_idx, *, tau: int, lr: float,
               weight_decay: float = 5e-4, dropout: float = 0.5, sample: bool = True,
               generator: torch.Generator | None = None) -> HyperStep:
    """``tau`` inner Adam steps from ``(weights, state)`` and ``d CE_val / d theta`` through them.

    Each sampled graph is a constant sparse matrix whose uses are taped (:mod:`taped_graph`); the
    straight-through hypergradient is then :math:`\\mathrm{triu}(G + G^\\top)` with :math:`G = \\sum_t dF/dA_t`.

    Args:
        theta: ``(N, N)`` edge probabilities (strict upper triangle).
        sample: draw Bernoulli graphs (LDS); ``False`` uses the expected graph ``theta + theta^T``,
            which makes the step deterministic (used to check the hypergradient by finite differences).
    """
    tape = Tape()
    sampler = EdgeSampler(theta) if sample else None
    w = [wi.detach().requires_grad_(True) for wi in weights]
    st = state.detached()
    losses = []
    for _ in range(tau):
        graph = _graph(theta, sampler, generator, tape)
        loss = inner_loss(w, x, graph, y, train_idx, weight_decay=weight_decay,
                          dropout=dropout if sample else 0.0, generator=generator)
        grads = torch.autograd.grad(loss, w, create_graph=True)
        w, st = adam_step(w, grads, st, lr)
        losses.append(float(loss.detach()))
    graph = _graph(theta, sampler, generator, tape)
    val = F.cross_entropy(gcn_forward(w, x, graph)[val_idx], y[val_idx])
    hg = tape.symmetric_gradient(torch.autograd.grad(val, tape.probes, allow_unused=True))
    return HyperStep(hg, [wi.detach() for wi in w], st.detached(), losses, float(val.detach()))
