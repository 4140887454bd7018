"""The first hybrid the workbench shipped (the research variant ``hybrid_ppo``), and the base of the variants.

:class:`FirstHybridPolicy` follows the paper's two heads most directly: the continuous head scopes a centre offset
in basis points, rounded to a tick ``c`` (:class:`~workbench.execution.hybrid.ScopedWindowPolicy`); the discrete
head, which sees the state and the continuous sample ``u``, has one logit per window position and picks ``k`` in
``-W..W``; the order goes ``c + k`` ticks from the near touch. Both heads train jointly, by PPO on the joint
log-probability :math:`\\log \\pi_c(u|s) + \\log \\pi_d(k|s,u)`. Its categorical head settles on a near-constant shift
of the centre, and it does not beat the continuous agent; the shipped hybrid is
:class:`~workbench.execution.hybrid.HybridPolicy`.

Shapes: observations ``(B, N_FEATURES)``; raw actions ``(B, 2)``: ``u`` and the window index ``k + W``.
"""

from __future__ import annotations

import torch

from workbench.execution.agents import mlp
from workbench.execution.env import N_FEATURES
from workbench.execution.hybrid import ScopedWindowPolicy

__all__ = ["FirstHybridPolicy"]


class FirstHybridPolicy(ScopedWindowPolicy):
    """Continuous scoping (basis points) + a categorical choice within ``2W+1`` ticks around it, trained by PPO.

    By default both heads train jointly from the first episode, the discrete head starting near uniform over its
    window. Two options change how training starts (the variants ``hybrid_anchored`` and ``hybrid_staged``):

    * ``anchor``: a logit added to the window's centre at initialisation, so the untrained discrete head takes
      the scoped tick (probability :math:`e^a / (e^a + 2W)`, 0.90 for ``a = 4``, ``W = 3``) and the hybrid starts
      as its continuous head acts;
    * ``scope_fraction``: for that share of training (PPO reports progress through :meth:`set_progress`) only
      the continuous head acts and learns: the order goes to the scoped tick (``k = 0``) and the
      log-probability is the Gaussian's alone, exactly the continuous agent's training; then both heads train
      jointly. The phase is a buffer (``joint``), so a checkpoint restored from the scoping phase acts as the
      scope did.
    """

    name = "hybrid_ppo"
    anchor = 0.0
    scope_fraction = 0.0

    def __init__(self, hidden: int = 64, scale_bps: float = 5.0, window: int = 3, anchor: float | None = None,
                 scope_fraction: float | None = None):
        anchor = type(self).anchor if anchor is None else anchor
        scope_fraction = type(self).scope_fraction if scope_fraction is None else scope_fraction
        if not isinstance(anchor, (int, float)) or not anchor >= 0:
            raise ValueError(f"anchor: expected a non-negative logit, got {anchor!r}")
        if not isinstance(scope_fraction, (int, float)) or not 0 <= scope_fraction <= 1:
            raise ValueError(f"scope_fraction: expected a fraction of training in [0, 1], got {scope_fraction!r}")
        super().__init__(hidden, scale_bps, window)
        self.anchor, self.scope_fraction = float(anchor), float(scope_fraction)
        self.logits = mlp(N_FEATURES + 1, 2 * window + 1, hidden)
        with torch.no_grad():
            self.logits[-1].bias[window] += self.anchor
        self.disc_entropy_weight = 1.0  # weight of the discrete head's entropy in the PPO bonus
        self.register_buffer("joint", torch.tensor(self.scope_fraction <= 0))

    def set_progress(self, fraction: float):
        """Training is ``fraction`` done: the joint phase starts at ``scope_fraction``."""
        self.joint.fill_(fraction >= self.scope_fraction)

    def window_distribution(self, obs, raw) -> torch.distributions.Categorical:
        """The discrete head given the state and the scoped ``u = raw[:, 0]``: over the ``2W+1`` ticks."""
        return torch.distributions.Categorical(logits=self.logits(torch.cat([obs, raw[:, :1]], 1)))

    def distribution(self, obs, raw):
        cont = self.scope(obs)
        if not bool(self.joint):  # scoping phase: the tick is the centre, not a choice
            return cont.log_prob(raw[:, 0]), cont.entropy()
        disc = self.window_distribution(obs, raw)
        return (cont.log_prob(raw[:, 0]) + disc.log_prob(raw[:, 1].long()),
                cont.entropy() + self.disc_entropy_weight * disc.entropy())

    def sample(self, obs, greedy: bool):
        u = self.draw_u(obs, greedy)
        k = self.choose_tick(self.logits(torch.cat([obs, u[:, None]], 1)), greedy)
        return torch.stack([u, k.float()], 1)

    def choose_tick(self, scores, greedy: bool):
        """Index in the window ``(B,)`` from the discrete head's scores ``(B, 2W+1)``: argmax, or a sample; the
        centre (``W``, i.e. ``k = 0``) in the scoping phase."""
        if not bool(self.joint):
            return torch.full(scores.shape[:1], self.window, dtype=torch.long)
        return scores.argmax(-1) if greedy else torch.distributions.Categorical(logits=scores).sample()


