"""Reproduce E2N's claim: goal-oriented adaptation (DWR or the network) beats uniform refinement, and the
network makes the error-estimation step much cheaper at the same accuracy.

For each test farm (``aligned``, ``offset``; :mod:`farm`) the farm power is computed on:

* **uniform** refinement of the quasi-uniform 20 m initial mesh (``MeshHierarchy``);
* **dwr**: the fixed-point loop with the enriched-adjoint DWR indicators, at a ladder of target complexities;
* **e2n**: the same loop with the network's indicators (no enriched space).

The uniform curve starts from a 40 m mesh (so that it spans the DoFs of the adaptive runs, which start from
the 20 m mesh as in the paper). The QoI error is relative to the power on that mesh refined uniformly
``reference_level`` times (four in the full run, about a million DoFs: the paper also takes its finest
uniform mesh as the reference), one level finer than any uniform mesh compared; a DWR run at
``check_complexity`` cross-checks it. E2N is trained first on the DWR indicators of random training farms
(``training_case``), three adaptation iterations each at complexity 4,000, as in the paper; ``--quick``
uses the small network the repo ships instead (trained by the full pipeline).

Without Firedrake, ``reproduce`` returns the results the pipeline produced and the repo ships
(:mod:`store`), with ``"firedrake": false``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, asdict
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from workbench.mesh_adaptation.farm import CASES, training_case
from workbench.mesh_adaptation.firedrake_support import INSTALL_HINT, firedrake_available
from workbench.report import Report
from workbench.runner import Runner, Task, require_complete

__all__ = ["markdown_tables", "Settings", "QUICK", "FULL", "TASK_VERSION", "reproduce", "tasks", "e2n_network",
           "training_farm_task", "reference_task", "adapt_task", "network_params", "network_from_params",
           "uniform_advantage", "training_data", "train_network", "load_network", "NETWORK_PATH", "uniform_runs",
           "uniform_iteration"]

NETWORK_PATH = Path(__file__).resolve().parent / "weights" / "e2n.pt"
TITLE = "E2N: error-estimation networks for goal-oriented mesh adaptation (Wallwork et al., 2022)"


@dataclass(frozen=True)
class Settings:
    cases: tuple[str, ...]
    uniform_levels: int  # refinements of the uniform curve's coarsest mesh (0..levels)
    targets: tuple[float, ...]  # target complexities of the adaptation runs
    reference_level: int  # uniform refinements of the initial mesh for the reference QoI (the paper's choice)
    check_complexity: float  # a DWR run at this complexity cross-checks the reference
    training_cases: tuple[int, ...]
    training_complexity: float = 4000.0
    training_iterations: int = 3
    epochs: int = 300
    max_iterations: int = 8
    uniform_h: float = 40.0  # element size (m) of the uniform curve's coarsest mesh: twice the initial mesh's,
    # so that the uniform curve spans the DoFs of the adaptive runs


QUICK = Settings(cases=("aligned",), uniform_levels=2, targets=(500.0,), reference_level=3, check_complexity=0.0,
                 training_cases=(), max_iterations=8)
FULL = Settings(cases=("aligned", "offset"), uniform_levels=3, targets=(250.0, 500.0, 1000.0, 2000.0, 4000.0),
                reference_level=4, check_complexity=16000.0, training_cases=tuple(range(1, 31)))


def uniform_runs(case, levels: int, h: float = 40.0):
    """QoI on a quasi-uniform mesh of size ``h`` and ``levels`` uniform refinements of it:
    list of ``(dofs, qoi, seconds, problem)``."""
    from workbench.mesh_adaptation.mesh_conversion import to_firedrake
    from workbench.mesh_adaptation.remeshing import uniform_channel_mesh
    from workbench.mesh_adaptation.solver import ShallowWaterProblem
    from workbench.mesh_adaptation.firedrake_support import require_firedrake

    fd = require_firedrake()
    t0 = time.perf_counter()
    hierarchy = fd.MeshHierarchy(to_firedrake(uniform_channel_mesh(h)), levels)
    build = time.perf_counter() - t0
    out = []
    for mesh in hierarchy:
        t0 = time.perf_counter()
        p = ShallowWaterProblem(mesh, case)
        p.solve()
        out.append((int(p.W.dim()), p.qoi(), time.perf_counter() - t0 + build / len(hierarchy), p))
    return out


def uniform_iteration(problem, seconds: float):
    """A solved uniform mesh as an adaptation :class:`~workbench.mesh_adaptation.adaptation.Iteration` (what the
    shipped results store for the uniform curve)."""
    from workbench.mesh_adaptation.adaptation import Iteration, _speed_at_vertices
    from workbench.mesh_adaptation.mesh_conversion import from_firedrake

    return Iteration(from_firedrake(problem.mesh), int(problem.W.dim()), problem.qoi(), float("nan"),
                     {"forward": seconds}, None, _speed_at_vertices(problem))


def training_data(cases, complexity: float = 4000.0, iterations: int = 3, progress: Callable | None = None):
    """Features and DWR indicators from ``iterations`` adaptation steps on each random training farm."""
    from workbench.mesh_adaptation.adaptation import adapt

    xs, ys = [], []
    it = progress(cases, total=len(cases), desc="training farms") if progress else cases
    for i in it:
        run = adapt(training_case(int(i)), complexity, "dwr", max_iterations=iterations, min_iterations=iterations,
                    keep_fields=False, collect_features=True)
        for step in run.iterations:
            xs.append(step.features)
            ys.append(step.indicators)
    return np.concatenate(xs), np.concatenate(ys)


def train_network(features, targets, seed: int = 0, epochs: int = 300, progress: Callable | None = None):
    from workbench.mesh_adaptation.network import train_e2n

    return train_e2n(features, targets, epochs=epochs, seed=seed, progress=progress)


def load_network():
    """The network the repo ships (trained by ``python -m workbench.mesh_adaptation.ship``)."""
    from workbench.mesh_adaptation.features import N_FEATURES
    from workbench.mesh_adaptation.network import E2N

    if not NETWORK_PATH.exists():
        raise FileNotFoundError(f"{NETWORK_PATH} is missing: run `python -m workbench.mesh_adaptation.ship`")
    state = torch.load(NETWORK_PATH, map_location="cpu", weights_only=True)
    model = E2N(N_FEATURES, hidden=state["net.0.weight"].shape[0]).to(state["net.0.weight"].dtype)
    model.load_state_dict(state)
    return model.eval()


def _row(case, method, target, it, reference, seconds):
    """The row of a uniform mesh: ``it`` is ``(dofs, qoi)``, ``seconds`` its solve time."""
    from workbench.mesh_adaptation.adaptation import STAGES

    dofs, qoi = it
    secs = {s: 0.0 for s in STAGES}
    secs["forward"] = seconds
    return {"case": case, "method": method, "target_complexity": target, "dofs": int(dofs), "n_cells": None,
            "qoi": float(qoi), "qoi_error": abs(qoi - reference) / abs(reference), "estimator_seconds": 0.0,
            "total_seconds": float(seconds), "seconds": {k: float(v) for k, v in secs.items()},
            "iterations": 0, "converged": None}


def _precomputed(quick: bool) -> Report:
    from workbench.mesh_adaptation.store import load_case, stored_cases

    rows, meta = [], {}
    for case in stored_cases():
        if quick and case != "aligned":
            continue
        stored = load_case(case)
        rows += stored.rows
        meta = stored.meta
    data = {"topic": "mesh_adaptation", "quick": quick, "firedrake": False, "precomputed": True, "results": rows,
            "reference": meta.get("reference", {}), "training": meta.get("training", {}),
            "computed_with": meta.get("computed_with", "")}
    notes = [f"PRECOMPUTED: these rows were produced by the full pipeline ({meta.get('computed_with', '')}) and "
             f"ship with the repo. {INSTALL_HINT}; then this command computes them live."]
    return Report(TITLE + " [precomputed]", data, _table(rows), notes + _notes(rows))


def _table(rows):
    return [{"case": r["case"], "method": r["method"], "target": r["target_complexity"], "DoFs": r["dofs"],
             "QoI MW": round(r["qoi"], 5), "QoI error": float(f"{r['qoi_error']:.3g}"),
             "estimator s": round(r["estimator_seconds"], 2), "total s": round(r["total_seconds"], 2),
             "iterations": r["iterations"]} for r in rows]


def uniform_advantage(rows: list[dict], case: str, method: str) -> list[tuple[float, float]]:
    """For each ``method`` run on ``case``: ``(target complexity, ratio)`` with ratio = the QoI error of the
    coarsest uniform mesh that has at least as many DoFs, over the run's error (the run uses fewer DoFs, so a
    ratio of 10 means 10x more accurate with fewer DoFs). Runs with more DoFs than every uniform mesh are left out."""
    uni = sorted((r for r in rows if r["case"] == case and r["method"] == "uniform"), key=lambda r: r["dofs"])
    out = []
    for r in rows:
        if r["case"] != case or r["method"] != method:
            continue
        bigger = [u for u in uni if u["dofs"] >= r["dofs"]]
        if bigger:
            out.append((r["target_complexity"], bigger[0]["qoi_error"] / max(r["qoi_error"], 1e-16)))
    return out


def _notes(rows) -> list[str]:
    notes = []
    for case in sorted({r["case"] for r in rows}):
        for method in ("dwr", "e2n"):
            ratios = [x for _, x in uniform_advantage(rows, case, method)]
            if ratios:
                notes.append(f"{case}, {method}: QoI error {min(ratios):.0f}x to {max(ratios):.0f}x below the uniform "
                             f"mesh with the next larger number of DoFs ({len(ratios)} runs).")
        d = {r["target_complexity"]: r for r in rows if r["case"] == case and r["method"] == "dwr"}
        e = {r["target_complexity"]: r for r in rows if r["case"] == case and r["method"] == "e2n"}
        common = sorted(set(d) & set(e))
        if common:
            speed = [d[c]["estimator_seconds"] / max(e[c]["estimator_seconds"], 1e-9) for c in common]
            notes.append(f"{case}: E2N's estimation step is {min(speed):.1f}x to {max(speed):.1f}x cheaper than the "
                         f"enriched DWR solve at the same target complexity (median {np.median(speed):.1f}x).")
    return notes


#: the results of these tasks change when this changes (the runner's cache key)
TASK_VERSION = 1
TASKS = "workbench.mesh_adaptation.experiments"


def network_params(model) -> dict:
    """An :class:`~workbench.mesh_adaptation.network.E2N` as JSON (exact: float32/64 values survive the trip)."""
    state = model.state_dict()
    return {"dtype": str(next(iter(state.values())).dtype).removeprefix("torch."),
            "state": {k: v.tolist() for k, v in state.items()}}


def network_from_params(params: dict):
    """The inverse of :func:`network_params`."""
    from workbench.mesh_adaptation.features import N_FEATURES
    from workbench.mesh_adaptation.network import E2N

    dtype = getattr(torch, params["dtype"])
    state = {k: torch.tensor(v, dtype=dtype) for k, v in params["state"].items()}
    model = E2N(N_FEATURES, hidden=state["net.0.weight"].shape[0]).to(dtype)
    model.load_state_dict(state)
    return model.eval()


def training_farm_task(case: int, complexity: float, iterations: int) -> dict:
    """E2N's training data from one random training farm: the features and DWR indicators of every element of
    ``iterations`` DWR adaptation steps (``{"features": (m, F), "indicators": (m,)}`` as lists)."""
    x, y = training_data([case], complexity, iterations)
    return {"features": x.tolist(), "indicators": y.tolist()}


def reference_task(case: str, levels: int, h: float, check_complexity: float, max_iterations: int) -> dict:
    """The uniform curve of a test farm: the quasi-uniform ``h`` mesh and ``levels`` uniform refinements (``dofs``,
    ``qoi``, ``seconds`` each; the last is the reference), and, when ``check_complexity`` is non-zero, a DWR run at
    that complexity that cross-checks the reference."""
    from workbench.mesh_adaptation.adaptation import adapt

    out = {"uniform": [{"dofs": dofs, "qoi": qoi, "seconds": secs} for dofs, qoi, secs, _ in
                       uniform_runs(CASES[case], levels, h)]}
    if check_complexity:
        check = adapt(CASES[case], check_complexity, "dwr", max_iterations=max_iterations, keep_fields=False)
        out["check"] = {"qoi": check.final.qoi, "dofs": check.final.dofs}
    return out


def adapt_task(case: str, method: str, target: float, max_iterations: int, network: dict | None) -> dict:
    """One goal-oriented adaptation run (``network``: :func:`network_params` of E2N's network for
    ``method="e2n"``): the final mesh's DoFs, cells and QoI, the wall time per stage, iterations, convergence."""
    from workbench.mesh_adaptation.adaptation import adapt

    model = network_from_params(network) if network is not None else None
    run = adapt(CASES[case], target, method, model=model, max_iterations=max_iterations, keep_fields=False)
    return {"dofs": run.final.dofs, "n_cells": run.final.n_cells, "qoi": run.final.qoi, "seconds": run.seconds(),
            "iterations": len(run.iterations), "converged": run.converged}


