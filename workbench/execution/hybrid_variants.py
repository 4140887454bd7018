"""Variants of the hybrid's fine-grained head, of how it learns and of how its training starts, and the shipped hybrid.

The first hybrid, :class:`~workbench.execution.agents.HybridPolicy` (the variant ``hybrid_ppo``), trains both heads
with PPO on the joint log-probability; its categorical head settles on a near-constant shift of the continuous
centre, and it does not beat the continuous agent. Each variant changes one thing about that head, about how it
learns or about how its training starts:

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
  book features (:func:`candidate_features`): its logits are those of the first hybrid's head plus
  :math:`g(\\phi_j)` for candidate ``j``. It reads the book, so ``rollout`` binds it to the environment;
* :class:`HybridPricePolicy`: the categorical head has no logit per window position at all: one network scores
  each candidate price from the state, ``u`` and that price's features (its book features and its distance in
  bps from the continuous head's unrounded offset), :math:`\\ell_j = g(s, u, \\phi_j)`. It cannot learn a
  fixed shift of ``k`` ticks, which means a different price on every tick size; only preferences for prices
  by what they are (in the book, or in bps from the scoped offset), which carry over to new stocks;
* :class:`HybridCounterfactualPolicy`: the anchored head learns from every tick of its window at once: the replay
  does not react to our orders, so what each candidate price would have filled over the step, and the state it
  would have left, are known exactly (:meth:`~workbench.execution.env.ExecutionEnv.what_if`); the head follows
  the expected advantage over the window (mean actor-critic) instead of the sampled tick's noisy return;
* :class:`HybridPriceCounterfactualPolicy`, the shipped ``hybrid`` (:mod:`~workbench.execution.learners`): the
  price-scoring head, with the shares each price would take from the other side as one more feature, trained as
  the counterfactual one. It beats the continuous agent.

``workbench.execution.experiments.reproduce(only=[...])`` (``--only``) trains them beside the continuous agent.
Shapes: observations ``(B, N_FEATURES)``; raw actions ``(B, 2)`` (``(B, 2 + (2W+1) F)`` for the book and price
variants, which store each decision's candidate features with it, so that PPO re-scores the same candidates;
``(B, 2 + (2W+1)(1 + N_FEATURES) + 1)`` for the counterfactual one while it trains).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn

from workbench.execution.agents import HybridPolicy, mlp
from workbench.execution.env import N_FEATURES

__all__ = ["HybridAnchoredPolicy", "HybridStagedPolicy", "HybridEntropyPolicy", "HybridQPolicy", "HybridBookPolicy",
           "HybridPricePolicy", "CounterfactualTraining", "HybridCounterfactualPolicy",
           "HybridPriceCounterfactualPolicy", "HybridPPOPolicy", "candidate_features", "opposite_depth_taken",
           "N_CANDIDATE_FEATURES", "VARIANTS"]

N_CANDIDATE_FEATURES = 4


class HybridAnchoredPolicy(HybridPolicy):
    """The first hybrid whose categorical head starts on the scoped tick (a logit ``anchor = 4`` on ``k = 0``)."""

    name = "hybrid_anchored"
    anchor = 4.0


class HybridStagedPolicy(HybridPolicy):
    """The anchored hybrid trained scope first: the continuous head alone for half of training, then both."""

    name = "hybrid_staged"
    anchor = 4.0
    scope_fraction = 0.5


class HybridEntropyPolicy(HybridPolicy):
    """The first hybrid with the discrete head's entropy weighted ``disc_entropy_weight`` times."""

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
    """The first hybrid whose discrete logits add a score of each candidate price's book features."""

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
        n = 2 * self.window + 1
        feats = raw[:, 2:2 + n * self.n_candidate_features].reshape(len(raw), n, self.n_candidate_features)
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
        # no per-position logits: every candidate is scored by price_score. The parent's heads are built, then
        # dropped, so that the random draws before price_score's, and the README's trained figures, stay the same
        del self.logits, self.candidate_score
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


