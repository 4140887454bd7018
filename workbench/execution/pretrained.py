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
    from workbench.execution.experiments import FULL, TRAIN_STOCKS, TrainingSetup

    setup = TrainingSetup(FULL, TRAIN_STOCKS)
    WEIGHTS.mkdir(exist_ok=True)
    out = {}
    for name in LEARNED_AGENTS:
        torch.manual_seed(seed)
        policy = make_policy(name)
        setup.train(policy, seed, episodes=episodes, progress=progress)
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