def e2n_network(cfg: "Settings", seed: int = 0, progress: Callable | None = None, runner=None):
    """E2N's network for a run: trained on the DWR indicators of ``cfg.training_cases`` (their data computed as
    runner tasks, one per training farm), or the network the repo ships when there are none.
    Returns ``(model, training summary)``."""
    if not cfg.training_cases:
        return load_network(), {"shipped_network": str(NETWORK_PATH.name)}
    grid = [Task(f"{TASKS}:training_farm_task", {"case": int(i), "complexity": cfg.training_complexity,
                                                  "iterations": cfg.training_iterations})
            for i in cfg.training_cases]
    t0 = time.perf_counter()
    farms = require_complete("mesh_adaptation", (runner or Runner()).run("mesh_adaptation", grid, TASK_VERSION,
                                                                         progress, desc="E2N training farms"))
    x = np.concatenate([np.asarray(f["features"], dtype=np.float64) for f in farms])
    y = np.concatenate([np.asarray(f["indicators"], dtype=np.float64) for f in farms])
    t1 = time.perf_counter()
    torch.manual_seed(seed)
    model, log = train_network(x, y, seed=seed, epochs=cfg.epochs, progress=progress)
    return model, {"cases": len(cfg.training_cases), "elements": int(len(y)), "data_seconds": t1 - t0,
                   "train_seconds": time.perf_counter() - t1, "val_loss": log.val_loss[-1],
                   "train_loss": log.train_loss[-1], "epochs": cfg.epochs}


