"""Variants of the hybrid's fine-grained head and of how its training starts, to test why it does not beat the
continuous agent.

The shipped :class:`~workbench.execution.agents.HybridPolicy` trains both heads with PPO on the joint
log-probability, and its categorical head settles on a near-constant shift of the continuous centre. Each
variant changes one thing about that head, or about how its training starts:

* :class:`HybridAnchoredPolicy`: the categorical head starts on the scoped tick (``anchor = 4``: probability 0.9
  on ``k = 0``), so the untrained hybrid acts as its continuous head does and training learns departures from
  the scope;
* :class:`HybridStagedPolicy`: scope first, then joint: for the first half of training only the continuous
  head acts and learns (``k = 0``, exactly the continuous agent's training), then both heads train jointly from
  the anchored head;
* :class:`HybridEntropyPolicy`: the discrete head's entropy counts ``disc_entropy_weight`` times in the PPO
  entropy bonus, so it keeps exploring the ticks of its window;
* :class:`HybridQPolicy`: the fine-grained agent is a Q-network over the ``2W+1`` ticks, conditioned on the
  state and the continuous sample ``u``, epsilon-greedy while training and greedy when evaluated (the research
  notes' reconstruction of the paper). PPO sees only the continuous head's log-probability; the Q head is
  regressed on the step's lambda-return, :math:`\\mathcal L_Q = c_Q\\,\\mathbb E[(Q(s, u)_k - R^\\lambda)^2]`,
  through :meth:`HybridQPolicy.auxiliary_loss`, which :func:`~workbench.execution.ppo.train` adds to its loss;
* :class:`HybridBookPolicy`: the categorical head also scores each tick of its window by that price's own
  book features (:func:`candidate_features`): its logits are those of the shipped head plus
  :math:`g(\\phi_j)` for candidate ``j``. It reads the book, so ``rollout`` binds it to the environment;
* :class:`HybridPricePolicy`: the categorical head has no logit per window position at all: one network scores
  each candidate price from the state, ``u`` and that price's features (its book features and its distance in
  bps from the continuous head's unrounded offset), :math:`\\ell_j = g(s, u, \\phi_j)`. It cannot learn a
  fixed shift of ``k`` ticks, which means a different price on every tick size; only preferences for prices
  by what they are (in the book, or in bps from the scoped offset), which carry over to new stocks.

``workbench.execution.experiments.reproduce(only=[...])`` (``--only``) trains them beside the continuous agent.
Shapes: observations ``(B, N_FEATURES)``; raw actions ``(B, 2)`` (``(B, 2 + (2W+1) F)`` for the book and price
variants, which store each decision's candidate features with it, so that PPO re-scores the same candidates).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn

from workbench.execution.agents import HybridPolicy, mlp
from workbench.execution.env import N_FEATURES

__all__ = ["HybridAnchoredPolicy", "HybridStagedPolicy", "HybridEntropyPolicy", "HybridQPolicy", "HybridBookPolicy",
           "HybridPricePolicy", "candidate_features", "N_CANDIDATE_FEATURES", "VARIANTS"]

N_CANDIDATE_FEATURES = 4


class HybridAnchoredPolicy(HybridPolicy):
    """The shipped hybrid whose categorical head starts on the scoped tick (a logit ``anchor = 4`` on ``k = 0``)."""

    name = "hybrid_anchored"
    anchor = 4.0


class HybridStagedPolicy(HybridPolicy):
    """The anchored hybrid trained scope first: the continuous head alone for half of training, then both."""

    name = "hybrid_staged"
    anchor = 4.0
    scope_fraction = 0.5


class HybridEntropyPolicy(HybridPolicy):
    """The shipped hybrid with the discrete head's entropy weighted ``disc_entropy_weight`` times."""

    name = "hybrid_entropy"

    def __init__(self, disc_entropy_weight: float = 10.0, **kwargs):
        super().__init__(**kwargs)
        if not disc_entropy_weight >= 0:
            raise ValueError(f"disc_entropy_weight: expected a non-negative number, got {disc_entropy_weight!r}")
        self.disc_entropy_weight = float(disc_entropy_weight)


