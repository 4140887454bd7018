"""Proximal policy optimisation (Schulman et al., 2017) for the execution policies in :mod:`agents`.

Episodes are short (``env.steps`` decisions), so each update collects ``batch_episodes`` whole
episodes, computes generalised advantages (:math:`\\gamma = 1`, :math:`\\lambda = 0.95`) with the
policy's value network, normalises them, and takes ``epochs`` full-batch steps on

.. math::  L = -\\mathbb E\\big[\\min(\\rho A, \\mathrm{clip}(\\rho, 1-\\epsilon, 1+\\epsilon) A)\\big]
           + c_v \\mathbb E[(V - R)^2] - c_e \\mathbb E[H],

with :math:`\\rho` the ratio of new to old (joint, for the hybrid) action probabilities; a policy with an
``auxiliary_loss(observations, raw actions, lambda-returns)`` adds it to :math:`L`; one with
``set_progress(fraction)`` is told, before each update, the fraction of the episodes already trained.
``train`` returns the learning curve: after every ``eval_every`` episodes, the greedy policy's mean
implementation shortfall on fixed evaluation episodes (sample efficiency).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

__all__ = ["PPOConfig", "train", "evaluate", "rollout"]


@dataclass
class PPOConfig:
    """PPO hyper-parameters."""

    episodes: int = 3000
    batch_episodes: int = 32
    epochs: int = 4
    lr: float = 3e-3
    clip: float = 0.2
    lam: float = 0.95
    value_coef: float = 0.5
    entropy_coef: float = 0.003
    max_grad_norm: float = 1.0
    eval_every: int = 320


@dataclass
class Curve:
    """Sample-efficiency curve: training episodes seen -> evaluation shortfall (bps)."""

    episodes: list[int] = field(default_factory=list)
    shortfall_bps: list[float] = field(default_factory=list)
    val_cost_bps: list[float] = field(default_factory=list)  # the validation score (``val_metric``)
    selected_at: int | None = None  # training episodes of the weights kept (validation early stopping)


def rollout(agent, env, *, greedy: bool, seed: int | None = None, options: dict | None = None):
    """One episode; returns ``(observations, raw actions, rewards, final info)`` (raw only for learned agents)."""
    obs, _ = env.reset(seed=seed, options=options)
    if hasattr(agent, "bind"):  # a policy that reads the book beyond the observation
        agent.bind(env)
    observations, raws, rewards = [], [], []
    info: dict = {}
    done = False
    while not done:
        if hasattr(agent, "sample"):
            with torch.no_grad():
                raw = agent.sample(torch.as_tensor(obs, dtype=torch.float32)[None], greedy)
            action, extras = agent.to_env(raw, env)
            raws.append(raw[0])
        else:
            action, extras = agent.act(obs, env, greedy)
        observations.append(obs)
        obs, reward, done, _, info = env.step(action, extras)
        rewards.append(reward)
    return observations, raws, rewards, info


def evaluate(agent, env, episodes: list[dict]) -> list[dict]:
    """Greedy episodes at fixed ``options`` (day, start); returns each episode's final metrics."""
    return [rollout(agent, env, greedy=True, options=o)[3] for o in episodes]


def _advantages(rewards: list[float], values: np.ndarray, lam: float):
    adv, last = np.zeros(len(rewards)), 0.0
    for t in reversed(range(len(rewards))):
        nxt = values[t + 1] if t + 1 < len(rewards) else 0.0
        delta = rewards[t] + nxt - values[t]
        last = delta + lam * last
        adv[t] = last
    return adv, adv + values


