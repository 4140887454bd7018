"""Execution agents: schedule baselines and the three learned price-placement policies.

Every agent answers ``act(obs, env, greedy) -> (env action, extras)``. Sizes follow the TWAP slice
(inventory left / steps left); the agents differ in the limit price:

* :class:`TWAPAgent`: a market order for each slice (crosses the spread every step);
* :class:`VWAPAgent`: market orders sized by a volume profile learned from training days;
* :class:`FixedOffsetAgent`: a limit order ``ticks`` ticks from the near touch (0 = join the best
  quote on our side, negative = inside the spread or crossing);
* :class:`QuoteImprovingAgent`: one tick inside the spread when it is at least two ticks wide (first in
  a new queue), else join the touch: the simplest state-dependent tick rule;
* :class:`ContinuousPolicy`: a Gaussian policy on the offset in basis points of the near touch (the
  price-percentage action that generalises across stocks);
* :class:`DiscretePolicy`: a categorical policy over tick offsets ``-K..K`` from the near touch;
* :class:`HybridPolicy` (HALOP, Pan et al. 2022): the continuous head scopes a centre offset in basis
  points, rounded to a tick ``c``; the discrete head, which sees the state and the centre, picks
  ``k`` in ``-W..W``; the order goes ``c + k`` ticks from the near touch. Both heads train jointly
  (PPO on the joint log-probability :math:`\\log \\pi_c(u|s) + \\log \\pi_d(k|s,u)`); options start the
  discrete head on the scoped tick and learn the scope alone first. It is the base of the hybrid's variants and
  of the shipped hybrid, which scores prices by their features and learns from every price of its window
  (:mod:`~workbench.execution.hybrid_variants`, :mod:`~workbench.execution.learners`).

Shapes: observations ``(B, N_FEATURES)``; the learned policies' ``distribution`` returns per-sample
log-probabilities ``(B,)``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from workbench.execution.env import MARKET, N_FEATURES

__all__ = ["TWAPAgent", "VWAPAgent", "FixedOffsetAgent", "QuoteImprovingAgent", "ContinuousPolicy", "DiscretePolicy",
           "HybridPolicy", "mlp"]


class TWAPAgent:
    """Equal slices, each a market order."""

    name = "twap"

    def act(self, obs, env, greedy: bool = True):
        return np.array([MARKET]), {}


class VWAPAgent:
    """Market orders sized by the average share of traded volume in each step of the horizon.

    ``fit(days, steps, step_seconds)`` estimates the profile from training days (all windows of the
    horizon's length, step by step); on flow without an intraday pattern it is close to TWAP.
    """

    name = "vwap"

    def __init__(self):
        self.profile_: np.ndarray | None = None

    def fit(self, days, steps: int, step_seconds: float, windows_per_day: int = 20) -> "VWAPAgent":
        totals = np.zeros(steps)
        for d in days:
            m = d.messages
            trades = (m.type == 4) | (m.type == 5)
            t, q = m.time[trades], m.size[trades]
            for s0 in np.linspace(d.start, d.end - steps * step_seconds, windows_per_day):
                edges = s0 + step_seconds * np.arange(steps + 1)
                totals += np.histogram(t, bins=edges, weights=q)[0]
        self.profile_ = totals / totals.sum() if totals.sum() > 0 else np.full(steps, 1 / steps)
        return self

    def act(self, obs, env, greedy: bool = True):
        if self.profile_ is None:
            raise RuntimeError("VWAPAgent: call fit(days, steps, step_seconds) first")
        t = env._t
        left = self.profile_[t:].sum()
        frac = 1.0 if t == env.steps - 1 or left <= 0 else self.profile_[t] / left
        return np.array([MARKET, frac]), {}


class FixedOffsetAgent:
    """A limit order ``ticks`` ticks from the near touch for each TWAP slice."""

    def __init__(self, ticks: int = 0):
        self.ticks = int(ticks)
        self.name = f"limit_{self.ticks:+d}t"

    def act(self, obs, env, greedy: bool = True):
        return np.array([env.ticks_to_bps(self.ticks)]), {}


class QuoteImprovingAgent:
    """Improve the near touch by one tick when the spread leaves room (``>= 2`` ticks), else join it.

    The improved quote is alone at the front of a new best level, so the next market order against our side
    fills it first; with a one-tick spread, improving would cross, so it joins the queue instead.
    """

    name = "improve_1t"

    def act(self, obs, env, greedy: bool = True):
        ticks = -1 if env.spread_ticks >= 2 else 0
        return np.array([env.ticks_to_bps(ticks)]), {"ticks": ticks}


def mlp(n_in: int, n_out: int, hidden: int = 64) -> nn.Sequential:
    """Two tanh hidden layers of ``hidden`` units: ``(B, n_in) -> (B, n_out)``; every head of the policies."""
    return nn.Sequential(nn.Linear(n_in, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                         nn.Linear(hidden, n_out))


class _Learned(nn.Module):
    """Shared parts: a value network and conversion from raw samples to env actions."""

    def __init__(self, hidden: int = 64):
        super().__init__()
        self.value = mlp(N_FEATURES, 1, hidden)

    @torch.no_grad()
    def act(self, obs, env, greedy: bool = True):
        raw = self.sample(torch.as_tensor(obs, dtype=torch.float32)[None], greedy)
        return self.to_env(raw, env)


class ContinuousPolicy(_Learned):
    """Gaussian over ``u``; the offset is ``scale_bps * u`` basis points from the near touch."""

    name = "continuous"

    def __init__(self, hidden: int = 64, scale_bps: float = 5.0):
        super().__init__(hidden)
        self.mean = mlp(N_FEATURES, 1, hidden)
        self.log_std = nn.Parameter(torch.zeros(1))
        self.scale_bps = scale_bps

    def distribution(self, obs, raw):
        dist = torch.distributions.Normal(self.mean(obs).squeeze(-1), self.log_std.exp())
        return dist.log_prob(raw[:, 0]), dist.entropy()

    def sample(self, obs, greedy: bool):
        mu = self.mean(obs).squeeze(-1)
        u = mu if greedy else torch.normal(mu, self.log_std.exp().expand_as(mu))
        return u[:, None]

    def to_env(self, raw, env):
        bps = float(raw[0, 0]) * self.scale_bps
        return np.array([bps]), {"offset_bps": bps, "ticks": bps / max(env.ticks_to_bps(1), 1e-9)}


class DiscretePolicy(_Learned):
    """Categorical over tick offsets ``-K..K`` from the near touch."""

    name = "discrete"

    def __init__(self, hidden: int = 64, max_ticks: int = 8):
        super().__init__(hidden)
        self.max_ticks = max_ticks
        self.logits = mlp(N_FEATURES, 2 * max_ticks + 1, hidden)

    def distribution(self, obs, raw):
        dist = torch.distributions.Categorical(logits=self.logits(obs))
        return dist.log_prob(raw[:, 0].long()), dist.entropy()

    def sample(self, obs, greedy: bool):
        logits = self.logits(obs)
        k = logits.argmax(-1) if greedy else torch.distributions.Categorical(logits=logits).sample()
        return k[:, None].float()

    def to_env(self, raw, env):
        ticks = int(raw[0, 0]) - self.max_ticks
        return np.array([env.ticks_to_bps(ticks)]), {"ticks": ticks}


class HybridPolicy(_Learned):
    """Continuous scoping (basis points) + discrete choice within ``2W+1`` ticks around it.

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

    name = "hybrid"
    anchor = 0.0
    scope_fraction = 0.0

    def __init__(self, hidden: int = 64, scale_bps: float = 5.0, window: int = 3, anchor: float | None = None,
                 scope_fraction: float | None = None):
        super().__init__(hidden)
        anchor = type(self).anchor if anchor is None else anchor
        scope_fraction = type(self).scope_fraction if scope_fraction is None else scope_fraction
        if not isinstance(window, int) or window < 0:
            raise ValueError(f"window: expected a non-negative integer (ticks each side of the centre), got {window!r}")
        if not isinstance(anchor, (int, float)) or not anchor >= 0:
            raise ValueError(f"anchor: expected a non-negative logit, got {anchor!r}")
        if not isinstance(scope_fraction, (int, float)) or not 0 <= scope_fraction <= 1:
            raise ValueError(f"scope_fraction: expected a fraction of training in [0, 1], got {scope_fraction!r}")
        self.scale_bps, self.window = scale_bps, window
        self.anchor, self.scope_fraction = float(anchor), float(scope_fraction)
        self.mean = mlp(N_FEATURES, 1, hidden)
        self.log_std = nn.Parameter(torch.zeros(1))
        self.logits = mlp(N_FEATURES + 1, 2 * window + 1, hidden)
        with torch.no_grad():
            self.logits[-1].bias[window] += self.anchor
        self.disc_entropy_weight = 1.0  # weight of the discrete head's entropy in the PPO bonus
        self.register_buffer("joint", torch.tensor(self.scope_fraction <= 0))

    def set_progress(self, fraction: float):
        """Training is ``fraction`` done: the joint phase starts at ``scope_fraction``."""
        self.joint.fill_(fraction >= self.scope_fraction)

    def scope(self, obs) -> torch.distributions.Normal:
        """The continuous head: a Gaussian over ``u`` ``(B,)``; the centre is ``scale_bps * u`` bps."""
        return torch.distributions.Normal(self.mean(obs).squeeze(-1), self.log_std.exp())

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

    def draw_u(self, obs, greedy: bool):
        """The continuous head's ``u`` ``(B,)``: its mean, or a sample."""
        mu = self.mean(obs).squeeze(-1)
        return mu if greedy else torch.normal(mu, self.log_std.exp().expand_as(mu))

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

    def centre_ticks(self, u: float, env) -> int:
        """The window's centre: ``scale_bps * u`` basis points from the near touch, rounded to ticks."""
        return int(round(u * self.scale_bps / max(env.ticks_to_bps(1), 1e-9)))

    def to_env(self, raw, env):
        bps = float(raw[0, 0]) * self.scale_bps
        centre = self.centre_ticks(float(raw[0, 0]), env)
        k = int(raw[0, 1]) - self.window
        ticks = centre + k
        return np.array([env.ticks_to_bps(ticks)]), {"offset_bps": bps, "centre": centre, "k": k, "ticks": ticks,
                                                    "window": (centre - self.window, centre + self.window)}