class HybridQPolicy(HybridPolicy):
    """Continuous scoping by PPO; the tick within the window by an epsilon-greedy Q-network ``Q(s, u) -> (2W+1,)``."""

    name = "hybrid_q"

    def __init__(self, epsilon: float = 0.1, q_coef: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= epsilon <= 1:
            raise ValueError(f"epsilon: expected a probability in [0, 1], got {epsilon!r}")
        self.epsilon, self.q_coef = float(epsilon), float(q_coef)

    def q_values(self, obs, u):
        return self.logits(torch.cat([obs, u[:, None]], 1))

    def distribution(self, obs, raw):
        cont = self.scope(obs)
        return cont.log_prob(raw[:, 0]), cont.entropy()

    def choose_tick(self, scores, greedy: bool):
        """The Q-greedy tick; while training, a uniform one with probability ``epsilon``."""
        k = scores.argmax(-1)
        if greedy:
            return k
        explore = torch.rand(k.shape) < self.epsilon
        return torch.where(explore, torch.randint(0, scores.shape[-1], k.shape), k)

    def auxiliary_loss(self, obs, raw, returns):
        """``q_coef`` times the mean squared error of the taken tick's Q value against the lambda-return."""
        q = self.q_values(obs, raw[:, 0]).gather(1, raw[:, 1:2].long()).squeeze(1)
        return self.q_coef * (q - returns).pow(2).mean()


def candidate_features(env, ticks) -> np.ndarray:
    """Book features of the limit prices ``ticks`` ticks from the near touch, ``(len(ticks), 4)``.

    Per candidate price: 1 if it crosses the spread (executes at once), the log of one plus the visible queue
    at that price and the log of one plus the depth in front of it on our side (both in units of the TWAP
    slice, / 5), and the offset in ticks / 10.
    """
    d, i, side = env.day, env._i, env.side
    near, tick = env.near_touch, env.tick
    prices = near - side * np.asarray(ticks, dtype=np.int64) * tick
    slice_ = max(1.0, env._remaining / max(1, env.steps - env._t))
    opposite = d.best(i, -side)
    own_prices, own_sizes = d.side_levels(i, side)
    out = np.zeros((len(prices), N_CANDIDATE_FEATURES), dtype=np.float32)
    for j, p in enumerate(prices.tolist()):
        crosses = opposite is not None and (p <= opposite if side == -1 else p >= opposite)
        at = own_sizes[own_prices == p].sum()
        front = own_sizes[own_prices < p].sum() if side == -1 else own_sizes[own_prices > p].sum()
        out[j] = [float(crosses), math.log1p(at / slice_) / 5, math.log1p(front / slice_) / 5, ticks[j] / 10]
    return out


class HybridBookPolicy(HybridPolicy):
    """The shipped hybrid whose discrete logits add a score of each candidate price's book features."""

    name = "hybrid_book"
    n_candidate_features = N_CANDIDATE_FEATURES

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.candidate_score = nn.Sequential(nn.Linear(N_CANDIDATE_FEATURES, 16), nn.Tanh(), nn.Linear(16, 1))
        self._env = None

    def bind(self, env):
        """The environment whose book the next samples read (``rollout`` calls this)."""
        self._env = env

    def act(self, obs, env, greedy: bool = True):
        self.bind(env)
        return super().act(obs, env, greedy)

    def _logits(self, obs, u, feats):
        return self.logits(torch.cat([obs, u[:, None]], 1)) + self.candidate_score(feats).squeeze(-1)

    def window_distribution(self, obs, raw):
        feats = raw[:, 2:].reshape(len(raw), 2 * self.window + 1, self.n_candidate_features)
        return torch.distributions.Categorical(logits=self._logits(obs, raw[:, 0], feats))

    def features(self, ticks: list[int], u: float) -> np.ndarray:
        """The candidates' features ``(len(ticks), F)`` in the bound env's state, given the scoped ``u``."""
        return candidate_features(self._env, ticks)

    def sample(self, obs, greedy: bool):
        if self._env is None or len(obs) != 1:
            raise RuntimeError("HybridBookPolicy.sample: bind(env) first; it samples one state of that env at a time")
        u = self.draw_u(obs, greedy)
        centre = self.centre_ticks(float(u[0]), self._env)
        ticks = [centre + k for k in range(-self.window, self.window + 1)]
        feats = torch.as_tensor(self.features(ticks, float(u[0])))[None]
        k = self.choose_tick(self._logits(obs, u, feats), greedy)
        return torch.cat([torch.stack([u, k.float()], 1), feats.reshape(1, -1)], 1)


class HybridPricePolicy(HybridBookPolicy):
    """The hybrid whose fine-grained head scores each candidate price with one shared network ``g(s, u, phi_j)``.

    ``phi_j``: :func:`candidate_features` of price ``j`` and its distance from the continuous head's own offset,
    :math:`(j_{ticks} \\cdot \\mathrm{tick_{bps}} - \\mathrm{scale} \\cdot u) / \\mathrm{scale}`.
    """

    name = "hybrid_price"
    n_candidate_features = N_CANDIDATE_FEATURES + 1

    def __init__(self, hidden: int = 64, **kwargs):
        super().__init__(hidden=hidden, **kwargs)
        del self.logits, self.candidate_score  # no per-position logits: every candidate is scored by price_score
        self.price_score = mlp(N_FEATURES + 1 + self.n_candidate_features, 1, hidden)

    def _logits(self, obs, u, feats):
        n, j, _ = feats.shape
        context = torch.cat([obs, u[:, None]], 1)[:, None, :].expand(n, j, -1)
        return self.price_score(torch.cat([context, feats], -1)).squeeze(-1)

    def features(self, ticks: list[int], u: float) -> np.ndarray:
        """:func:`candidate_features`, then each price's distance in bps from ``scale * u``, / ``scale``."""
        book = candidate_features(self._env, ticks)
        from_scope = (np.asarray(ticks) * self._env.ticks_to_bps(1) - self.scale_bps * u) / self.scale_bps
        return np.concatenate([book, from_scope[:, None].astype(np.float32)], 1)


VARIANTS = {c.name: c for c in (HybridAnchoredPolicy, HybridStagedPolicy, HybridEntropyPolicy, HybridQPolicy,
                                HybridBookPolicy, HybridPricePolicy)}
