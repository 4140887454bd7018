"""SIP against the exact GP, the sparse variational GP and the mean-field VI BNN on the same splits (the SIP paper's
synthetic experiments and real regression sets), and the model-bias case: SIP with a wrong physical model as its prior
against that model's exact posterior (the second paper's point).

A task fits one method on one 90/10 split of one data set and scores its predictive on the test points (negative
test log-likelihood, RMSE, CRPS, in the units of ``y``); on split 0 of the 1-D sets it also keeps the predictive
density on a grid (the docs' and the page's picture).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch

from workbench.checks import check_int, check_names, check_real
from workbench.implicit_processes import datasets as D
from workbench.implicit_processes.assumed import AssumedOscillator
from workbench.implicit_processes.gp import ExactGP, SparseVariationalGP
from workbench.implicit_processes.sip import N_INDUCING, SIP
from workbench.implicit_processes.vi_bnn import VIBNN
from workbench.report import Report, grid_notes
from workbench.results_pages import grid_status
from workbench.runner import Runner, Task

__all__ = ["METHODS", "BIAS_METHODS", "METHOD_NAMES", "Settings", "QUICK", "FULL", "TASK_VERSION", "density_grid",
           "make_method",
           "run_task", "tasks", "summarise", "reproduce", "markdown_tables"]

METHODS = ("sip_bnn", "sip_ns", "gp_exact", "svgp", "vi_bnn")
#: only on the oscillator set: the assumed physical model, exactly, and SIP with that model as its prior
BIAS_METHODS = ("oscillator_exact", "sip_oscillator")
METHOD_NAMES = {"sip_bnn": "SIP, BNN prior", "sip_ns": "SIP, neural-sampler prior", "gp_exact": "exact GP (RBF)",
                "svgp": "sparse variational GP", "vi_bnn": "VI BNN (mean field)",
                "oscillator_exact": "assumed oscillator, exact posterior", "sip_oscillator": "SIP, oscillator prior"}
#: the results of these tasks change when this changes (the runner's cache key)
TASK_VERSION = 2
TASKS = "workbench.implicit_processes.experiments"


@dataclass(frozen=True)
class Settings:
    """``datasets`` × ``methods`` × ``splits`` (plus :data:`BIAS_METHODS` on ``oscillator``); SIP with ``alpha``
    for ``sip_epochs`` epochs of ``sip_batch`` points at learning rate ``sip_lr``; the VI BNN and the SVGP for
    ``baseline_epochs``, and for at least ``min_steps`` steps (more epochs on small sets: SIP keeps its fixed
    epochs, as the released code, since longer runs overfit the small real sets); the exact GP for
    ``gp_iterations`` marginal-likelihood steps; ``max_train`` caps the training points (None: the whole 90 %);
    ``split_source``: ``"seeded"`` permutations everywhere (the shipped runs), or ``"released"``: the released
    code's on the bimodal and heteroscedastic sets (data set ``sip-splits``; at most 20 splits), seeded on the
    others."""

    datasets: tuple[str, ...] = D.DATASETS
    methods: tuple[str, ...] = METHODS
    splits: int = 5
    alpha: float = 1.0
    sip_epochs: int = 300
    sip_batch: int = 100
    sip_lr: float = 3e-3
    sip_noise_lr: float = 1e-3
    baseline_epochs: int = 300
    min_steps: int = 3000
    gp_iterations: int = 100
    max_train: int | None = None
    split_source: str = "seeded"

    def __post_init__(self):
        check_names("datasets", self.datasets, D.DATASETS)
        check_names("methods", self.methods, METHODS + BIAS_METHODS)
        check_int("splits", self.splits, 1)
        check_real("alpha", self.alpha, 0.0, 1.0)
        check_int("sip_epochs", self.sip_epochs, 1)
        check_int("sip_batch", self.sip_batch, 1)
        check_real("sip_lr", self.sip_lr)
        check_real("sip_noise_lr", self.sip_noise_lr)
        check_int("baseline_epochs", self.baseline_epochs, 1)
        check_int("min_steps", self.min_steps, 0)
        check_int("gp_iterations", self.gp_iterations, 1)
        if self.max_train is not None:
            check_int("max_train", self.max_train, 2)
        if self.split_source not in D.SPLIT_SOURCES:
            raise ValueError(f"split_source: expected one of {list(D.SPLIT_SOURCES)}, got {self.split_source!r}")
        if self.split_source == "released" and self.splits > 20:
            raise ValueError(f"splits: the released code has 20 splits, got {self.splits}")


QUICK = Settings(datasets=("bimodal",), methods=("sip_ns", "gp_exact", "svgp", "vi_bnn"), splits=1, sip_epochs=200,
                 baseline_epochs=100, min_steps=0, gp_iterations=50, max_train=900)
FULL = Settings()


def _epochs(epochs: int, min_steps: int, n: int, batch: int) -> int:
    """At least ``epochs``, and enough for ``min_steps`` minibatch steps on ``n`` points."""
    return max(epochs, math.ceil(min_steps / math.ceil(n / batch)))


def make_method(method: str, alpha: float, sip_epochs: int, sip_batch: int, sip_lr: float, sip_noise_lr: float,
                baseline_epochs: int, min_steps: int, gp_iterations: int, x_train: np.ndarray, y_train: np.ndarray,
                seed: int):
    """The unfitted model of ``method`` for the training set ``x_train``, ``y_train`` (its size sets the epochs; the
    oscillator prior starts at the assumed model's fit to it)."""
    n = len(y_train)
    baseline_epochs = _epochs(baseline_epochs, min_steps, n, 100)
    sip = {"alpha": alpha, "epochs": sip_epochs, "batch_size": sip_batch, "lr": sip_lr, "noise_lr": sip_noise_lr,
           "seed": seed}
    if method == "sip_bnn":
        return SIP(prior="bnn", n_inducing=N_INDUCING["bnn"], **sip)
    if method == "sip_ns":
        return SIP(prior="ns", n_inducing=N_INDUCING["ns"], **sip)
    if method == "gp_exact":
        return ExactGP(iterations=gp_iterations, seed=seed)
    if method == "svgp":
        return SparseVariationalGP(n_inducing=50, epochs=baseline_epochs, seed=seed)
    if method == "vi_bnn":
        return VIBNN(epochs=baseline_epochs, seed=seed)
    if method == "oscillator_exact":
        return AssumedOscillator()
    if method == "sip_oscillator":
        prior = AssumedOscillator().fit(x_train, y_train).as_prior(x_train, y_train)
        return SIP(prior=prior, n_inducing=50, **sip)
    raise ValueError(f"method: expected one of {list(METHODS + BIAS_METHODS)}, got {method!r}")


def density_grid(x_train: np.ndarray, y_train: np.ndarray, points: int = 80) -> tuple[np.ndarray, np.ndarray]:
    """The ``(x, y)`` grid a predictive density is drawn on (1-D inputs): ``points`` values across the training
    inputs and across the training targets ± 10 % of their range."""
    pad = 0.1 * (y_train.max() - y_train.min())
    return (np.linspace(x_train.min(), x_train.max(), points),
            np.linspace(y_train.min() - pad, y_train.max() + pad, points))


def _density(model, x_train: np.ndarray, y_train: np.ndarray, points: int = 80) -> dict:
    """The predictive density on the :func:`density_grid` of the training data."""
    xs, ys = density_grid(x_train, y_train, points)
    dens = model.predict(xs[:, None]).density_grid(ys)
    return {"x": [round(float(v), 4) for v in xs], "y": [round(float(v), 4) for v in ys],
            "density": [[round(float(v), 5) for v in row] for row in dens]}


def run_task(dataset: str, method: str, split: int, alpha: float, sip_epochs: int, sip_batch: int, sip_lr: float,
             sip_noise_lr: float, baseline_epochs: int, min_steps: int, gp_iterations: int,
             max_train: int | None = None, split_source: str = "seeded") -> dict:
    """Fit ``method`` on split ``split`` of ``dataset`` and score it on the test points: ``nll`` (negative mean
    test log-likelihood), ``rmse``, ``crps``; on split 0 of a 1-D set, ``density`` (the predictive on a grid) and
    for SIP the learned inducing inputs. ``split_source``: see :func:`~.datasets.split`."""
    data = D.load(dataset)
    x_tr, y_tr, x_te, y_te = D.split(data, split, source=split_source)
    if max_train is not None:
        x_tr, y_tr = x_tr[:max_train], y_tr[:max_train]
    t0 = time.perf_counter()
    model = make_method(method, alpha, sip_epochs, sip_batch, sip_lr, sip_noise_lr, baseline_epochs, min_steps,
                        gp_iterations, x_tr, y_tr, split)
    model.fit(x_tr, y_tr)
    scores = model.predict(x_te).scores(torch.tensor(y_te, dtype=torch.float32))
    out = {"dataset": dataset, "method": method, "split": split, **scores,
           "n_train": len(y_tr), "n_test": len(y_te), "seconds": time.perf_counter() - t0}
    if split == 0 and data.in_dim == 1:
        out["density"] = _density(model, x_tr, y_tr)
        if isinstance(model, SIP):
            out["inducing"] = [round(float(v), 4) for v in model.inducing_inputs()[:, 0]]
    return out


def tasks(settings: Settings, first_split: int = 0) -> list[Task]:
    common = {"alpha": settings.alpha, "sip_epochs": settings.sip_epochs, "sip_batch": settings.sip_batch,
              "sip_lr": settings.sip_lr, "sip_noise_lr": settings.sip_noise_lr,
              "baseline_epochs": settings.baseline_epochs, "min_steps": settings.min_steps,
              "gp_iterations": settings.gp_iterations, "max_train": settings.max_train}
    out = []
    for dataset in settings.datasets:
        methods = [m for m in settings.methods if m in METHODS or dataset == "oscillator"]
        if dataset == "oscillator":
            methods += [m for m in BIAS_METHODS if m not in methods]
        for method in methods:
            # the key only where it is not the default, so that seeded tasks keep their cache keys
            source = ({"split_source": "released"}
                      if settings.split_source == "released" and dataset in D.RELEASED_SPLITS else {})
            for split in range(first_split, first_split + settings.splits):
                out.append(Task(f"{TASKS}:run_task", {"dataset": dataset, "method": method, "split": split,
                                                      **common, **source}))
    return out


def summarise(runs: list[dict]) -> dict:
    """One row from the splits of one (data set, method): means and standard deviations over splits."""
    def stats(key):
        v = np.array([r[key] for r in runs], dtype=float)
        return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0

    nll, nll_sd = stats("nll")
    rmse, rmse_sd = stats("rmse")
    crps, crps_sd = stats("crps")
    return {"dataset": runs[0]["dataset"], "method": runs[0]["method"], "test_nll_mean": nll, "test_nll_std": nll_sd,
            "test_rmse_mean": rmse, "test_rmse_std": rmse_sd, "test_crps_mean": crps, "test_crps_std": crps_sd,
            "splits": sorted(r["split"] for r in runs),
            "seconds_mean": float(np.mean([r["seconds"] for r in runs]))}


def reproduce(quick: bool = False, seed: int = 0, progress: Callable | None = None,
              settings: Settings | None = None, runner: Runner | None = None) -> Report:
    """Every method on every data set.

    Args:
        quick: :data:`QUICK`: the bimodal set, one split, 900 training points, SIP with the neural-sampler prior
            against the three baselines, shorter schedules, in this process.
            Otherwise :data:`FULL` (five data sets, 5 splits; the oscillator set adds the assumed model and SIP with
            it as prior) as a task grid on ``runner`` (default: a Dask LocalCluster, cached).
        seed: the first split.

    Returns:
        ``Report`` whose ``data["results"]`` has one object per (data set, method): ``dataset``, ``method``,
        ``test_nll_mean``, ``test_nll_std``, ``test_rmse_mean``, ``test_crps_mean`` (and their stds), ``splits``;
        ``data["densities"]``: per (1-D data set, method) the predictive density of the first split on a grid
        (``x``, ``y``, ``density[y][x]``), with SIP's inducing inputs.
    """
    t0 = time.perf_counter()
    cfg = settings or (QUICK if quick else FULL)
    runner = runner or (Runner.in_process() if quick else Runner())
    grid = tasks(cfg, seed)
    results = runner.run("implicit_processes", grid, TASK_VERSION, progress, desc="fits")
    cells: dict[tuple, list[dict]] = {}
    densities = []
    for r in results:
        if r is not None:  # None: not computed yet (--cached-only)
            cells.setdefault((r["dataset"], r["method"]), []).append(r)
            if "density" in r:
                pic = dict(r["density"], density=[[round(v, 3) for v in row] for row in r["density"]["density"]])
                densities.append({"dataset": r["dataset"], "method": r["method"], **pic,
                                  **({"inducing": r["inducing"]} if "inducing" in r else {})})
    rows = [summarise(runs) for runs in cells.values()]
    table = [{"dataset": r["dataset"], "method": r["method"], "splits": len(r["splits"]),
              "test NLL": f"{r['test_nll_mean']:.3f} ± {r['test_nll_std']:.3f}",
              "RMSE": round(r["test_rmse_mean"], 3), "CRPS": round(r["test_crps_mean"], 3)} for r in rows]
    data = {"topic": "implicit_processes", "quick": quick, "seed": seed, "results": rows, "densities": densities,
            "settings": asdict(cfg), "tasks": len(grid), "tasks_missing": runner.missing,
            "seconds": time.perf_counter() - t0}
    notes = ["Negative test log-likelihood (lower is better), RMSE and CRPS in the units of y; mean ± standard "
             "deviation over splits (90/10)."]
    if cfg.split_source == "released":
        notes.insert(0, "Splits: the released code's permutations on the bimodal and heteroscedastic sets, seeded "
                        "permutations on the others.")
    notes = grid_notes(
        notes, len(grid), runner, data["seconds"],
        quick="Quick run: the bimodal set, one split, 900 training points, SIP with the neural-sampler prior and the "
              "baselines on shorter schedules; the full run has five data sets, both SIP priors, 5 splits and the "
              "model-bias case." if quick else None)
    return Report("Sparse Implicit Processes (Santana et al., 2022) against GP, SVGP and VI BNN", data, table, notes)


def markdown_tables(data: dict) -> dict[str, str]:
    """The results page's tables: ``status``; ``scores`` (every method on every data set: test NLL mean ± std over
    splits, RMSE, CRPS); ``claim`` (on the bimodal and heteroscedastic sets, SIP's NLL against the exact GP's and
    the VI BNN's, the gap in standard errors of the difference); ``bias`` (the oscillator set: the assumed model's
    exact posterior against SIP with that model as its prior)."""
    out = {"status": grid_status(data)}
    rows = data["results"]
    by = {(r["dataset"], r["method"]): r for r in rows}
    order = list(METHODS + BIAS_METHODS)
    sets = [d for d in data.get("settings", {}).get("datasets", D.DATASETS)]
    lines = ["| data set | method | test NLL (↓) | RMSE | CRPS | splits |", "|---" * 6 + "|"]
    for d in sets:
        cells = sorted((r for r in rows if r["dataset"] == d), key=lambda r: order.index(r["method"]))
        if not cells:
            continue
        best = min(r["test_nll_mean"] for r in cells)
        for r in cells:
            nll = f"{r['test_nll_mean']:.3f} ± {r['test_nll_std']:.3f}"
            nll = f"**{nll}**" if r["test_nll_mean"] == best else nll
            lines.append(f"| {d} | {METHOD_NAMES[r['method']]} | {nll} | {r['test_rmse_mean']:.3f} | "
                         f"{r['test_crps_mean']:.3f} | {len(r['splits'])} |")
    out["scores"] = "\n".join(lines) if len(lines) > 2 else "*Not computed yet.*"
    lines = ["| data set | SIP | NLL | exact GP | VI BNN | SIP − GP (s.e.) | SIP − VI BNN (s.e.) | better than both? |",
             "|---" * 8 + "|"]
    for d in ("bimodal", "heteroscedastic"):
        for sip in ("sip_bnn", "sip_ns"):
            if not {(d, sip), (d, "gp_exact"), (d, "vi_bnn")} <= set(by):
                continue
            s, g, v = by[d, sip], by[d, "gp_exact"], by[d, "vi_bnn"]

            def gap(other):
                diff = s["test_nll_mean"] - other["test_nll_mean"]
                se = math.hypot(s["test_nll_std"] / math.sqrt(len(s["splits"])),
                                other["test_nll_std"] / math.sqrt(len(other["splits"])))
                return diff, (f"{diff:+.3f}" + (f" ({diff / se:+.1f})" if se > 0 else ""))

            dg, tg = gap(g)
            dv, tv = gap(v)
            lines.append(f"| {d} | {METHOD_NAMES[sip]} | {s['test_nll_mean']:.3f} ± {s['test_nll_std']:.3f} | "
                         f"{g['test_nll_mean']:.3f} ± {g['test_nll_std']:.3f} | "
                         f"{v['test_nll_mean']:.3f} ± {v['test_nll_std']:.3f} | {tg} | {tv} | "
                         f"{'yes' if dg < 0 and dv < 0 else 'no'} |")
    out["claim"] = "\n".join(lines) if len(lines) > 2 else "*Not computed yet.*"
    lines = ["| method | test NLL (↓) | RMSE | CRPS | splits |", "|---" * 5 + "|"]
    for m in ("oscillator_exact", "sip_oscillator", "gp_exact", "sip_ns", "sip_bnn"):
        if ("oscillator", m) in by:
            r = by["oscillator", m]
            lines.append(f"| {METHOD_NAMES[m]} | {r['test_nll_mean']:.3f} ± {r['test_nll_std']:.3f} | "
                         f"{r['test_rmse_mean']:.3f} | {r['test_crps_mean']:.3f} | {len(r['splits'])} |")
    out["bias"] = "\n".join(lines) if len(lines) > 2 else "*Not computed yet.*"
    return out
