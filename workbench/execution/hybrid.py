"""The shipped hybrid policy (HALOP, Pan et al. 2022, as the workbench trains it): a continuous scope, then a price.

:class:`HybridPolicy` places each TWAP-sized child order in two stages:

1. the **continuous head** (a Gaussian over ``u``, trained by PPO) scopes an offset of ``scale_bps * u`` basis
   points from the near touch, rounded to a centre tick ``c``;
2. the **fine-grained head** picks one of the ``2W+1`` prices ``c - W .. c + W`` ticks from the near touch. It
   has no logit per window position: one network scores each candidate price from the state, ``u`` and that
   price's own features :math:`\\phi_j` (its book features, its distance from the unrounded scope and the depth
   it would take from the other side; :mod:`~workbench.execution.candidates`),
   :math:`\\ell_j = g(s, u, \\phi_j)`, :math:`\\pi_d(j|s,u) = \\mathrm{softmax}_j\\,\\ell_j`. So it can only prefer
   prices for what they are, which carries over to stocks with other ticks.

The fine-grained head learns from every price of its window at once (**counterfactual training**): the replay
does not react to our orders, so each candidate's markout value over the step :math:`r_j` and the state it would
leave :math:`s'_j` are known exactly (:meth:`~workbench.execution.env.ExecutionEnv.what_if`). It ascends the
expected advantage over its window (mean actor-critic, Allen et al. 2017),

.. math:: \\mathcal L_d = -c\\,\\mathbb E_s \\sum_j \\pi_d(j|s,u)\\,\\hat A_j, \\quad
          A_j = Q_j - \\sum_i \\pi_d(i|s,u) Q_i, \\quad Q_j = r_j + V(s'_j)

(:math:`V(s'_j) = 0` after the last step; the critic ``V`` held fixed; ``A`` scaled by its batch std), through
:meth:`HybridPolicy.auxiliary_loss`, which :func:`~workbench.execution.ppo.train` adds to PPO's loss. PPO's ratio
is the continuous head's alone. It trains on the ``markout`` reward, the one the what-if values are.

How this design was found, and the variants it beat, are in :mod:`workbench.execution.research`.

Shapes: observations ``(B, N_FEATURES)``; raw actions ``(B, 2 + (2W+1) F)`` (``u``, the window index, each
candidate's ``F = 6`` features, so that PPO re-scores the candidates it saw), followed while training by
``(2W+1) + 1 + (2W+1) N_FEATURES`` numbers: the :math:`r_j`, a last-step flag and the :math:`s'_j`.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from workbench.execution.agents import LearnedPolicy, mlp
from workbench.execution.candidates import (
    N_CANDIDATE_FEATURES, candidate_features, opposite_depth_taken, scope_distance,
)
from workbench.execution.env import N_FEATURES

__all__ = ["HybridPolicy", "ScopedWindowPolicy", "price_scores", "window_outcomes", "counterfactual_loss"]


def price_scores(score: nn.Module, obs: torch.Tensor, u: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
    """One network ``score`` applied to every candidate: :math:`\\ell_j = g([s, u, \\phi_j])`.

    Shapes: ``obs (B, N_FEATURES)``, ``u (B,)``, ``feats (B, J, F)`` -> logits ``(B, J)``."""
    n, j, _ = feats.shape
    context = torch.cat([obs, u[:, None]], 1)[:, None, :].expand(n, j, -1)
    return score(torch.cat([context, feats], -1)).squeeze(-1)


def window_outcomes(env, centre: int, window: int) -> np.ndarray:
    """What each of the ``2W+1`` prices ``centre - W .. centre + W`` ticks from the near touch would do over this
    step, the episode unchanged: their markout values ``(2W+1,)``, a last-step flag ``(1,)`` and the next
    observations ``(2W+1) N_FEATURES``, concatenated, float32."""
    if env.reward_mode != "markout":
        raise ValueError(f"env.reward_mode: expected 'markout' (the what-if values are markouts), got "
                         f"{env.reward_mode!r}")
    offsets = [env.ticks_to_bps(centre + k) for k in range(-window, window + 1)]
    values, last, nxt = env.what_if(offsets)
    return np.concatenate([values, [float(last)], nxt.ravel()]).astype(np.float32)


def counterfactual_loss(probs: torch.Tensor, raw: torch.Tensor, value: nn.Module, cf_coef: float) -> torch.Tensor:
    """:math:`\\mathcal L_d` of the module docstring: ``cf_coef`` times minus the expected (std-scaled) advantage of
    the window under the fine-grained head's ``probs`` ``(B, J)``, from the :func:`window_outcomes` stored at the
    end of the raw actions ``raw (B, ...)``; ``value`` is the critic ``(B, J, N_FEATURES) -> (B, J, 1)``."""
    n = probs.shape[1]
    extra = raw[:, raw.shape[1] - n * (1 + N_FEATURES) - 1:]
    values, last = extra[:, :n], extra[:, n]
    nxt = extra[:, n + 1:].reshape(len(raw), n, N_FEATURES)
    with torch.no_grad():
        q = values + (1 - last)[:, None] * value(nxt).squeeze(-1)
    adv = q - (probs.detach() * q).sum(1, keepdim=True)
    adv = adv / (adv.std() + 1e-8)
    return -cf_coef * (probs * adv).sum(1).mean()


class ScopedWindowPolicy(LearnedPolicy):
    """What every hybrid shares: the continuous head, a Gaussian over ``u`` whose centre is ``scale_bps * u`` bps
    from the near touch rounded to a tick, and the order's price ``centre + k`` ticks for a window index
    ``k + W`` in ``0 .. 2W``. A subclass adds the fine-grained head (``sample``, ``distribution``).

    Args: ``hidden`` units of every head's two hidden layers; ``scale_bps``, the bps of ``u = 1``; ``window``,
    ``W``, candidate ticks each side of the centre. Raw actions start with ``[u, window index]``.
    """

    def __init__(self, hidden: int = 64, scale_bps: float = 5.0, window: int = 3):
        super().__init__(hidden)
        if not isinstance(window, int) or window < 0:
            raise ValueError(f"window: expected a non-negative integer (ticks each side of the centre), got {window!r}")
        if not isinstance(scale_bps, (int, float)) or not scale_bps > 0:
            raise ValueError(f"scale_bps: expected a positive number of basis points, got {scale_bps!r}")
        self.scale_bps, self.window = scale_bps, window
        self.mean = mlp(N_FEATURES, 1, hidden)
        self.log_std = nn.Parameter(torch.zeros(1))

    def scope(self, obs) -> torch.distributions.Normal:
        """The continuous head: a Gaussian over ``u`` ``(B,)``; the centre is ``scale_bps * u`` bps."""
        return torch.distributions.Normal(self.mean(obs).squeeze(-1), self.log_std.exp())

    def draw_u(self, obs, greedy: bool) -> torch.Tensor:
        """The continuous head's ``u`` ``(B,)``: its mean, or a sample."""
        mu = self.mean(obs).squeeze(-1)
        return mu if greedy else torch.normal(mu, self.log_std.exp().expand_as(mu))

    def centre_ticks(self, u: float, env) -> int:
        """The window's centre: ``scale_bps * u`` basis points from the near touch, rounded to ticks."""
        return int(round(u * self.scale_bps / max(env.ticks_to_bps(1), 1e-9)))

    def to_env(self, raw, env):
        """The env action (an offset in bps) and the decision's extras: ``offset_bps`` (the scope), ``centre``,
        ``k``, ``ticks = centre + k`` from the near touch and the ``window``."""
        bps = float(raw[0, 0]) * self.scale_bps
        centre = self.centre_ticks(float(raw[0, 0]), env)
        k = int(raw[0, 1]) - self.window
        ticks = centre + k
        return np.array([env.ticks_to_bps(ticks)]), {"offset_bps": bps, "centre": centre, "k": k, "ticks": ticks,
                                                    "window": (centre - self.window, centre + self.window)}