def train(policy, env, config: PPOConfig | None = None, *, seed: int = 0, eval_episodes: list[dict] | None = None,
          eval_env=None, val_episodes: list[dict] | None = None, val_env=None, val_metric: str = "shortfall_bps",
          progress: Callable | None = None) -> Curve:
    """Train ``policy`` in place on ``env``; returns the evaluation curve: the greedy policy's mean shortfall on
    ``eval_episodes`` (options for ``eval_env``, default ``env``); empty without ``eval_episodes``.

    With ``val_episodes`` (options for ``val_env``), the greedy policy is also scored on them at every
    evaluation point (the mean of the episodes' ``val_metric``, a cost in the env's final ``info``), and the
    weights with the lowest score are restored at the end (early stopping on a validation set, as execution RL
    is usually selected; keep it disjoint from test days).
    """
    if not isinstance(val_metric, str):
        raise TypeError(f"val_metric: expected the name of a cost in the env's info, got {val_metric!r}")
    import copy

    eval_env = env if eval_env is None else eval_env
    val_env = env if val_env is None else val_env
    best = [float("inf"), None]
    cfg = config or PPOConfig()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(policy.parameters(), lr=cfg.lr)
    curve = Curve()

    last = [None]  # training episodes at the last evaluation point

    def record(seen):
        last[0] = seen
        if eval_episodes:
            curve.episodes.append(seen)
            curve.shortfall_bps.append(float(np.mean([m["shortfall_bps"]
                                                      for m in evaluate(policy, eval_env, eval_episodes)])))
        if val_episodes:
            scored = evaluate(policy, val_env, val_episodes)
            if val_metric not in scored[0]:
                raise ValueError(f"val_metric: expected a key of the env's final info {sorted(scored[0])}, "
                                 f"got {val_metric!r}")
            score = float(np.mean([m[val_metric] for m in scored]))
            curve.val_cost_bps.append(score)
            if score < best[0]:
                best[0], best[1] = score, copy.deepcopy(policy.state_dict())
                curve.selected_at = seen

    record(0)
    n_updates = max(1, cfg.episodes // cfg.batch_episodes)
    updates = range(n_updates)
    if progress is not None:
        updates = progress(updates, total=n_updates, desc=f"PPO {getattr(policy, 'name', '')}")
    seen = 0
    for _ in updates:
        if hasattr(policy, "set_progress"):  # a policy whose training has phases (the hybrid: scope, then joint)
            policy.set_progress(seen / cfg.episodes)
        obs_b, raw_b, adv_b, ret_b = [], [], [], []
        for _ in range(cfg.batch_episodes):
            obs, raws, rewards, _ = rollout(policy, env, greedy=False, seed=int(rng.integers(2**31)))
            o = torch.as_tensor(np.stack(obs), dtype=torch.float32)
            with torch.no_grad():
                v = policy.value(o).squeeze(-1).numpy()
            adv, ret = _advantages(rewards, v, cfg.lam)
            obs_b.append(o)
            raw_b.append(torch.stack(raws))
            adv_b.append(adv)
            ret_b.append(ret)
        obs_t, raw_t = torch.cat(obs_b), torch.cat(raw_b)
        adv_t = torch.as_tensor(np.concatenate(adv_b), dtype=torch.float32)
        ret_t = torch.as_tensor(np.concatenate(ret_b), dtype=torch.float32)
        adv_t = (adv_t - adv_t.mean()) / (adv_t.std() + 1e-8)
        with torch.no_grad():
            old_logp, _ = policy.distribution(obs_t, raw_t)
        for _ in range(cfg.epochs):
            logp, entropy = policy.distribution(obs_t, raw_t)
            ratio = (logp - old_logp).exp()
            pg = -torch.min(ratio * adv_t, ratio.clamp(1 - cfg.clip, 1 + cfg.clip) * adv_t).mean()
            vloss = (policy.value(obs_t).squeeze(-1) - ret_t).pow(2).mean()
            loss = pg + cfg.value_coef * vloss - cfg.entropy_coef * entropy.mean()
            if hasattr(policy, "auxiliary_loss"):  # a head trained beside PPO's (e.g. a Q-network on the returns)
                loss = loss + policy.auxiliary_loss(obs_t, raw_t, ret_t)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(policy.parameters(), cfg.max_grad_norm)
            opt.step()
        before = seen
        seen += cfg.batch_episodes
        if seen // cfg.eval_every > before // cfg.eval_every:
            record(seen)
    if (eval_episodes or val_episodes) and last[0] != seen:
        record(seen)
    if best[1] is not None:
        policy.load_state_dict(best[1])
    return curve
