"""Execution agents: schedule baselines and the continuous and discrete learned price-placement policies.

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
* :class:`DiscretePolicy`: a categorical policy over tick offsets ``-K..K`` from the near touch.

The third learned policy, the hybrid (HALOP, Pan et al. 2022), is :class:`~workbench.execution.hybrid.HybridPolicy`;
the variants it was found among are in :mod:`workbench.execution.research`.

Shapes: observations ``(B, N_FEATURES)``; the learned policies' ``distribution`` returns per-sample
log-probabilities ``(B,)``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from workbench.execution.env import MARKET, N_FEATURES

__all__ = ["TWAPAgent", "VWAPAgent", "FixedOffsetAgent", "QuoteImprovingAgent", "LearnedPolicy", "ContinuousPolicy",
           "DiscretePolicy", "mlp"]


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
        t = env.steps_done
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


class LearnedPolicy(nn.Module):
    """The base of the learned policies: a value network ``value`` ``(B, N_FEATURES) -> (B, 1)`` (PPO's critic) and
    :meth:`act`, the env action of one greedy or sampled raw action.

    A subclass defines ``sample(obs, greedy) -> raw (B, ...)``, ``distribution(obs, raw) -> (log-probability (B,),
    entropy (B,))`` and ``to_env(raw, env) -> (env action, extras)``."""

    def __init__(self, hidden: int = 64):
        super().__init__()
        self.value = mlp(N_FEATURES, 1, hidden)

    @torch.no_grad()
    def act(self, obs, env, greedy: bool = True):
        raw = self.sample(torch.as_tensor(obs, dtype=torch.float32)[None], greedy)
        return self.to_env(raw, env)


class ContinuousPolicy(LearnedPolicy):
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


class DiscretePolicy(LearnedPolicy):
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