def tasks(cfg: "Settings", network: dict) -> list[Task]:
    """Per test farm: its reference (uniform curve, check run), then a DWR and an E2N run per target complexity."""
    out = []
    for name in cfg.cases:
        out.append(Task(f"{TASKS}:reference_task", {"case": name, "levels": cfg.reference_level, "h": cfg.uniform_h,
                                                     "check_complexity": cfg.check_complexity,
                                                     "max_iterations": cfg.max_iterations}))
        out += [Task(f"{TASKS}:adapt_task", {"case": name, "method": method, "target": target,
                                             "max_iterations": cfg.max_iterations,
                                             "network": network if method == "e2n" else None})
                for target in cfg.targets for method in ("dwr", "e2n")]
    return out


def _adapt_row(case: str, method: str, target: float, r: dict, reference: float) -> dict:
    secs = r["seconds"]
    return {"case": case, "method": method, "target_complexity": target, "dofs": int(r["dofs"]),
            "n_cells": r["n_cells"], "qoi": float(r["qoi"]), "qoi_error": abs(r["qoi"] - reference) / abs(reference),
            "estimator_seconds": float(secs["estimator"]), "total_seconds": float(sum(secs.values())),
            "seconds": {k: float(v) for k, v in secs.items()}, "iterations": r["iterations"],
            "converged": r["converged"]}