class HybridPolicy(ScopedWindowPolicy):
    """The shipped hybrid: a Gaussian scope in bps, then a price scored by its features (module docstring).

    Args:
        hidden, scale_bps, window: those of :class:`ScopedWindowPolicy` (the continuous head and the window).
        cf_coef: weight of the counterfactual loss of the fine-grained head.
        disc_entropy_weight: weight of the fine-grained head's entropy in PPO's entropy bonus.

    ``rollout`` and :meth:`act` bind the policy to the environment whose book its candidates read (:meth:`bind`).
    The buffer ``joint`` (always true here) is the training phase of the research variants, kept so that their
    state dicts and this one share a layout.
    """

    name = "hybrid"
    n_candidate_features = N_CANDIDATE_FEATURES + 2  # the book's, the distance from the scope, the depth taken

    def __init__(self, hidden: int = 64, scale_bps: float = 5.0, window: int = 3, cf_coef: float = 1.0,
                 disc_entropy_weight: float = 1.0):
        super().__init__(hidden, scale_bps, window)
        if not isinstance(cf_coef, (int, float)) or not cf_coef >= 0:
            raise ValueError(f"cf_coef: expected a non-negative weight, got {cf_coef!r}")
        if not isinstance(disc_entropy_weight, (int, float)) or not disc_entropy_weight >= 0:
            raise ValueError(f"disc_entropy_weight: expected a non-negative weight, got {disc_entropy_weight!r}")
        self.cf_coef, self.disc_entropy_weight = float(cf_coef), float(disc_entropy_weight)
        # the hybrid was found as a variant whose parents built two more heads here (a logit per window position
        # and a score of the book features); their initial draws are made and dropped, so that a seeded
        # HybridPolicy starts from, and trains to, exactly the weights of the hybrid as it was found
        mlp(N_FEATURES + 1, 2 * window + 1, hidden), nn.Linear(N_CANDIDATE_FEATURES, 16), nn.Linear(16, 1)
        self.price_score = mlp(N_FEATURES + 1 + self.n_candidate_features, 1, hidden)
        self.register_buffer("joint", torch.tensor(True))
        self._env = None

    def bind(self, env) -> None:
        """The environment whose book the next samples read (``rollout`` calls this)."""
        self._env = env

    def act(self, obs, env, greedy: bool = True):
        self.bind(env)
        return super().act(obs, env, greedy)

    def features(self, ticks: list[int], u: float) -> np.ndarray:
        """The candidates' features ``(len(ticks), 6)`` in the bound env's state, given the scoped ``u``: the book's
        (:func:`~workbench.execution.candidates.candidate_features`), the distance from ``scale_bps * u`` and the
        depth a crossing price takes."""
        env = self._env
        return np.concatenate([candidate_features(env, ticks), scope_distance(env, ticks, u, self.scale_bps)[:, None],
                               opposite_depth_taken(env, ticks)[:, None]], 1)

    def window_distribution(self, obs, raw) -> torch.distributions.Categorical:
        """The fine-grained head over the ``2W+1`` candidates whose features ``raw`` stores."""
        n, f = 2 * self.window + 1, self.n_candidate_features
        feats = raw[:, 2:2 + n * f].reshape(len(raw), n, f)
        return torch.distributions.Categorical(logits=price_scores(self.price_score, obs, raw[:, 0], feats))

    def distribution(self, obs, raw):
        """PPO's log-probability (the continuous head's alone) and entropy bonus (both heads') ``(B,)``."""
        cont = self.scope(obs)
        return cont.log_prob(raw[:, 0]), cont.entropy() + self.disc_entropy_weight * self.window_distribution(
            obs, raw).entropy()

    def sample(self, obs, greedy: bool) -> torch.Tensor:
        """Raw actions ``(1, ...)`` for one state of the bound env (module docstring's shapes)."""
        env = self._env
        if env is None or len(obs) != 1:
            raise RuntimeError("HybridPolicy.sample: bind(env) first; it samples one state of that env at a time")
        u = self.draw_u(obs, greedy)
        centre = self.centre_ticks(float(u[0]), env)
        ticks = [centre + k for k in range(-self.window, self.window + 1)]
        feats = torch.as_tensor(self.features(ticks, float(u[0])))[None]
        scores = price_scores(self.price_score, obs, u, feats)
        k = scores.argmax(-1) if greedy else torch.distributions.Categorical(logits=scores).sample()
        raw = torch.cat([torch.stack([u, k.float()], 1), feats.reshape(1, -1)], 1)
        if greedy:
            return raw
        outcomes = window_outcomes(env, self.centre_ticks(float(raw[0, 0]), env), self.window)
        return torch.cat([raw, torch.as_tensor(outcomes)[None]], 1)

    def auxiliary_loss(self, obs, raw, returns):
        """The counterfactual loss of the fine-grained head (:func:`counterfactual_loss`; ``returns`` unused)."""
        return counterfactual_loss(self.window_distribution(obs, raw).probs, raw, self.value, self.cf_coef)
