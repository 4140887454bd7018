"""Produce the files the repo ships for ``mesh_adaptation``: ``python -m workbench.mesh_adaptation.ship``.

Runs the full pipeline (:func:`~workbench.mesh_adaptation.experiments.reproduce`, Firedrake required),
saves the trained network to ``weights/e2n.pt`` (used by ``--quick`` and the page's live E2N runs) and one
``results/<case>.npz`` per test farm: all result rows, the uniform meshes and, for DWR and E2N, every
iteration of the run at ``--showcase`` target complexity (what the page shows without Firedrake).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
from importlib.metadata import version as _version
from pathlib import Path

import torch

from workbench.mesh_adaptation.experiments import (FULL, NETWORK_PATH, uniform_iteration, e2n_network, reproduce,
                                                   uniform_runs)
from workbench.mesh_adaptation.store import save_case

__all__ = ["main"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m workbench.mesh_adaptation.ship", description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--showcase", type=float, default=1000.0, help="target complexity whose meshes are stored")
    p.add_argument("--json", default=None, help="also write the report's JSON here")
    args = p.parse_args(argv)
    return ship(args.seed, args.showcase, args.json)


def ship(seed: int = 0, showcase: float = 1000.0, json_path=None, settings=None, results=None, network=None,
         runner=None) -> int:
    """Run and write the files (``settings``, ``results``, ``network``: overrides, for tests; ``runner``: where the
    full run's tasks run, :class:`~workbench.runner.Runner`, default a cached Dask LocalCluster).

    The result rows come from :func:`reproduce` (its tasks cached by the runner); the showcase meshes are
    computed again here, in this process, with the same network (the runs are deterministic)."""
    from tqdm import tqdm

    from workbench.mesh_adaptation.adaptation import adapt
    from workbench.mesh_adaptation.farm import CASES

    cfg = settings or FULL
    model, training = e2n_network(cfg, seed, tqdm, runner)
    report = reproduce(quick=False, seed=seed, progress=tqdm, settings=cfg, runner=runner, network=model)
    data = report.data
    data["training"] = training
    network = Path(network or NETWORK_PATH)
    network.parent.mkdir(exist_ok=True)
    torch.save(model.state_dict(), network)
    computed_with = (f"workbench.mesh_adaptation.ship, seed {seed}, firedrake {_version('firedrake')}, "
                     f"{platform.machine()}, {datetime.date.today().isoformat()}")
    for case in sorted({r["case"] for r in data["results"]}):
        uniform = uniform_runs(CASES[case], cfg.uniform_levels, cfg.uniform_h)
        stored = {"uniform": [uniform_iteration(problem, secs) for _, _, secs, problem in uniform]}
        for method in ("dwr", "e2n"):
            stored[method] = adapt(CASES[case], showcase, method, model=model, max_iterations=cfg.max_iterations,
                                   keep_fields=True).iterations
        meta = {"reference": data["reference"].get(case), "training": data["training"], "settings": data["settings"],
                "showcase_complexity": showcase, "computed_with": computed_with}
        rows = [r for r in data["results"] if r["case"] == case]
        print(save_case(case, rows, meta, stored, folder=results))
    if json_path:
        with open(json_path, "w") as f:
            json.dump(data, f, indent=1)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
