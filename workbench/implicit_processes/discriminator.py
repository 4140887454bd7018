"""The KL divergence between two implicit distributions, estimated by a classifier (the adversarial trick of AVB and
AADM, which SIP uses for ``KL(q(u) ‖ p(u))``).

A discriminator ``T(u)`` trained by logistic regression to tell samples of ``q`` (label 1) from samples of ``p``
(label 0) converges to the log density ratio ``T*(u) = log q(u) − log p(u)``. Then

    KL(q ‖ p) = E_q[T*]                                  ("forward", the textbook estimate), and
    ½ (KL(q ‖ p) + KL(p ‖ q)) = ½ (E_q[T*] − E_p[T*])    ("symmetric", what the released code computes).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from workbench.checks import check_int
from workbench.implicit_processes.priors import LEAK

__all__ = ["Discriminator", "discriminator_loss", "kl_estimate", "KL_ESTIMATORS"]

KL_ESTIMATORS = ("symmetric", "forward")


class Discriminator(nn.Module):
    """``T(u)``: a leaky-ReLU perceptron ``[dim, 50, 50, 1]``; ``(S, dim) -> (S,)`` logits."""

    def __init__(self, dim: int, hidden: tuple[int, ...] = (50, 50), generator: torch.Generator | None = None):
        super().__init__()
        self.dim = check_int("dim", dim, 1)
        sizes = (self.dim, *(check_int("hidden", h, 1) for h in hidden), 1)
        self.weights = nn.ParameterList([nn.Parameter(torch.randn((a, b), generator=generator) * 0.05)
                                         for a, b in zip(sizes, sizes[1:])])
        self.biases = nn.ParameterList([nn.Parameter(torch.randn(b, generator=generator) * 0.05) for b in sizes[1:]])

    def forward(self, u: Tensor) -> Tensor:
        if u.ndim != 2 or u.shape[1] != self.dim:
            raise ValueError(f"u: expected shape (S, {self.dim}), got {tuple(u.shape)}")
        h = u
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = h @ w + b
            if i < last:
                h = nn.functional.leaky_relu(h, LEAK)
        return h[:, 0]


def discriminator_loss(t_q: Tensor, t_p: Tensor) -> Tensor:
    """Logistic loss, ``q`` samples labelled 1 and ``p`` samples 0, the two halves averaged."""
    bce = nn.functional.binary_cross_entropy_with_logits
    return 0.5 * (bce(t_q, torch.ones_like(t_q)) + bce(t_p, torch.zeros_like(t_p)))


def kl_estimate(t_q: Tensor, t_p: Tensor, kind: str = "symmetric") -> Tensor:
    """The divergence read from the logits on ``q`` samples ``t_q`` and on ``p`` samples ``t_p`` (see the module)."""
    if kind == "forward":
        return t_q.mean()
    if kind == "symmetric":
        return 0.5 * (t_q.mean() - t_p.mean())
    raise ValueError(f"kind: expected one of {list(KL_ESTIMATORS)}, got {kind!r}")