def reproduce(quick: bool = False, seed: int = 0, progress: Callable | None = None,
              settings: Settings | None = None, runner: Runner | None = None, network=None) -> Report:
    """Uniform refinement, DWR and E2N adaptation on the test farms; see the module docstring.

    Args:
        quick: :data:`QUICK` (the aligned farm, one target, the shipped network), in this process; otherwise
            :data:`FULL`, as task grids on ``runner`` (default: a Dask LocalCluster, cached under
            ``WORKBENCH_CACHE``): the training farms' data, then the references and the adaptation runs.
        settings: overrides :data:`QUICK` / :data:`FULL`.
        network: a trained E2N network to use instead of training one (or loading the shipped one).

    Returns:
        ``Report`` with ``data["results"]``: one row per case, method and target complexity (``case``,
        ``method``, ``dofs``, ``qoi`` (MW), ``qoi_error`` (relative to the reference), ``estimator_seconds``,
        ``total_seconds``, per-stage ``seconds``, ``iterations``), ``data["reference"]`` and
        ``data["firedrake"]`` (true when computed live).
    """
    if not firedrake_available():
        return _precomputed(quick)

    t_start = time.perf_counter()
    cfg = settings or (QUICK if quick else FULL)
    runner = runner or (Runner.in_process() if quick else Runner())
    if network is None:
        model, training = e2n_network(cfg, seed, progress, runner)
    else:
        model, training = network, {"given_network": True}
    grid = tasks(cfg, network_params(model))
    results = require_complete("mesh_adaptation", runner.run("mesh_adaptation", grid, TASK_VERSION, progress,
                                                             desc="references and adaptation runs"))
    rows, references = [], {}
    by = {(t.name, t.params["case"], t.params.get("method"), t.params.get("target")): r for t, r in zip(grid, results)}
    for name in cfg.cases:
        ref = by[("reference_task", name, None, None)]
        reference = ref["uniform"][-1]["qoi"]
        references[name] = {"qoi": reference, "dofs": ref["uniform"][-1]["dofs"], "uniform_level": cfg.reference_level}
        if "check" in ref:
            references[name] |= {"dwr_check_qoi": ref["check"]["qoi"], "dwr_check_dofs": ref["check"]["dofs"],
                                 "dwr_check_complexity": cfg.check_complexity}
        for level, u in enumerate(ref["uniform"][:cfg.uniform_levels + 1]):
            rows.append(_row(name, "uniform", None, (u["dofs"], u["qoi"]), reference, seconds=u["seconds"])
                        | {"level": level})
        for target in cfg.targets:
            for method in ("dwr", "e2n"):
                rows.append(_adapt_row(name, method, target, by[("adapt_task", name, method, target)], reference))
    data = {"topic": "mesh_adaptation", "quick": quick, "seed": seed, "firedrake": True, "precomputed": False,
            "results": rows, "reference": references, "training": training, "settings": asdict(cfg),
            "seconds": time.perf_counter() - t_start}
    notes = []
    if quick:
        notes.append(f"Quick run: the aligned farm only, target complexity {', '.join(f'{t:g}' for t in cfg.targets)}, "
                     f"uniform levels 0..{cfg.uniform_levels} (reference: level {cfg.reference_level}), the network "
                     "shipped with the repo; the full run covers both farms, five targets, and trains E2N.")
    notes += _notes(rows)
    for name, ref in references.items():
        line = (f"{name}: reference power {ref['qoi']:.5f} MW (uniform level {ref['uniform_level']}, {ref['dofs']:,} "
                f"DoFs)")
        if "dwr_check_qoi" in ref:
            line += (f"; DWR at complexity {ref['dwr_check_complexity']:g} gives {ref['dwr_check_qoi']:.5f} MW "
                     f"(relative difference {abs(ref['dwr_check_qoi'] - ref['qoi']) / ref['qoi']:.1e}: errors "
                     "below that are not resolved)")
        notes.append(line + ".")
    notes.append(f"{len(grid)} tasks ({runner.describe()}). Took {data['seconds']:.1f} s.")
    return Report(TITLE, data, _table(rows), notes)


