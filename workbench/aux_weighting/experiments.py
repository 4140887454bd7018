"""Every weighting on Cora and Citeseer with the same auxiliary tasks, one of them harmful (AUX-TS's Table 2 in spirit:
the meta-learned weights against target only, equal weights, pre-training then fine-tuning, gradient-cosine
weighting and uncertainty weighting).

A task trains one :class:`~.tasks.MultiTaskGNN` with one method (:mod:`.training`) for ``epochs`` full-graph steps on
a graph whose training split keeps ``labels_per_class`` labelled nodes per class (the few-label setting where
self-supervision can help), and reports the test accuracy of the epoch with the best validation accuracy, the curves
and the task weights and gradient cosines over training. The full run adds, for ``meta``, runs with each auxiliary
task left out (the page's switch to drop a task).
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import asdict, dataclass
from typing import Callable

from workbench.aux_weighting.tasks import AUXILIARY, TaskGraph, check_tasks, prepare
from workbench.aux_weighting.training import METHODS, TrainConfig, iter_train
from workbench.checks import check_int, check_names
from workbench.graphs import load_planetoid
from workbench.report import Report, grid_notes
from workbench.results_pages import grid_status
from workbench.runner import Runner, Task

__all__ = ["GRAPHS", "METHOD_NAMES", "Settings", "QUICK", "FULL", "TASK_VERSION", "load_graph", "train_task",
           "tasks", "reproduce", "markdown_tables", "summarise"]

GRAPHS = ("cora", "citeseer")
METHOD_NAMES = {"target_only": "target only", "equal": "equal weights", "finetune": "pre-train, fine-tune",
                "cosine": "gradient cosine", "uncertainty": "uncertainty", "meta": "meta (AUX-TS)"}
#: the results of these tasks change when this changes (the runner's cache key)
TASK_VERSION = 1
TASKS = "workbench.aux_weighting.experiments"


@dataclass(frozen=True)
class Settings:
    """``graphs`` × ``methods`` × ``seeds`` with all of ``tasks``, plus ``meta`` without each of ``drop`` for
    ``drop_seeds`` seeds; ``epochs`` (and ``pretrain_epochs`` before them for ``finetune``), evaluated every
    ``eval_every``; ``labels_per_class`` labelled training nodes per class (None: Planetoid's 20). ``few_labels``:
    the few-label setting, every method on every graph again with that many labels per class (drawn per seed) for
    ``seeds`` seeds (None: not run)."""

    graphs: tuple[str, ...] = GRAPHS
    methods: tuple[str, ...] = METHODS
    tasks: tuple[str, ...] = AUXILIARY
    seeds: int = 5
    epochs: int = 200
    pretrain_epochs: int = 100
    eval_every: int = 10
    labels_per_class: int | None = None
    drop: tuple[str, ...] = AUXILIARY
    drop_seeds: int = 2
    few_labels: int | None = 5

    def __post_init__(self):
        check_names("graphs", self.graphs, GRAPHS)
        check_names("methods", self.methods, METHODS)
        check_tasks(list(self.tasks))
        if set(self.drop) - set(self.tasks):
            raise ValueError(f"drop: expected tasks among tasks={list(self.tasks)}, got {list(self.drop)}")
        if self.drop and len(self.tasks) < 2:
            raise ValueError(f"drop: leaving out a task needs at least two tasks, got tasks={list(self.tasks)}")
        check_int("seeds", self.seeds, 1)
        check_int("drop_seeds", self.drop_seeds, 0)
        check_int("epochs", self.epochs, 1)
        check_int("pretrain_epochs", self.pretrain_epochs, 0)
        check_int("eval_every", self.eval_every, 1)
        if self.labels_per_class is not None:
            check_int("labels_per_class", self.labels_per_class, 1)
        if self.few_labels is not None:
            check_int("few_labels", self.few_labels, 1)
            if self.few_labels == self.labels_per_class:
                raise ValueError(f"few_labels: expected a setting other than labels_per_class={self.labels_per_class}"
                                 f", got {self.few_labels}")

    def config(self) -> TrainConfig:
        return TrainConfig(epochs=self.epochs, pretrain_epochs=self.pretrain_epochs, eval_every=self.eval_every)


QUICK = Settings(graphs=("cora",), seeds=1, epochs=100, pretrain_epochs=50, drop=(), drop_seeds=0, few_labels=None)
FULL = Settings()


@functools.lru_cache(maxsize=4)
def load_graph(name: str, labels_per_class: int | None = None, seed: int = 0) -> TaskGraph:
    """The Planetoid graph ``name`` prepared for training (cached per process); ``labels_per_class`` training
    labels per class drawn with ``seed`` (None: the split's own)."""
    if name not in GRAPHS:
        raise ValueError(f"name: expected one of {list(GRAPHS)}, got {name!r}")
    return prepare(load_planetoid(name), seed=seed, labels_per_class=labels_per_class)


def train_task(graph: str, method: str, seed: int, tasks: list, epochs: int, pretrain_epochs: int, eval_every: int,
               labels_per_class: int | None = None) -> dict:
    """One training run: the test accuracy at the best validation epoch, and every record (epoch, loss, validation
    and test accuracy, each task's weight as [mean, std] over its examples, each auxiliary task's gradient cosine
    with the target's)."""
    g = load_graph(graph, labels_per_class, seed if labels_per_class is not None else 0)
    cfg = TrainConfig(epochs=epochs, pretrain_epochs=pretrain_epochs, eval_every=eval_every)
    t0 = time.perf_counter()
    curve = list(iter_train(g, method, tuple(tasks), cfg, seed=seed))
    last = curve[-1]
    return {"graph": graph, "method": method, "seed": seed, "tasks": list(tasks), "labels_per_class": labels_per_class,
            "test_accuracy": last["test_at_best_val"], "best_val_accuracy": last["best_val"],
            "seconds": time.perf_counter() - t0,
            "curve": [{k: r[k] for k in ("epoch", "loss", "val_accuracy", "test_accuracy", "weights", "cosines")}
                      for r in curve]}


def tasks(settings: Settings, first_seed: int = 0) -> list[Task]:
    seeds = range(first_seed, first_seed + settings.seeds)

    def train(graph: str, method: str, seed: int, kept, labels_per_class: int | None) -> Task:
        return Task(f"{TASKS}:train_task", {"graph": graph, "method": method, "seed": seed, "tasks": list(kept),
                                            "epochs": settings.epochs, "pretrain_epochs": settings.pretrain_epochs,
                                            "eval_every": settings.eval_every, "labels_per_class": labels_per_class})

    out = []
    for graph in settings.graphs:
        out += [train(graph, m, s, settings.tasks, settings.labels_per_class) for m in settings.methods for s in seeds]
        if "meta" in settings.methods:
            for dropped in settings.drop:
                kept = [t for t in settings.tasks if t != dropped]
                out += [train(graph, "meta", s, kept, settings.labels_per_class)
                        for s in range(first_seed, first_seed + settings.drop_seeds)]
    if settings.few_labels is not None:
        out += [train(graph, m, s, settings.tasks, settings.few_labels)
                for graph in settings.graphs for m in settings.methods for s in seeds]
    return out


def _mean_std_se(values: list[float]) -> tuple[float, float, float | None]:
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0, None
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    return mean, std, std / math.sqrt(len(values))


def summarise(runs: list[dict]) -> dict:
    """One row from the runs of one (graph, method, task set): accuracy mean, standard deviation and standard error
    over seeds, and per evaluation epoch the means over seeds of the accuracies, each task's mean weight and spread
    over examples, and the gradient cosines; ``test_accuracies`` in the order of ``seeds`` (for paired
    comparisons: a seed draws the same labelled nodes for every method)."""
    runs = sorted(runs, key=lambda r: r["seed"])
    mean, std, se = _mean_std_se([r["test_accuracy"] for r in runs])
    first = runs[0]
    along = []
    for i, rec in enumerate(first["curve"]):
        recs = [r["curve"][i] for r in runs]
        along.append({"epoch": rec["epoch"],
                      "val_accuracy": sum(x["val_accuracy"] for x in recs) / len(recs),
                      "test_accuracy": sum(x["test_accuracy"] for x in recs) / len(recs),
                      "weights": {t: [sum(x["weights"][t][j] for x in recs) / len(recs) for j in (0, 1)]
                                  for t in rec["weights"]},
                      "cosines": {t: sum(x["cosines"][t] for x in recs) / len(recs) for t in rec["cosines"]}})
    return {"graph": first["graph"], "method": first["method"], "tasks": first["tasks"],
            "labels_per_class": first.get("labels_per_class"),
            "test_accuracy_mean": mean, "test_accuracy_std": std, "test_accuracy_se": se,
            "seeds": [r["seed"] for r in runs], "test_accuracies": [r["test_accuracy"] for r in runs],
            "seconds_mean": sum(r["seconds"] for r in runs) / len(runs),
            "along": along}


def reproduce(quick: bool = False, seed: int = 0, progress: Callable | None = None,
              settings: Settings | None = None, runner: Runner | None = None) -> Report:
    """Every weighting on every graph.

    Args:
        quick: :data:`QUICK`: Cora, one seed, 100 epochs (50 of pre-training before them for ``finetune``), in
            this process (under a minute on 2 cores). Otherwise :data:`FULL` (Cora and Citeseer, 5 seeds, 200 epochs,
            ``meta`` also without each auxiliary task for 2 seeds, and every method again with 5 labels per class)
            as a task grid on ``runner`` (default: a Dask LocalCluster, cached).

    Returns:
        ``Report`` whose ``data["results"]`` has one object per (graph, label setting, method) with every
        auxiliary task: ``graph``, ``labels_per_class`` (None: Planetoid's split), ``method`` (``"target_only"``,
        ``"equal"``, ``"finetune"``, ``"cosine"``, ``"uncertainty"``, ``"meta"``), ``test_accuracy_mean``,
        ``test_accuracy_std`` and ``test_accuracy_se`` (fractions, over seeds), ``seeds``, ``test_accuracies`` (in
        the order of ``seeds``), ``tasks``, ``along`` (per evaluation: epoch, mean validation and test accuracy,
        each task's ``[mean, spread]`` weight, the gradient cosines); ``data["weights"]``: per graph, label setting
        and method, the learned weight of each task over training (``{"graph", "labels_per_class", "method",
        "epoch", "<task>": [mean, spread]}``);
        ``data["dropped"]``: ``meta`` rows with one auxiliary task left out (``"dropped"`` names it).
    """
    t0 = time.perf_counter()
    cfg = settings or (QUICK if quick else FULL)
    runner = runner or (Runner.in_process() if quick else Runner())
    grid = tasks(cfg, seed)
    results = runner.run("aux_weighting", grid, TASK_VERSION, progress, desc="training runs")
    cells: dict[tuple, list[dict]] = {}
    for r in results:
        if r is not None:  # None: not computed yet (--cached-only)
            cells.setdefault((r["graph"], r.get("labels_per_class"), r["method"], tuple(r["tasks"])), []).append(r)
    rows, dropped, weights, table = [], [], [], []
    for (graph, labels, method, kept), runs in cells.items():
        row = summarise(runs)
        if kept == tuple(cfg.tasks):
            rows.append(row)
            weights += [{"graph": graph, "labels_per_class": labels, "method": method, "epoch": a["epoch"],
                         **a["weights"]} for a in row["along"]]
            table.append({"graph": graph, "labels per class": labels or "split", "method": method, "seeds": len(runs),
                          "test accuracy": round(row["test_accuracy_mean"], 4),
                          "std": round(row["test_accuracy_std"], 4),
                          "final weights": {t: round(w[0], 2) for t, w in row["along"][-1]["weights"].items()}})
        else:
            row["dropped"] = next(t for t in cfg.tasks if t not in kept)
            dropped.append(row)
    data = {"topic": "aux_weighting", "quick": quick, "seed": seed, "results": rows, "weights": weights,
            "dropped": dropped, "settings": asdict(cfg), "tasks": len(grid), "tasks_missing": runner.missing,
            "seconds": time.perf_counter() - t0}
    notes = grid_notes(
        ["Test accuracy at the epoch of best validation accuracy; mean and standard deviation over seeds."],
        len(grid), runner, data["seconds"],
        quick="Quick run: Cora, one seed, 100 epochs; the full run adds Citeseer, 5 seeds, 200 epochs, meta with "
              f"each auxiliary task left out, and every method with {FULL.few_labels} labels per class."
        if quick else None)
    return Report("Meta-learned weights for auxiliary tasks (AUX-TS, Han et al., KDD 2021) against five baselines",
                  data, table, notes)


def _pm(mean, se, scale: float = 100.0, digits: int = 1) -> str:
    if mean is None:
        return "–"
    return f"{mean * scale:.{digits}f}" + ("" if se is None else f" ± {se * scale:.{digits}f}")


def _paired(a: dict, b: dict) -> str:
    """``a − b`` seed by seed (points): mean ± standard error, and on how many seeds ``a`` is ahead; "–" without
    per-seed accuracies for the same seeds."""
    if "test_accuracies" not in a or "test_accuracies" not in b or a["seeds"] != b["seeds"] or len(a["seeds"]) < 2:
        return "–"
    diffs = [x - y for x, y in zip(a["test_accuracies"], b["test_accuracies"])]
    mean, _, se = _mean_std_se(diffs)
    return f"{mean * 100:+.1f} ± {se * 100:.1f} ({sum(d > 0 for d in diffs)} of {len(diffs)} seeds ahead)"


def _labels_name(labels: int | None) -> str:
    return "Planetoid's 20" if labels is None else str(labels)


def markdown_tables(data: dict) -> dict[str, str]:
    """The results page's tables: ``status``; ``accuracy`` (every method on every graph and label setting: test
    accuracy in %, mean ± standard error over seeds); ``weights`` (``meta``'s and ``cosine``'s final weight per
    task); ``claim`` (``meta`` against target only and equal weights: the gap in standard errors of the difference
    of the means, and seed by seed, where a seed draws the same labelled nodes for both); ``dropped``
    (``meta`` with one task left out)."""
    out = {"status": grid_status(data)}
    rows = data["results"]
    graphs = [g for g in data.get("settings", {}).get("graphs", GRAPHS)]
    by = {(r["graph"], r.get("labels_per_class"), r["method"]): r for r in rows}
    settings = sorted({r.get("labels_per_class") for r in rows}, key=lambda k: -1 if k is None else k)
    columns = [(g, k) for k in settings for g in graphs]

    def column_name(g, k):
        return f"{g.capitalize()} (%)" if k is None else f"{g.capitalize()}, {k} labels per class (%)"

    lines = ["| method | " + " | ".join(column_name(g, k) for g, k in columns) + " |",
             "|---" * (1 + len(columns)) + "|"]
    for m in METHODS:
        if any((g, k, m) in by for g, k in columns):
            cells = [(_pm(by[g, k, m]["test_accuracy_mean"], by[g, k, m]["test_accuracy_se"])
                      + f" ({len(by[g, k, m]['seeds'])})") if (g, k, m) in by else "–" for g, k in columns]
            lines.append(f"| {METHOD_NAMES[m]} | " + " | ".join(cells) + " |")
    out["accuracy"] = "\n".join(lines) if len(lines) > 2 else "*Not computed yet.*"
    tasks = data.get("settings", {}).get("tasks", AUXILIARY)
    lines = ["| graph | labels per class | method | target | " + " | ".join(tasks) + " |",
             "|---" * (4 + len(tasks)) + "|"]
    for k in settings:
        for g in graphs:
            for m in ("meta", "cosine", "uncertainty"):
                if (g, k, m) in by:
                    w = by[g, k, m]["along"][-1]["weights"]
                    lines.append(f"| {g} | {_labels_name(k)} | {METHOD_NAMES[m]} | " + " | ".join(
                        f"{w[t][0]:.2f}" + (f" ± {w[t][1]:.2f}" if m == "meta" else "") for t in ("target", *tasks))
                        + " |")
    out["weights"] = "\n".join(lines) if len(lines) > 2 else "*Not computed yet.*"
    lines = ["| graph | labels per class | meta (%) | target only (%) | equal (%) | meta − target only | "
             "seed by seed | beats both? |", "|---" * 8 + "|"]
    for k in settings:
        for g in graphs:
            if not {(g, k, "meta"), (g, k, "target_only"), (g, k, "equal")} <= set(by):
                continue
            meta, target, equal = by[g, k, "meta"], by[g, k, "target_only"], by[g, k, "equal"]
            gap = meta["test_accuracy_mean"] - target["test_accuracy_mean"]
            se = math.hypot(meta["test_accuracy_se"] or 0, target["test_accuracy_se"] or 0)
            beats = meta["test_accuracy_mean"] > max(target["test_accuracy_mean"], equal["test_accuracy_mean"])
            verdict = "yes" if beats and se and gap > se else "yes, within one s.e." if beats else "no"
            gap_text = f"{gap * 100:+.1f}" + (f" ({gap / se:+.1f} s.e.)" if se else "")
            lines.append(f"| {g} | {_labels_name(k)} | {_pm(meta['test_accuracy_mean'], meta['test_accuracy_se'])} | "
                         f"{_pm(target['test_accuracy_mean'], target['test_accuracy_se'])} | "
                         f"{_pm(equal['test_accuracy_mean'], equal['test_accuracy_se'])} | {gap_text} | "
                         f"{_paired(meta, target)} | {verdict} |")
    out["claim"] = "\n".join(lines) if len(lines) > 2 else "*Not computed yet.*"
    drops = data.get("dropped", [])
    lines = ["| graph | left out | seeds | test accuracy (%) | final weights |", "|---" * 5 + "|"]
    order = {g: i for i, g in enumerate(graphs)}
    for r in sorted(drops, key=lambda r: (order.get(r["graph"], len(order)), tasks.index(r["dropped"])
                                          if r["dropped"] in tasks else 0)):
        w = r["along"][-1]["weights"]
        lines.append(f"| {r['graph']} | {r['dropped']} | {len(r['seeds'])} | "
                     f"{_pm(r['test_accuracy_mean'], r['test_accuracy_se'])} | "
                     + ", ".join(f"{t} {w[t][0]:.2f}" for t in w) + " |")
    out["dropped"] = "\n".join(lines) if len(lines) > 2 else "*Not computed yet.*"
    return out
