"""Bernoulli edge distribution over undirected graphs, with a straight-through gradient.

:math:`\\theta \\in [0,1]^{N \\times N}` lives on the strict upper triangle. A sample draws
:math:`e_{ij} \\sim \\mathrm{Ber}(\\theta_{ij})` for :math:`i<j` and returns :math:`A = e + e^T`
(symmetric, no self-loops). The straight-through estimator passes the gradient of the sampled
:math:`A` to :math:`\\theta`:
:math:`\\partial/\\partial\\theta_{ij} = \\partial/\\partial A_{ij} + \\partial/\\partial A_{ji}`.

Shapes:
    theta: ``(N, N)`` (only the strict upper triangle is used); samples: ``(N, N)``.
"""

from __future__ import annotations

import torch

__all__ = ["upper_mask", "project", "projected_step_", "symmetric", "sample_graph", "EdgeSampler"]


def upper_mask(n: int, device=None) -> torch.Tensor:
    """Boolean ``(n, n)`` mask of the strict upper triangle."""
    return torch.ones(n, n, dtype=torch.bool, device=device).triu(1)


def project(theta: torch.Tensor) -> torch.Tensor:
    """Projection onto the constraint set: clip to ``[0, 1]`` and zero outside the strict upper triangle."""
    return theta.clamp(0, 1).triu(1)


def projected_step_(theta: torch.Tensor, direction: torch.Tensor, lr: float) -> torch.Tensor:
    """``theta <- project(theta - lr * direction)`` in place, for ``theta`` and ``direction`` both zero on and
    below the diagonal (LDS's iterate and its hypergradient), where the ``triu`` of :func:`project` is the
    identity: two passes over the ``(N, N)`` matrix instead of five. Returns ``theta``."""
    return theta.sub_(direction, alpha=lr).clamp_(0, 1)


def symmetric(theta: torch.Tensor) -> torch.Tensor:
    """Edge probabilities of both directions: ``triu(theta, 1) + triu(theta, 1)^T``."""
    t = theta.triu(1)
    return t + t.T


def sample_graph(theta: torch.Tensor, generator: torch.Generator | None = None, straight_through: bool = True):
    """One graph ``A ~ Ber(theta)`` (symmetric 0/1); with ``straight_through`` its gradient flows to ``theta``."""
    probs = symmetric(theta)
    u = torch.rand(theta.shape, generator=generator, dtype=theta.dtype, device=theta.device).triu(1)
    e = (u < theta.detach().triu(1)).to(theta.dtype).triu(1)
    a = e + e.T
    if straight_through:
        a = a + (probs - probs.detach())  # exactly a in the forward pass, d a / d theta = 1
    return a


class EdgeSampler:
    """Draws graphs ``A ~ Ber(theta)`` as sparse symmetric COO tensors (no gradient).

    Built once per ``theta``: it keeps the support of ``triu(theta, 1)`` (``theta`` after LDS's projection
    is exactly 0 on roughly half the pairs), so each draw costs one uniform per candidate edge rather
    than one per entry of the ``(N, N)`` matrix.
    """

    def __init__(self, theta: torch.Tensor):
        t = theta.detach()
        self.shape, self.n = t.shape, t.shape[0]
        flat = t.reshape(-1)
        index = flat.nonzero().squeeze(1)
        self.index = index[index // self.n < index % self.n]  # strict upper triangle only
        self.p = flat[self.index].clamp(0, 1)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        u = torch.rand(self.p.shape, generator=generator, dtype=self.p.dtype, device=self.p.device)
        chosen = self.index[u < self.p]
        i, j = chosen // self.n, chosen % self.n
        idx = torch.stack([torch.cat([i, j]), torch.cat([j, i])])
        values = torch.ones(idx.shape[1], dtype=self.p.dtype, device=self.p.device)
        return torch.sparse_coo_tensor(idx, values, self.shape, check_invariants=False).coalesce()
