"""Produce the files the repo ships for ``execution``: ``python -m workbench.execution.ship [--workers N]``.

Runs the full reproduce (:data:`~workbench.execution.experiments.FULL`: the baselines, then the continuous,
discrete and hybrid learners, seeds 0-4, one task each on the runner: a Dask ``LocalCluster`` by default, every
finished task cached under ``WORKBENCH_CACHE``, so an interrupted run resumes), then, per learner, ships the seed
whose kept weights have the lowest validation cost (the markout cost on the validation days, which never serve as
test days): ``weights/<name>.pt``, read back by :func:`~workbench.execution.policies.load_policy`. It prints the
seed chosen and its score, and writes the full run's JSON (the source of ``docs/execution.md``'s tables,
``python -m workbench.results_pages``) to ``docs/results/execution.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from workbench.execution.experiments import FULL, LEARNERS, TASK_VERSION, Setting, reproduce, tasks
from workbench.execution.policies import WEIGHTS, policy_from_params
from workbench.runner import Runner, cached_results

__all__ = ["RESULTS_JSON", "best_seeds", "ship", "main"]

RESULTS_JSON = Path(__file__).resolve().parents[2] / "docs" / "results" / "execution.json"


def best_seeds(results: list[dict], names: list[str], seeds: list[int]) -> dict[str, tuple[int, float]]:
    """Per learner, ``(seed, validation cost in bps)`` of the seed with the lowest ``val_cost_bps`` (the first such
    seed on a tie). ``results``: the learner tasks' results in :func:`~workbench.execution.experiments.tasks`'
    order (learner-major, then seed)."""
    if len(results) != len(names) * len(seeds):
        raise ValueError(f"results: expected {len(names) * len(seeds)} learner results ({len(names)} learners x "
                         f"{len(seeds)} seeds), got {len(results)}")
    out = {}
    for a, name in enumerate(names):
        scores = [(results[a * len(seeds) + k]["val_cost_bps"], k) for k in range(len(seeds))]
        score, k = min(scores)
        out[name] = (seeds[k], float(score))
    return out


def ship(settings: Setting | None = None, runner: Runner | None = None, seed: int = 0, weights: Path = WEIGHTS,
         json_path: Path | None = RESULTS_JSON, progress=None) -> dict[str, tuple[int, float]]:
    """Run the full reproduce on ``runner`` (default: a cached Dask ``LocalCluster``), write each shipped learner's
    best seed to ``weights/<name>.pt`` and the report's JSON to ``json_path`` (``None``: not written); returns
    :func:`best_seeds`. ``settings``: overrides :data:`~workbench.execution.experiments.FULL` (for tests)."""
    cfg = settings or FULL
    runner = runner or Runner()
    if not runner.cache:
        raise ValueError("runner: expected a caching Runner (the weights are read back from the run's finished "
                         "tasks), got cache=False")
    report = reproduce(seed=seed, progress=progress, settings=cfg, runner=runner)
    names, seeds = list(LEARNERS), report.data["setting"]["seeds"]
    grid = tasks(cfg, names, seeds)[1:]
    learned = cached_results("execution", grid, TASK_VERSION, runner.cache_dir)  # reproduce has just cached them
    missing = [t.describe() for t, r in zip(grid, learned) if r is None]
    if missing:
        raise RuntimeError(f"the run's cache lacks finished learner tasks: {missing}")
    chosen = best_seeds(learned, names, seeds)
    weights = Path(weights)
    weights.mkdir(parents=True, exist_ok=True)
    for a, name in enumerate(names):
        s, score = chosen[name]
        policy = policy_from_params(name, learned[a * len(seeds) + seeds.index(s)]["weights"])
        torch.save(policy.state_dict(), weights / f"{name}.pt")
        others = ", ".join(f"{seeds[k]}: {learned[a * len(seeds) + k]['val_cost_bps']:.3f}" for k in range(len(seeds)))
        print(f"{name}: shipped seed {s} (validation cost {score:.3f} bps; seeds {others}) -> {weights / name}.pt")
    if json_path is not None:
        json_path = Path(json_path)
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(report.to_json(indent=1) + "\n")
        print(f"full run's JSON: {json_path}")
    print(report)
    return chosen


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m workbench.execution.ship", description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=None,
                   help="processes of the local Dask cluster (default: one per core; 0: in this process)")
    p.add_argument("--scheduler", default=None, help="a running Dask scheduler, tcp://HOST:PORT")
    p.add_argument("--fresh", action="store_true", help="recompute every task instead of reading the cache")
    p.add_argument("--seed", type=int, default=0, help="the first of the run's seeds")
    p.add_argument("--json", default=str(RESULTS_JSON), help="where the full run's JSON goes ('' : nowhere)")
    args = p.parse_args(argv)
    from tqdm.auto import tqdm

    try:
        runner = Runner(workers=args.workers, scheduler=args.scheduler, fresh=args.fresh)
    except ValueError as e:
        p.error(str(e))
    ship(runner=runner, seed=args.seed, json_path=args.json or None, progress=tqdm)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
