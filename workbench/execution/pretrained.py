"""Policies trained once by the workbench and shipped with it, for the explorer and the notebook.

``python -m workbench.execution.pretrained`` trains the continuous, discrete and hybrid policies with
the full run's setting (seed 0, weights selected on the validation days; :mod:`experiments`) and writes their weights (a few kB each) to
``workbench/execution/weights/``. :func:`load_policy` reads them back.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from workbench.execution.learners import LEARNED_AGENTS, make_policy

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


def train_and_save(seed: int = 0, episodes: int | None = None, progress=None, names=None) -> dict[str, Path]:
    """Train the learned policies ``names`` (default all) on the full run's training days and save the weights."""
    from workbench.execution.experiments import FULL, TRAIN_STOCKS, TrainingSetup

    unknown = [n for n in names or () if n not in LEARNED_AGENTS]
    if unknown or isinstance(names, str):
        raise ValueError(f"names: expected a list from {sorted(LEARNED_AGENTS)}, got {names!r}")
    setup = TrainingSetup(FULL, TRAIN_STOCKS)
    WEIGHTS.mkdir(exist_ok=True)
    out = {}
    for name in names or LEARNED_AGENTS:
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
    p.add_argument("--only", default=None, help="comma-separated: continuous,discrete,hybrid (default all)")
    args = p.parse_args(argv)
    names = args.only.split(",") if args.only else None
    for name, path in train_and_save(args.seed, args.episodes, names=names).items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
