"""Every sampler on every graph at each batch size: accuracy, the gradient variance with its two components, and
how many mini-batches reach a stated validation F1 (Cong et al., KDD 2020, Fig. 2 and 4 in spirit).

A task trains one GCN (2 layers, hidden 64, dropout 0.1, Adam lr 0.01) with one sampler for ``steps`` mini-batches
and measures, at ``checkpoints`` (fractions of the run) and with dropout off, the squared distance of the
sampler's gradient to the full-batch gradient over ``draws`` batches, split into the stochastic part (the same
batch computed exactly) and the embedding part (:func:`~workbench.gnn_sampling.training.gradient_variance`); for
MVS the draws are spread over its last refresh cycle (``variance_window``), the others' are at the checkpoint.
``steps_to_target``: the first evaluation (every ``eval_every`` steps) whose validation F1-micro reaches the
graph's target (None if never), and the rows count mini-batches to each validation F1 of a ladder around it
(:data:`VAL_OFFSETS`); the curve also has the full-batch training loss, and the rows count mini-batches to each of
:data:`LOSS_LEVELS` in the same way. ``seconds_per_epoch``: training seconds per ``N_train / B`` steps.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterator

from workbench.checks import check_int, check_names
from workbench.gnn_sampling.graph import Graph, from_planetoid
from workbench.gnn_sampling.model import GCN
from workbench.gnn_sampling.samplers import SAMPLERS, make_sampler
from workbench.gnn_sampling.sbm import sbm_graph
from workbench.gnn_sampling.training import PARTS, gradient_variance, iter_train
from workbench.report import Report, grid_notes
from workbench.results_pages import grid_status
from workbench.runner import Runner, Task

__all__ = ["GRAPHS", "TARGETS", "sampler_options", "Settings", "QUICK", "FULL", "TASK_VERSION", "load_graph",
           "LR", "task_setup", "train_task", "tasks", "reproduce", "markdown_tables", "CLAIM_GRAPHS",
           "LOSS_LEVELS", "steps_to_loss", "claim_loss_level", "VAL_OFFSETS", "steps_to_val_f1", "val_levels"]

#: graph name -> how to build it (SBM graphs: seed 0, the defaults of :func:`sbm_graph`)
GRAPHS = {"cora": lambda: from_planetoid("cora"), "citeseer": lambda: from_planetoid("citeseer"),
          "sbm-10k": lambda: sbm_graph(10_000), "sbm-100k": lambda: sbm_graph(100_000),
          "sbm-1m": lambda: sbm_graph(1_000_000)}
#: the validation F1-micro whose first crossing ``steps_to_target`` counts (high enough that a sampler's noise shows:
#: Cora's full batch ends near 0.87)
TARGETS = {"cora": 0.84, "citeseer": 0.70, "sbm-10k": 0.88, "sbm-100k": 0.88, "sbm-1m": 0.88}
PLANETOID = ("cora", "citeseer")
#: the full-batch training losses whose first crossing the loss ladder counts (the paper's Fig. 4 compares MVS and
#: uniform sampling by the training loss); the claim reads the lowest that every seed of those two reaches
LOSS_LEVELS = (0.5, 0.3, 0.2, 0.1, 0.05)
#: the validation-F1 ladder around each graph's target (the target plus these): whether MVS is first does not hang
#: on where the target is put
VAL_OFFSETS = (-0.04, -0.02, 0.0, 0.02, 0.04)
#: how far below a level an F1 may be and still count as reaching it: records before 2026-12-07 hold F1 = k / n in
#: float32 (420 / 500 = 0.83999997, relative error under 6e-8); 1e-6 absorbs that and is far below the smallest F1
#: step of these graphs (1 / 20,000 validation nodes = 5e-5), so it never admits a lower F1
F1_TOLERANCE = 1e-6
TASK_VERSION = 4


def sampler_options(graph: str, sampler: str) -> dict:
    """Settings beyond the batch size: GraphSAGE's fan-outs (5, 5) as in the MVS paper; MVS as the paper runs it,
    on Cora and Citeseer with exact neighbourhoods and ``p`` refreshed every 10 steps (its small-batch study),
    on the SBM graphs with historical embeddings refreshed every 20 steps (its Alg. 1)."""
    if sampler == "sage":
        return {"fanouts": (5, 5)}
    if sampler == "mvs":
        return {"history": False, "refresh_every": 10} if graph in PLANETOID else {"history": True,
                                                                                  "refresh_every": 20}
    return {}
TASKS = "workbench.gnn_sampling.experiments"


@dataclass(frozen=True)
class Settings:
    """``graphs`` × ``samplers`` × ``batch_sizes`` (per graph) × ``seeds``; ``steps`` (per graph) mini-batches each,
    evaluated every ``eval_every``; the variance at ``checkpoints`` over ``draws`` batches."""

    graphs: tuple[str, ...] = ("cora", "citeseer", "sbm-100k")
    samplers: tuple[str, ...] = tuple(SAMPLERS)
    batch_sizes: dict = field(default_factory=lambda: {"cora": (16, 64), "citeseer": (16, 64),
                                                       "sbm-100k": (256, 1024)})
    steps: dict = field(default_factory=lambda: {"cora": 400, "citeseer": 400, "sbm-100k": 600})
    seeds: dict = field(default_factory=lambda: {"cora": 5, "citeseer": 5, "sbm-100k": 3})
    eval_every: int = 5
    checkpoints: tuple[float, ...] = (0.1, 0.5, 1.0)
    draws: int = 20

    def __post_init__(self):
        check_names("graphs", self.graphs, GRAPHS)
        check_names("samplers", self.samplers, SAMPLERS)
        for name in ("batch_sizes", "steps", "seeds"):
            if not isinstance(getattr(self, name), dict):
                raise TypeError(f"{name}: expected a dict from graph name to its value, got {getattr(self, name)!r}")
        for g in self.graphs:
            for b in self.batch_sizes.get(g, ()):
                check_int(f"batch_sizes[{g!r}]", b, 1)
            if not self.batch_sizes.get(g):
                raise ValueError(f"batch_sizes: expected batch sizes for {g!r}, got none")
            check_int(f"steps[{g!r}]", self.steps.get(g), 1)
            check_int(f"seeds[{g!r}]", self.seeds.get(g), 1)
        check_int("eval_every", self.eval_every, 1)
        check_int("draws", self.draws, 2)
        if not self.checkpoints or any(not 0 < c <= 1 for c in self.checkpoints):
            raise ValueError(f"checkpoints: expected fractions of the run in (0, 1], got {self.checkpoints!r}")


QUICK = Settings(graphs=("cora",), batch_sizes={"cora": (64,)}, steps={"cora": 120}, seeds={"cora": 1}, eval_every=10,
                 checkpoints=(1.0,), draws=8)
FULL = Settings()


@functools.lru_cache(maxsize=2)
def load_graph(name: str) -> Graph:
    """The graph ``name`` of :data:`GRAPHS` (cached per process)."""
    if name not in GRAPHS:
        raise ValueError(f"name: expected one of {list(GRAPHS)}, got {name!r}")
    return GRAPHS[name]()


#: the learning rate of every grid task (Adam)
LR = 0.01


def task_setup(graph: str, sampler: str, batch_size: int, seed: int, options: dict | None = None) -> tuple:
    """``(graph, batch size, sampler, model)`` of one grid task: the graph ``graph`` of :data:`GRAPHS`, the batch
    (every training node for ``full``, else ``batch_size`` capped there), ``sampler`` with its
    :func:`sampler_options` (updated by ``options``, for runs outside the grid), and the untrained GCN (2 layers,
    hidden 64, dropout 0.1) of ``seed``."""
    if options is not None and not isinstance(options, dict):
        raise TypeError(f"options: expected a dict of sampler options or None, got {type(options).__name__}")
    g = load_graph(graph)
    batch = len(g.train_idx) if sampler == "full" else min(batch_size, len(g.train_idx))
    s = make_sampler(sampler, g, batch, **{**sampler_options(graph, sampler), **(options or {})})
    model = GCN(g.X.shape[1], g.num_classes, hidden=64, layers=2, dropout=0.1, seed=seed)
    return g, batch, s, model


def train_task(graph: str, sampler: str, batch_size: int, seed: int, steps: int, eval_every: int,
               checkpoints: list, draws: int) -> dict:
    """One training run (see the module): its curve, variance checkpoints, final test F1 and timing."""
    g, batch, s, model = task_setup(graph, sampler, batch_size, seed)
    at = sorted({max(1, round(c * steps)) for c in checkpoints})
    curve, variance = [], []
    for record in iter_train(g, s, steps, lr=LR, eval_every=eval_every, seed=seed, model=model,
                             variance_at=tuple(at), draws=draws, variance_window=s.cycle):
        v = record.pop("variance", None)
        if v is not None:
            variance.append({"step": record["step"], **{k: v[k] for k in PARTS}})
        curve.append(record)
    fresh = None
    if getattr(s, "use_history", False):
        # the end's variance again with the histories refreshed at the final weights: what is left of the embedding
        # part is not staleness (nothing flows back through the histories)
        s.refresh_now(model, g.X)
        v = gradient_variance(model, g, s, draws=draws, seed=seed + steps)
        fresh = {"step": steps, **{k: v[k] for k in PARTS}}
    target = TARGETS[graph]
    reached = steps_to_val_f1(curve, target)
    per_epoch = curve[-1]["seconds"] / steps * (len(g.train_idx) / batch)
    # the full batch's row says how many nodes its batches hold
    return {"graph": graph, "sampler": sampler, "batch_size": batch, "seed": seed, "curve": curve,
            "variance": variance, "variance_fresh_history": fresh, "test_f1_micro": curve[-1]["test_f1"],
            "val_f1_micro": curve[-1]["val_f1"],
            "steps_to_target": reached, "target_val_f1": target, "seconds_per_epoch": per_epoch}


def tasks(settings: Settings, first_seed: int = 0) -> list[Task]:
    out = []
    for graph in settings.graphs:
        for sampler in settings.samplers:
            sizes = settings.batch_sizes[graph][:1] if sampler == "full" else settings.batch_sizes[graph]
            for b in sizes:
                for s in range(first_seed, first_seed + settings.seeds[graph]):
                    out.append(Task(f"{TASKS}:train_task", {
                        "graph": graph, "sampler": sampler, "batch_size": b, "seed": s,
                        "steps": settings.steps[graph], "eval_every": settings.eval_every,
                        "checkpoints": list(settings.checkpoints), "draws": settings.draws}))
    return out


def mean_se(values: list) -> tuple[float | None, float | None]:
    """Mean and standard error over ``values`` with the ``None`` entries (runs that never got there) left out;
    ``(None, None)`` for no value, ``(mean, None)`` for one."""
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var / len(values))


def steps_to_val_f1(curve: list[dict], level: float) -> int | None:
    """The first step of ``curve`` (:func:`train_task`'s records) whose validation F1 reaches ``level`` (within
    :data:`F1_TOLERANCE`); None if none does."""
    return next((r["step"] for r in curve if r["val_f1"] >= level - F1_TOLERANCE), None)


def val_levels(target: float) -> list[float]:
    """The validation-F1 ladder around ``target``: ``target + o`` for ``o`` in :data:`VAL_OFFSETS`, in [0, 1]."""
    return [round(target + o, 2) for o in VAL_OFFSETS if 0 <= target + o <= 1]


def steps_to_loss(curve: list[dict], level: float) -> int | None:
    """The first step of ``curve`` (:func:`train_task`'s records) whose full-batch training loss is at most
    ``level``; None if none is."""
    return next((r["step"] for r in curve if r["train_loss"] <= level), None)


def _count(steps: list) -> dict:
    """Mean and standard error of per-seed step counts, ``None`` for both unless every seed got there, and how many
    did."""
    mean, se = mean_se(steps) if None not in steps else (None, None)
    return {"steps": mean, "steps_se": se, "seeds_reached": sum(s is not None for s in steps)}


def claim_loss_level(rows: list[dict]) -> float | None:
    """The lowest training loss of the rows' ladders (:func:`reproduce`'s ``steps_to_loss``) that every seed of
    every row in ``rows`` reaches; None if none is."""
    levels = [{lv["loss"] for lv in r["steps_to_loss"] if lv["steps"] is not None} for r in rows]
    return min(set.intersection(*levels), default=None) if levels else None


def reproduce(quick: bool = False, seed: int = 0, progress: Callable | None = None,
              settings: Settings | None = None, runner: Runner | None = None) -> Report:
    """Every sampler on every graph and batch size.

    Args:
        quick: :data:`QUICK`: Cora, batch 64, one seed, 120 steps, in this process (well under a minute on 2
            cores). Otherwise :data:`FULL` (Cora and Citeseer at batch 16 and 64, a 100k-node SBM graph at 256 and
            1,024; 5 seeds on Cora and Citeseer, 3 on the SBM graph) as a task grid on ``runner`` (default: a Dask
            LocalCluster, cached).

    Returns:
        ``Report`` whose ``data["results"]`` has one object per (graph, sampler, batch size), means over seeds:
        ``graph``, ``sampler`` (``"full"``, ``"uniform"``, ``"sage"``, ``"ladies"``, ``"saint"``, ``"mvs"``),
        ``batch_size``, ``test_f1_micro`` (fraction), ``gradient_variance`` (total, at the run's end) with
        ``variance_embedding`` and ``variance_stochastic`` (and ``*_se``: the standard error over seeds),
        ``variance_along`` (per checkpoint: step and the three means); for samplers with historical embeddings
        (MVS on the SBM graph) ``gradient_variance_fresh_history`` and ``variance_embedding_fresh_history``: the
        end's total and embedding part again right after a refresh of the histories (their floor),
        ``steps_to_target`` (mini-batches to the target validation F1; ``None`` if a seed never reached it;
        ``seeds_reached``: how many did; ``steps_to_target_by_seed``: each seed's, in the order of ``seeds``),
        ``target_val_f1``, ``steps_to_val_f1`` (per level of the ladder around the target, :func:`val_levels`:
        ``val_f1``, ``steps``, ``steps_se``, ``seeds_reached``), ``train_loss`` (the full-batch training loss at
        the end), ``steps_to_loss`` (per level of :data:`LOSS_LEVELS`: ``loss``, ``steps``, ``steps_se``,
        ``seeds_reached``, as for the target), ``seconds_per_epoch``, ``seeds``, and ``curve`` (the first seed's
        records: step, seconds, mini-batch loss, val/test F1, training and validation loss).
    """
    t0 = time.perf_counter()
    cfg = settings or (QUICK if quick else FULL)
    runner = runner or (Runner.in_process() if quick else Runner())
    grid = tasks(cfg, seed)
    results = runner.run("gnn_sampling", grid, TASK_VERSION, progress, desc="sampling tasks")
    cells: dict[tuple, list[dict]] = {}
    for r in results:
        if r is not None:  # None: not computed yet (--cached-only)
            cells.setdefault((r["graph"], r["sampler"], r["batch_size"]), []).append(r)
    rows, table = [], []
    for (graph, sampler, batch), runs in cells.items():
        last = [r["variance"][-1] for r in runs]
        row = {"graph": graph, "sampler": sampler, "batch_size": batch, "seeds": [r["seed"] for r in runs],
               "target_val_f1": runs[0]["target_val_f1"], "curve": runs[0]["curve"]}
        for key, values in (("test_f1_micro", [r["test_f1_micro"] for r in runs]),
                            ("gradient_variance", [v["total"]["mean"] for v in last]),
                            ("variance_stochastic", [v["stochastic"]["mean"] for v in last]),
                            ("variance_embedding", [v["embedding"]["mean"] for v in last]),
                            ("seconds_per_epoch", [r["seconds_per_epoch"] for r in runs])):
            row[key], row[f"{key}_se"] = mean_se(values)
        # from the curves, not the tasks' own steps_to_target: records before 2026-12-07 missed exact hits (F1 in
        # float32, see F1_TOLERANCE)
        row["steps_to_target_by_seed"] = [steps_to_val_f1(r["curve"], r["target_val_f1"]) for r in runs]
        count = _count(row["steps_to_target_by_seed"])
        row["steps_to_target"], row["steps_to_target_se"], row["seeds_reached"] = (
            count["steps"], count["steps_se"], count["seeds_reached"])
        row["train_loss"], row["train_loss_se"] = mean_se([r["curve"][-1]["train_loss"] for r in runs])
        row["steps_to_val_f1"] = [{"val_f1": level, **_count([steps_to_val_f1(r["curve"], level) for r in runs])}
                                  for level in val_levels(row["target_val_f1"])]
        row["steps_to_loss"] = [{"loss": level, **_count([steps_to_loss(r["curve"], level) for r in runs])}
                                for level in LOSS_LEVELS]
        fresh = [r.get("variance_fresh_history") for r in runs]
        if None not in fresh:  # samplers with histories: the end's total and embedding part with fresh ones
            for key, part in (("gradient_variance_fresh_history", "total"),
                              ("variance_embedding_fresh_history", "embedding")):
                row[key], row[f"{key}_se"] = mean_se([f[part]["mean"] for f in fresh])
        row["variance_along"] = [{"step": v["step"], **{k: mean_se([r["variance"][i][k]["mean"] for r in runs])[0]
                                                         for k in PARTS}} for i, v in enumerate(runs[0]["variance"])]
        rows.append(row)
        table.append({"graph": graph, "sampler": sampler, "B": batch,
                      "test F1": round(row["test_f1_micro"], 3),
                      "grad. variance": f"{row['gradient_variance']:.3g}",
                      "stochastic": f"{row['variance_stochastic']:.3g}",
                      "embedding": f"{row['variance_embedding']:.3g}",
                      "steps to target": row["steps_to_target"],
                      "train loss": round(row["train_loss"], 3),
                      "s/epoch": round(row["seconds_per_epoch"], 3)})
    data = {"topic": "gnn_sampling", "quick": quick, "seed": seed, "results": rows, "settings": asdict(cfg),
            "targets": TARGETS, "tasks": len(grid), "tasks_missing": runner.missing,
            "seconds": time.perf_counter() - t0}
    notes = grid_notes(
        ["Gradient variance: E|g - grad f|^2 over the run's last checkpoint's draws (dropout off); stochastic: the "
         "same batches computed exactly; embedding: the approximate against the exact batch gradient."],
        len(grid), runner, data["seconds"],
        quick="Quick run: Cora, batch 64, one seed, 120 steps; the full run adds Citeseer, a 100k-node SBM graph, "
              "batch 16 and 5 seeds (3 on the SBM graph)." if quick else None)
    return Report("Minimal variance sampling for GNN training (Cong et al., KDD 2020): samplers side by side", data,
                  table, notes)


#: the graphs the issue's claim is checked on (MVS against uniform and GraphSAGE at the same batch size)
CLAIM_GRAPHS = ("cora", "sbm-100k")
SAMPLER_ORDER = tuple(SAMPLERS)


def plus_minus(mean, se, fmt: str) -> str:
    """``"mean ± se"`` in the tables (``fmt`` a format spec), ``"mean"`` without a standard error, "–" without a
    mean."""
    if mean is None:
        return "–"
    return format(mean, fmt) + ("" if se is None else f" ± {format(se, fmt)}")


def _steps(count: dict, seeds: int, missed: str = " seeds reached it") -> str:
    """A step-count cell: ``count`` has ``steps``, ``steps_se``, ``seeds_reached`` (of ``seeds``); where some seed
    never got there, "k of n" and ``missed``."""
    if count["steps"] is None:
        return f"{count.get('seeds_reached', 0)} of {seeds}{missed}"
    return plus_minus(count["steps"], count["steps_se"], ".0f")


def _target(row: dict) -> dict:
    return {"steps": row["steps_to_target"], "steps_se": row["steps_to_target_se"],
            "seeds_reached": row.get("seeds_reached", 0)}


def _at_loss(row: dict, level: float) -> dict:
    return next(lv for lv in row["steps_to_loss"] if lv["loss"] == level)


def _trios(rows: list[dict], graphs) -> Iterator[tuple[str, int, tuple[dict, dict, dict]]]:
    """``(graph, batch size, (MVS's row, uniform's, GraphSAGE's))`` for every graph of ``graphs`` and batch size at
    which MVS ran, in order; cells without all three are left out."""
    for graph in graphs:
        for b in sorted({r["batch_size"] for r in rows if r["graph"] == graph and r["sampler"] == "mvs"}):
            by = {r["sampler"]: r for r in rows if r["graph"] == graph and r["batch_size"] == b}
            if {"mvs", "uniform", "sage"} <= set(by):
                yield graph, b, (by["mvs"], by["uniform"], by["sage"])


def _val_ladder(data: dict) -> str:
    """MVS against uniform and GraphSAGE at every level of the validation-F1 ladder (:func:`val_levels`), on every
    graph and batch size: mini-batches to it, and whether MVS's are fewer."""
    rows = data["results"]
    lines = ["| graph | B | validation F1 | MVS mini-batches | uniform | GraphSAGE | fewer? |", "|---" * 7 + "|"]
    for graph, b, trio in _trios(rows, data.get("settings", {}).get("graphs", ())):
        if not all("steps_to_val_f1" in r for r in trio):
            continue
        for i, level in enumerate(lv["val_f1"] for lv in trio[0]["steps_to_val_f1"]):
            counts = [r["steps_to_val_f1"][i] for r in trio]
            mark = " (the target)" if level == trio[0]["target_val_f1"] else ""
            lines.append(f"| {graph} | {b:,} | {level:.2f}{mark} | "
                         + " | ".join(_steps(c, len(r["seeds"]), missed="") for c, r in zip(counts, trio))
                         + f" | {_fewer(counts[0], counts[1:])} |")
    return "\n".join(lines) if len(lines) > 2 else "*Not computed yet.*"


def _seed_by_seed(a: dict, b: dict) -> dict | None:
    """Row ``a``'s mini-batches to the target minus row ``b``'s, seed by seed (a seed is the same initial weights
    for both, and for MVS and uniform sampling the same random numbers of the draws), matched by the seed's
    number: ``{"mean", "se", "ahead" (seeds where ``a`` is first), "pairs"}`` over the seeds both reached; None
    without per-seed counts or with fewer than two such seeds."""
    if "steps_to_target_by_seed" not in a or "steps_to_target_by_seed" not in b:
        return None
    theirs = dict(zip(b["seeds"], b["steps_to_target_by_seed"]))
    diffs = [x - theirs[s] for s, x in zip(a["seeds"], a["steps_to_target_by_seed"])
             if x is not None and theirs.get(s) is not None]
    if len(diffs) < 2:
        return None
    mean, se = mean_se(diffs)
    return {"mean": mean, "se": se, "ahead": sum(d < 0 for d in diffs), "pairs": len(diffs)}


def _paired_table(data: dict) -> str:
    """MVS against uniform and GraphSAGE on every graph and batch size, seed by seed (:func:`_seed_by_seed`), and
    whether MVS is first against both: "yes" (each mean difference below zero by more than its standard error),
    "yes, within one s.e.", or "no"."""
    rows = data["results"]
    lines = ["| graph | B | MVS − uniform (mini-batches) | MVS − GraphSAGE | fewer, seed by seed? |", "|---" * 5 + "|"]
    for graph, b, (mvs, *others) in _trios(rows, data.get("settings", {}).get("graphs", ())):
        pairs = [_seed_by_seed(mvs, o) for o in others]
        if None in pairs:
            continue
        first = all(p["mean"] < 0 for p in pairs)
        verdict = ("yes" if all(-p["mean"] > p["se"] for p in pairs) else "yes, within one s.e.") if first else "no"
        lines.append(f"| {graph} | {b:,} | " + " | ".join(
            f"{p['mean']:+.0f} ± {p['se']:.0f} ({p['ahead']} of {p['pairs']} seeds ahead)" for p in pairs)
            + f" | {verdict} |")
    return "\n".join(lines) if len(lines) > 2 else "*Not computed yet.*"


def _fewer(mvs: dict, others: list[dict]) -> str:
    """Whether MVS's step count (a :func:`_count`) is below every other's: "yes", "yes, within one s.e." (a lead
    smaller than the standard error of some difference), "no", or "–" when no sampler got there in every seed."""
    if mvs["steps"] is None:  # MVS missed it in some seed
        return "no" if any(o["steps"] is not None for o in others) else "–"
    if not all(o["steps"] is None or mvs["steps"] < o["steps"] for o in others):
        return "no"
    gaps = [(o["steps"] - mvs["steps"]) / math.hypot(mvs["steps_se"] or 0, o["steps_se"] or 0) for o in others
            if o["steps"] is not None and (mvs["steps_se"] or o["steps_se"])]
    return "yes" if all(g > 1 for g in gaps) else "yes, within one s.e."


def markdown_tables(data: dict) -> dict[str, str]:
    """The results page's tables: ``status``; per graph ``<graph>`` (every sampler at every batch size: test F1,
    the gradient variance and its two parts at the run's end, mini-batches to the target, seconds per epoch; means
    ± standard errors over seeds); ``claim``: MVS against uniform and GraphSAGE on :data:`CLAIM_GRAPHS`;
    ``claim_loss``: the same trio by mini-batches to a full-batch training loss; ``loss_ladder``: every sampler at every
    level of :data:`LOSS_LEVELS`; ``val_ladder``: the trio at every level of the validation-F1 ladder;
    ``claim_paired``: the trio's mini-batches to the target compared seed by seed."""
    out = {"status": grid_status(data)}
    rows = data["results"]
    for graph in data.get("settings", {}).get("graphs", ()):
        mine = sorted((r for r in rows if r["graph"] == graph),
                      key=lambda r: (r["batch_size"] if r["sampler"] != "full" else 0,
                                     SAMPLER_ORDER.index(r["sampler"])))
        if not mine:
            out[graph] = "*Not computed yet.*"
            continue
        lines = ["| B | sampler | seeds | test F1 | gradient variance | stochastic | embedding | "
                 f"mini-batches to {mine[0]['target_val_f1']:.2f} val. F1 | s / epoch |", "|---" * 9 + "|"]
        for r in mine:
            lines.append(f"| {r['batch_size']:,} | {r['sampler']} | {len(r['seeds'])} | "
                         f"{plus_minus(r['test_f1_micro'], r['test_f1_micro_se'], '.3f')} | "
                         f"{plus_minus(r['gradient_variance'], r['gradient_variance_se'], '.3g')} | "
                         f"{plus_minus(r['variance_stochastic'], r['variance_stochastic_se'], '.3g')} | "
                         f"{plus_minus(r['variance_embedding'], r['variance_embedding_se'], '.3g')} | "
                         f"{_steps(_target(r), len(r['seeds']))} | "
                         f"{plus_minus(r['seconds_per_epoch'], None, '.3f')} |")
        out[graph] = "\n".join(lines)
    claim = ["| graph | B | MVS variance | uniform | GraphSAGE | lower? | MVS mini-batches | uniform | GraphSAGE | "
             "fewer? |", "|---" * 10 + "|"]
    claim_loss = ["| graph | B | training loss | MVS mini-batches | uniform | GraphSAGE | fewer? | MVS loss at the end "
                  "| uniform | GraphSAGE |", "|---" * 10 + "|"]
    for graph, b, trio in _trios(rows, CLAIM_GRAPHS):
        lower = all(trio[0]["gradient_variance"] < o["gradient_variance"] for o in trio[1:])
        counts = [_target(r) for r in trio]
        claim.append(f"| {graph} | {b:,} | " + " | ".join(
            plus_minus(r["gradient_variance"], r["gradient_variance_se"], ".3g") for r in trio)
            + f" | {'yes' if lower else 'no'} | " + " | ".join(_steps(c, len(r["seeds"])) for c, r in
                                                             zip(counts, trio))
            + f" | {_fewer(counts[0], counts[1:])} |")
        if all("steps_to_loss" in r for r in trio):
            level = claim_loss_level(list(trio[:2]))  # the pair the paper's Fig. 4 compares
            counts = [_at_loss(r, level) for r in trio] if level is not None else None
            claim_loss.append(f"| {graph} | {b:,} | " + (
                f"{level:g} | " + " | ".join(_steps(c, len(r["seeds"])) for c, r in zip(counts, trio))
                + f" | {_fewer(counts[0], counts[1:])} | " if counts else "– | – | – | – | – | ")
                + " | ".join(plus_minus(r["train_loss"], r["train_loss_se"], ".3f") for r in trio) + " |")
    out["claim_loss"] = "\n".join(claim_loss) if len(claim_loss) > 2 else "*Not computed yet.*"
    out["loss_ladder"] = _loss_ladder(data)
    out["val_ladder"] = _val_ladder(data)
    out["claim_paired"] = _paired_table(data)
    out["claim"] = "\n".join(claim) if len(claim) > 2 else "*Not computed yet.*"
    return out


def _loss_ladder(data: dict) -> str:
    """Every graph, batch size and sampler: the full-batch training loss at the end and the mini-batches to each
    level of the ladder."""
    rows = [r for r in data["results"] if "steps_to_loss" in r]
    if not rows:
        return "*Not computed yet.*"
    levels = [lv["loss"] for lv in rows[0]["steps_to_loss"]]
    lines = ["| graph | B | sampler | training loss at the end | " + " | ".join(f"to {lv:g}" for lv in levels) + " |",
             "|---" * (4 + len(levels)) + "|"]
    graphs = data.get("settings", {}).get("graphs", ())
    for r in sorted(rows, key=lambda r: (graphs.index(r["graph"]) if r["graph"] in graphs else len(graphs),
                                         r["batch_size"] if r["sampler"] != "full" else 0,
                                         SAMPLER_ORDER.index(r["sampler"]))):
        lines.append(f"| {r['graph']} | {r['batch_size']:,} | {r['sampler']} | "
                     f"{plus_minus(r['train_loss'], r['train_loss_se'], '.3f')} | "
                     + " | ".join(_steps(_at_loss(r, lv), len(r["seeds"]), missed="") for lv in levels) + " |")
    return "\n".join(lines)