def markdown_tables(data: dict) -> dict[str, str]:
    """The results page's tables from a full run's JSON: ``runs`` (every run of each farm: DoFs, relative QoI
    error, estimation and total seconds) and ``claims`` (per farm and method, how much more accurate than the
    uniform mesh with the next larger number of DoFs, and E2N's estimation step against DWR's)."""
    rows = data["results"]
    cases = sorted({r["case"] for r in rows})
    runs = ["| farm | method | target complexity (uniform: level) | DoFs | QoI error | estimation s | total s |",
            "|---|---|---|---|---|---|---|"]
    for case in cases:
        for r in sorted((r for r in rows if r["case"] == case),
                        key=lambda r: ({"uniform": 0, "dwr": 1, "e2n": 2}[r["method"]], r["target_complexity"] or 0,
                                       r["dofs"])):
            target = f"{r['target_complexity']:g}" if r["target_complexity"] is not None else f"level {r.get('level')}"
            est = f"{r['estimator_seconds']:.2f}" if r["method"] != "uniform" else "–"
            runs.append(f"| {case} | {r['method']} | {target} | {r['dofs']:,} | {r['qoi_error']:.1e} | {est} | "
                        f"{r['total_seconds']:.1f} |")
    claims = ["| farm | DWR: error below uniform's | E2N: error below uniform's | E2N estimation cheaper than DWR's |",
              "|---|---|---|---|"]
    for case in cases:
        cells = []
        for method in ("dwr", "e2n"):
            ratios = [x for _, x in uniform_advantage(rows, case, method)]
            cells.append(f"{min(ratios):.0f}× to {max(ratios):.0f}× ({len(ratios)} runs)" if ratios else "–")
        d = {r["target_complexity"]: r for r in rows if r["case"] == case and r["method"] == "dwr"}
        e = {r["target_complexity"]: r for r in rows if r["case"] == case and r["method"] == "e2n"}
        speed = [d[c]["estimator_seconds"] / max(e[c]["estimator_seconds"], 1e-9) for c in sorted(set(d) & set(e))]
        cells.append(f"{min(speed):.1f}× to {max(speed):.1f}× (median {np.median(speed):.1f}×)" if speed else "–")
        claims.append(f"| {case} | " + " | ".join(cells) + " |")
    return {"runs": "\n".join(runs), "claims": "\n".join(claims)}
