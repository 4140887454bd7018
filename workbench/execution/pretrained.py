"""Policies trained once by the workbench and shipped with it, for the explorer and the notebook.

``python -m workbench.execution.pretrained`` trains the continuous, discrete and hybrid policies with
the full run's setting (seed 0, weights selected on the validation days; :mod:`experiments`) and writes their weights (a few kB each) to
``workbench/execution/weights/``. :func:`load_policy` reads them back.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from workbench.execution.agents import LEARNED_AGENTS, make_policy

__all__ = ["WEIGHTS", "load_policy", "train_and_save"]

WEIGHTS = Path(__file__).resolve().parent / "weights"


def load_policy(name: str):
    """The shipped policy ``name`` (``continuous``, ``discrete``, ``hybrid``), in eval mode."""
    if name not in LEARNED_AGENTS:
        raise ValueError(f"name: expected one of {sorted(LEARNED_AGENTS)}, got {name!r}")
    path = WEIGHTS / f"{name}.pt"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `python -m workbench.execution.pretrained` to train it")
    policy = make_policy(name)
    policy.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return policy.eval()


def train_and_save(seed: int = 0, episodes: int | None = None, progress=None) -> dict[str, Path]:
    """Train every learned policy on the full run's training days and save the weights."""
    from workbench.execution.env import ExecutionEnv
    from workbench.execution.experiments import (
        FULL, STEP_SECONDS, STEPS, TRAIN_REWARD, TRAIN_STOCKS, VAL_METRIC, VAL_SECONDS, _episodes, parent_volume,
        synthetic_days,
    )
    from workbench.execution.ppo import PPOConfig, train

    days = [d for s in TRAIN_STOCKS for d in synthetic_days(s, range(FULL.train_days), FULL.day_seconds)]
    kw = dict(side=-1, volume=parent_volume, steps=STEPS, step_seconds=STEP_SECONDS)
    env = ExecutionEnv(days, **kw, reward=TRAIN_REWARD)
    val_days = [d for s in TRAIN_STOCKS for d in synthetic_days(s, range(50, 50 + FULL.val_days), VAL_SECONDS)]
    val_env = ExecutionEnv(val_days, **kw)
    val_eps = _episodes(val_env, FULL.val_starts)
    WEIGHTS.mkdir(exist_ok=True)
    out = {}
    for name in LEARNED_AGENTS:
        torch.manual_seed(seed)
        policy = make_policy(name)
        train(policy, env, PPOConfig(episodes=episodes or FULL.episodes), seed=seed, progress=progress,
              val_episodes=val_eps, val_env=val_env, val_metric=VAL_METRIC)
        out[name] = WEIGHTS / f"{name}.pt"
        torch.save(policy.state_dict(), out[name])
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m workbench.execution.pretrained", description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--episodes", type=int, default=None)
    args = p.parse_args(argv)
    for name, path in train_and_save(args.seed, args.episodes).items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
