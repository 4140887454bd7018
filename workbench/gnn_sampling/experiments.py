"""Every sampler on every graph at each batch size: accuracy, the gradient variance with its two components, and
how many mini-batches reach a stated validation F1 (Cong et al., KDD 2020, Fig. 2 and 4 in spirit).

A task trains one GCN (2 layers, hidden 64, dropout 0.1, Adam lr 0.01) with one sampler for ``steps`` mini-batches
and measures, at ``checkpoints`` (fractions of the run) and with dropout off, the squared distance of the
sampler's gradient to the full-batch gradient over ``draws`` batches, split into the stochastic part (the same
batch computed exactly) and the embedding part (:func:`~workbench.gnn_sampling.training.gradient_variance`); for
MVS the draws are spread over its last refresh cycle (``variance_window``), the others' are at the checkpoint.
``steps_to_target``: the first evaluation (every ``eval_every`` steps) whose validation F1-micro reaches the
graph's target (None if never). ``seconds_per_epoch``: training seconds per ``N_train / B`` steps.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

from workbench.checks import check_int, check_names
from workbench.gnn_sampling.graph import Graph, from_planetoid
from workbench.gnn_sampling.model import GCN
from workbench.gnn_sampling.samplers import SAMPLERS, make_sampler
from workbench.gnn_sampling.sbm import sbm_graph
from workbench.gnn_sampling.training import PARTS, gradient_variance, iter_train
from workbench.report import Report
from workbench.results_pages import grid_status
from workbench.runner import Runner, Task

__all__ = ["GRAPHS", "TARGETS", "sampler_options", "Settings", "QUICK", "FULL", "TASK_VERSION", "load_graph",
           "LR", "task_setup", "train_task", "tasks", "reproduce", "markdown_tables", "CLAIM_GRAPHS"]

#: graph name -> how to build it (SBM graphs: seed 0, the defaults of :func:`sbm_graph`)
GRAPHS = {"cora": lambda: from_planetoid("cora"), "citeseer": lambda: from_planetoid("citeseer"),
          "sbm-10k": lambda: sbm_graph(10_000), "sbm-100k": lambda: sbm_graph(100_000),
          "sbm-1m": lambda: sbm_graph(1_000_000)}
#: the validation F1-micro whose first crossing ``steps_to_target`` counts (high enough that a sampler's noise shows:
#: Cora's full batch ends near 0.87)
TARGETS = {"cora": 0.84, "citeseer": 0.70, "sbm-10k": 0.88, "sbm-100k": 0.88, "sbm-1m": 0.88}
PLANETOID = ("cora", "citeseer")
TASK_VERSION = 3


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


def task_setup(graph: str, sampler: str, batch_size: int, seed: int) -> tuple:
    """``(graph, batch size, sampler, model)`` of one grid task: the graph ``graph`` of :data:`GRAPHS`, the batch
    (every training node for ``full``, else ``batch_size`` capped there), ``sampler`` with its
    :func:`sampler_options`, and the untrained GCN (2 layers, hidden 64, dropout 0.1) of ``seed``."""
    g = load_graph(graph)
    batch = len(g.train_idx) if sampler == "full" else min(batch_size, len(g.train_idx))
    s = make_sampler(sampler, g, batch, **sampler_options(graph, sampler))
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
    reached = next((r["step"] for r in curve if r["val_f1"] >= target), None)
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
        ``seeds_reached``: how many did), ``target_val_f1``, ``seconds_per_epoch``, ``seeds``, and ``curve`` (the
        first seed's records: step, seconds, loss, val/test F1).
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
        reached = [r["steps_to_target"] for r in runs]
        row["steps_to_target"], row["steps_to_target_se"] = (mean_se(reached) if None not in reached
                                                             else (None, None))
        row["seeds_reached"] = sum(r is not None for r in reached)
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
                      "s/epoch": round(row["seconds_per_epoch"], 3)})
    data = {"topic": "gnn_sampling", "quick": quick, "seed": seed, "results": rows, "settings": asdict(cfg),
            "targets": TARGETS, "tasks": len(grid), "tasks_missing": runner.missing,
            "seconds": time.perf_counter() - t0}
    notes = ["Gradient variance: E|g - grad f|^2 over the run's last checkpoint's draws (dropout off); stochastic: the "
             "same batches computed exactly; embedding: the approximate against the exact batch gradient.",
             f"{len(grid)} tasks ({runner.describe()}). Took {data['seconds']:.1f} s."]
    if quick:
        notes.insert(0, "Quick run: Cora, batch 64, one seed, 120 steps; the full run adds Citeseer, a 100k-node "
                        "SBM graph, batch 16 and 5 seeds (3 on the SBM graph).")
    if runner.missing:
        notes.insert(0, f"PARTIAL: {runner.missing} of {len(grid)} tasks are not computed yet (a report from the "
                        "cache).")
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


def _steps(row: dict) -> str:
    n = len(row["seeds"])
    if row["steps_to_target"] is None:
        return f"{row.get('seeds_reached', 0)} of {n} seeds reached it"
    return plus_minus(row["steps_to_target"], row["steps_to_target_se"], ".0f")


def markdown_tables(data: dict) -> dict[str, str]:
    """The results page's tables: ``status``; per graph ``<graph>`` (every sampler at every batch size: test F1,
    the gradient variance and its two parts at the run's end, mini-batches to the target, seconds per epoch; means
    ± standard errors over seeds); ``claim``: MVS against uniform and GraphSAGE on :data:`CLAIM_GRAPHS`."""
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
                         f"{plus_minus(r['variance_embedding'], r['variance_embedding_se'], '.3g')} | {_steps(r)} | "
                         f"{plus_minus(r['seconds_per_epoch'], None, '.3f')} |")
        out[graph] = "\n".join(lines)
    claim = ["| graph | B | MVS variance | uniform | GraphSAGE | lower? | MVS mini-batches | uniform | GraphSAGE | "
             "fewer? |", "|---" * 10 + "|"]
    for graph in CLAIM_GRAPHS:
        sizes = sorted({r["batch_size"] for r in rows if r["graph"] == graph and r["sampler"] == "mvs"})
        for b in sizes:
            by = {r["sampler"]: r for r in rows if r["graph"] == graph and r["batch_size"] == b}
            if not {"mvs", "uniform", "sage"} <= set(by):
                continue
            mvs, others = by["mvs"], (by["uniform"], by["sage"])
            lower = all(mvs["gradient_variance"] < o["gradient_variance"] for o in others)
            steps = [r["steps_to_target"] for r in (mvs, *others)]
            if steps[0] is None:  # MVS missed the target in some seed
                fewer = "no" if any(o is not None for o in steps[1:]) else "–"
            elif all(o is None or steps[0] < o for o in steps[1:]):
                gaps = [(o["steps_to_target"] - mvs["steps_to_target"]) / math.hypot(
                    mvs["steps_to_target_se"] or 0, o["steps_to_target_se"] or 0) for o in others
                    if o["steps_to_target"] is not None and (mvs["steps_to_target_se"] or o["steps_to_target_se"])]
                fewer = "yes" if all(g > 1 for g in gaps) else "yes, within one s.e."
            else:
                fewer = "no"
            claim.append(f"| {graph} | {b:,} | " + " | ".join(
                plus_minus(r["gradient_variance"], r["gradient_variance_se"], ".3g") for r in (mvs, *others))
                + f" | {'yes' if lower else 'no'} | " + " | ".join(_steps(r) for r in (mvs, *others))
                + f" | {fewer} |")
    out["claim"] = "\n".join(claim) if len(claim) > 2 else "*Not computed yet.*"
    return out
