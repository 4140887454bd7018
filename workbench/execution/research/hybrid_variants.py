"""Variants of the hybrid's fine-grained head, of how it learns and of how its training starts.

The first hybrid, :class:`~workbench.execution.research.first_hybrid.FirstHybridPolicy` (the variant ``hybrid_ppo``),
trains both heads with PPO on the joint log-probability; its categorical head settles on a near-constant shift of
the continuous centre, and it does not beat the continuous agent. Each variant changes one thing about that head,
about how it learns or about how its training starts:

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
  book features (:func:`~workbench.execution.candidates.candidate_features`): its logits are those of the first
  hybrid's head plus :math:`g(\\phi_j)` for candidate ``j``. It reads the book, so ``rollout`` binds it to the
  environment;
* :class:`HybridPricePolicy`: the categorical head has no logit per window position at all: one network scores
  each candidate price from the state, ``u`` and that price's features (its book features and its distance in
  bps from the continuous head's unrounded offset), :math:`\\ell_j = g(s, u, \\phi_j)`. It cannot learn a
  fixed shift of ``k`` ticks, which means a different price on every tick size; only preferences for prices
  by what they are (in the book, or in bps from the scoped offset), which carry over to new stocks;
* :class:`HybridCounterfactualPolicy`: the anchored head learns from every tick of its window at once: the replay
  does not react to our orders, so what each candidate price would have filled over the step, and the state it
  would have left, are known exactly (:meth:`~workbench.execution.env.ExecutionEnv.what_if`); the head follows
  the expected advantage over the window (mean actor-critic) instead of the sampled tick's noisy return;
* the shipped ``hybrid``, :class:`~workbench.execution.hybrid.HybridPolicy`, is the last step: the price-scoring
  head, with the shares each price would take from the other side as one more feature
  (:func:`~workbench.execution.candidates.opposite_depth_taken`), trained as the counterfactual one. It beats the
  continuous agent.

``workbench.execution.experiments.reproduce(only=[...])`` (``--only``) trains them beside the continuous agent.
Shapes: observations ``(B, N_FEATURES)``; raw actions ``(B, 2)`` (``(B, 2 + (2W+1) F)`` for the book and price
variants, which store each decision's candidate features with it, so that PPO re-scores the same candidates;
``(B, 2 + (2W+1)(1 + N_FEATURES) + 1)`` for the counterfactual one while it trains).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from workbench.execution.agents import mlp
from workbench.execution.candidates import N_CANDIDATE_FEATURES, candidate_features, scope_distance
from workbench.execution.env import N_FEATURES
from workbench.execution.hybrid import counterfactual_loss, price_scores, window_outcomes
from workbench.execution.research.first_hybrid import FirstHybridPolicy

__all__ = ["HybridAnchoredPolicy", "HybridStagedPolicy", "HybridEntropyPolicy", "HybridQPolicy", "HybridBookPolicy",
           "HybridPricePolicy", "CounterfactualTraining", "HybridCounterfactualPolicy", "VARIANTS"]


class HybridAnchoredPolicy(FirstHybridPolicy):
    """The first hybrid whose categorical head starts on the scoped tick (a logit ``anchor = 4`` on ``k = 0``)."""

    name = "hybrid_anchored"
    anchor = 4.0


class HybridStagedPolicy(FirstHybridPolicy):
    """The anchored hybrid trained scope first: the continuous head alone for half of training, then both."""

    name = "hybrid_staged"
    anchor = 4.0
    scope_fraction = 0.5


class HybridEntropyPolicy(FirstHybridPolicy):
    """The first hybrid with the discrete head's entropy weighted ``disc_entropy_weight`` times."""

    name = "hybrid_entropy"

    def __init__(self, disc_entropy_weight: float = 10.0, **kwargs):
        super().__init__(**kwargs)
        if not disc_entropy_weight >= 0:
            raise ValueError(f"disc_entropy_weight: expected a non-negative number, got {disc_entropy_weight!r}")
        self.disc_entropy_weight = float(disc_entropy_weight)


class HybridQPolicy(FirstHybridPolicy):
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


class HybridBookPolicy(FirstHybridPolicy):
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
        # dropped, so that the random draws before price_score's, and the research notes' figures, stay the same
        del self.logits, self.candidate_score
        self.price_score = mlp(N_FEATURES + 1 + self.n_candidate_features, 1, hidden)

    def _logits(self, obs, u, feats):
        return price_scores(self.price_score, obs, u, feats)

    def features(self, ticks: list[int], u: float) -> np.ndarray:
        """:func:`~workbench.execution.candidates.candidate_features`, then each price's distance in bps from
        ``scale * u``, / ``scale`` (:func:`~workbench.execution.candidates.scope_distance`)."""
        return np.concatenate([candidate_features(self._env, ticks),
                               scope_distance(self._env, ticks, u, self.scale_bps)[:, None]], 1)


class CounterfactualTraining:
    """Mixin for a hybrid whose fine-grained head learns from what every tick of its window would have done.

    The replay does not react to our orders, so the step's outcome for each of the ``2W+1`` candidate prices is
    known exactly (:meth:`~workbench.execution.env.ExecutionEnv.what_if`,
    :func:`~workbench.execution.hybrid.window_outcomes`): its markout value :math:`r_j` and the
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
        outcomes = window_outcomes(self._env, self.centre_ticks(float(raw[0, 0]), self._env), self.window)
        return torch.cat([raw, torch.as_tensor(outcomes)[None]], 1)

    def auxiliary_loss(self, obs, raw, returns):
        """``cf_coef`` times minus the expected (std-scaled) advantage of the window under the discrete head
        (:func:`~workbench.execution.hybrid.counterfactual_loss`)."""
        return counterfactual_loss(self.window_distribution(obs, raw).probs, raw, self.value, self.cf_coef)


class HybridCounterfactualPolicy(CounterfactualTraining, FirstHybridPolicy):
    """The first hybrid's head, anchored (``anchor = 4``), trained by :class:`CounterfactualTraining`."""

    name = "hybrid_counterfactual"
    anchor = 4.0


VARIANTS = {c.name: c for c in (FirstHybridPolicy, HybridAnchoredPolicy, HybridStagedPolicy, HybridEntropyPolicy,
                                HybridQPolicy, HybridBookPolicy, HybridPricePolicy, HybridCounterfactualPolicy)}