class CounterfactualTraining:
    """Mixin for a hybrid whose fine-grained head learns from what every tick of its window would have done.

    The replay does not react to our orders, so the step's outcome for each of the ``2W+1`` candidate prices is
    known exactly (:meth:`~workbench.execution.env.ExecutionEnv.what_if`): its markout value :math:`r_j` and the
    next state :math:`s'_j`. The head ascends the expected advantage over its window (mean actor-critic, Allen et
    al. 2017), :math:`\\mathcal L_d = -c\\,\\mathbb E_s \\sum_j \\pi_d(j|s,u)\\,\\hat A_j`,
    :math:`A_j = Q_j - \\sum_i \\pi_d(i|s,u) Q_i`, :math:`Q_j = r_j + V(s'_j)` (0 after the last step), with the
    critic ``V`` held fixed and ``A`` scaled by its batch std (through :meth:`auxiliary_loss`); PPO's ratio is the
    continuous head's alone, whose advantages come from the trajectory actually sampled, as for ``hybrid_ppo``.
    While training, each raw action ends with ``(2W+1) + 1 + (2W+1) N_FEATURES`` numbers: the
    :math:`r_j`, a last-step flag and the :math:`s'_j`; greedy raw actions are the base policy's.
    """

    def __init__(self, cf_coef: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(cf_coef, (int, float)) or not cf_coef >= 0:
            raise ValueError(f"cf_coef: expected a non-negative weight, got {cf_coef!r}")
        self.cf_coef = float(cf_coef)
        self._env = getattr(self, "_env", None)

    def bind(self, env):
        """The environment whose step the next training samples evaluate (``rollout`` calls this)."""
        self._env = env

    def distribution(self, obs, raw):
        cont = self.scope(obs)
        return cont.log_prob(raw[:, 0]), cont.entropy() + self.disc_entropy_weight * self.window_distribution(
            obs, raw).entropy()

    def sample(self, obs, greedy: bool):
        if not greedy and (self._env is None or len(obs) != 1):
            raise RuntimeError(f"{type(self).__name__}.sample: bind(env) first; it samples one state at a time")
        raw = super().sample(obs, greedy)
        if greedy:
            return raw
        if self._env.reward_mode != "markout":
            raise ValueError(f"env.reward_mode: expected 'markout' (the what-if values are markouts), got "
                             f"{self._env.reward_mode!r}")
        centre = self.centre_ticks(float(raw[0, 0]), self._env)
        offsets = [self._env.ticks_to_bps(centre + k) for k in range(-self.window, self.window + 1)]
        values, last, nxt = self._env.what_if(offsets)
        extra = np.concatenate([values, [float(last)], nxt.ravel()]).astype(np.float32)
        return torch.cat([raw, torch.as_tensor(extra)[None]], 1)

    def auxiliary_loss(self, obs, raw, returns):
        """``cf_coef`` times minus the expected (std-scaled) advantage of the window under the discrete head."""
        n = 2 * self.window + 1
        extra = raw[:, raw.shape[1] - n * (1 + N_FEATURES) - 1:]
        values, last = extra[:, :n], extra[:, n]
        nxt = extra[:, n + 1:].reshape(len(raw), n, N_FEATURES)
        with torch.no_grad():
            q = values + (1 - last)[:, None] * self.value(nxt).squeeze(-1)
        probs = self.window_distribution(obs, raw).probs
        adv = q - (probs.detach() * q).sum(1, keepdim=True)
        adv = adv / (adv.std() + 1e-8)
        return -self.cf_coef * (probs * adv).sum(1).mean()


class HybridCounterfactualPolicy(CounterfactualTraining, HybridPolicy):
    """The first hybrid's head, anchored (``anchor = 4``), trained by :class:`CounterfactualTraining`."""

    name = "hybrid_counterfactual"
    anchor = 4.0


def opposite_depth_taken(env, ticks) -> np.ndarray:
    """Shares each candidate price would take at once from the opposite side (all of its visible levels at or
    better than the price), as :math:`\\log(1 + q / \\mathrm{slice}) / 5`, ``(len(ticks),)``: how deep a crossing
    order sweeps, which the book features do not say."""
    d, i, side = env.day, env._i, env.side
    prices = env.near_touch - side * np.asarray(ticks, dtype=np.int64) * env.tick
    slice_ = max(1.0, env._remaining / max(1, env.steps - env._t))
    opp_prices, opp_sizes = d.side_levels(i, -side)
    taken = [opp_sizes[opp_prices >= p].sum() if side == -1 else opp_sizes[opp_prices <= p].sum()
             for p in prices.tolist()]
    return (np.log1p(np.asarray(taken, dtype=np.float64) / slice_) / 5).astype(np.float32)


class HybridPriceCounterfactualPolicy(CounterfactualTraining, HybridPricePolicy):
    """The shipped hybrid (``hybrid``; :mod:`~workbench.execution.learners`): the price-scoring head, each candidate
    scored by its features (which add :func:`opposite_depth_taken`), trained by :class:`CounterfactualTraining`
    (no anchor: the head has no per-position logit to put it on)."""

    name = "hybrid"
    n_candidate_features = HybridPricePolicy.n_candidate_features + 1

    def features(self, ticks: list[int], u: float) -> np.ndarray:
        return np.concatenate([super().features(ticks, u), opposite_depth_taken(self._env, ticks)[:, None]], 1)


class HybridPPOPolicy(HybridPolicy):
    """The hybrid as first shipped: both heads trained from scratch by PPO on the joint log-probability."""

    name = "hybrid_ppo"


VARIANTS = {c.name: c for c in (HybridPPOPolicy, HybridAnchoredPolicy, HybridStagedPolicy, HybridEntropyPolicy,
                                HybridQPolicy, HybridBookPolicy, HybridPricePolicy, HybridCounterfactualPolicy)}
