"""The SNN against its non-spiking twin (MLP), a 1-D CNN and gradient-boosted trees on the real ISCX flows, with
the hidden size, the surrogate and the time axis varied for the SNN.

Every model trains on the 12,922 training flows (10 % held out, stratified, to choose the epoch) and is scored on
the 1,291 flows of the validation split (the data set's only other split: our test set). A task is one (model,
variant, seed); the SNN's costs (spikes, synaptic operations) are counted on the validation flows.
"""

from __future__ import annotations

import functools
import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch

from kernels import SURROGATES
from workbench.checks import check_int, check_names, check_real
from workbench.report import Report, grid_notes
from workbench.results_pages import grid_status
from workbench.runner import Runner, Task
from workbench.spiking_traffic.baselines import (RateMLP, SequenceCNN, fit_trees, raw_features, raw_sequence,
                                                 tree_comparisons, tree_nodes)
from workbench.spiking_traffic.encoding import TIME_SCALES, Encoding, encode
from workbench.spiking_traffic.energy import snn_costs
from workbench.spiking_traffic.flows import CLASSES, load_iscx
from workbench.spiking_traffic.network import SpikingNetwork
from workbench.spiking_traffic.training import TrainSettings, predict_logits, train

__all__ = ["MODELS", "MODEL_NAMES", "Settings", "QUICK", "FULL", "TASK_VERSION", "run_task", "tasks", "summarise",
           "reproduce", "markdown_tables", "evaluate", "encoding_for"]

MODELS = ("snn", "mlp", "cnn", "trees")
MODEL_NAMES = {"snn": "SNN (LIF, surrogate gradient)", "mlp": "MLP, same size (non-spiking)",
               "cnn": "1-D CNN, raw sequence", "trees": "gradient-boosted trees, raw sequence"}
#: the paper's time axis: 300 steps of 200 ms (its 60 s windows)
LINEAR_BINS, LINEAR_WINDOW = 300, 60.0
TASK_VERSION = 1
TASKS = "workbench.spiking_traffic.experiments"


@dataclass(frozen=True)
class Settings:
    """``models`` × ``seeds`` at ``hidden`` neurons, ``surrogate``, ``time_scale`` with ``n_bins`` steps, trained for
    ``epochs`` (Adam at ``lr``, batches of ``batch_size``); the SNN also with each of ``hidden_sweep`` neurons, each
    other surrogate of ``surrogates`` and each other time axis of ``time_scales``, over ``ablation_seeds`` seeds.
    ``max_train`` caps the training flows (None: all); ``trees_max_iter`` boosting rounds. ``gap_bins > 0`` adds
    the SNN with that many gap inputs (:class:`Encoding`) over ``seeds`` seeds (not in the paper), at ``hidden`` and
    at each of ``gap_hidden`` neurons."""

    models: tuple[str, ...] = MODELS
    seeds: int = 3
    hidden: int = 100
    surrogate: str = "sigmoid"
    time_scale: str = "log"
    n_bins: int = 100
    epochs: int = 20
    lr: float = 2e-3
    batch_size: int = 128
    hidden_sweep: tuple[int, ...] = (10, 25, 50, 200)
    surrogates: tuple[str, ...] = ("fast_sigmoid", "arctan")
    time_scales: tuple[str, ...] = ("flow", "linear")
    ablation_seeds: int = 2
    max_train: int | None = None
    trees_max_iter: int = 300
    gap_bins: int = 50
    gap_hidden: tuple[int, ...] = (25,)

    def __post_init__(self):
        check_names("models", self.models, MODELS)
        check_int("seeds", self.seeds, 1)
        check_int("hidden", self.hidden, 1)
        if self.surrogate not in SURROGATES:
            raise ValueError(f"surrogate: expected one of {SURROGATES}, got {self.surrogate!r}")
        if self.time_scale not in TIME_SCALES:
            raise ValueError(f"time_scale: expected one of {TIME_SCALES}, got {self.time_scale!r}")
        check_int("n_bins", self.n_bins, 2)
        check_int("epochs", self.epochs, 1)
        check_real("lr", self.lr)
        check_int("batch_size", self.batch_size, 1)
        for h in self.hidden_sweep:
            check_int("hidden_sweep", h, 1)
        if self.surrogates:
            check_names("surrogates", self.surrogates, SURROGATES)
        if self.time_scales:
            check_names("time_scales", self.time_scales, TIME_SCALES)
        check_int("ablation_seeds", self.ablation_seeds, 1)
        if self.max_train is not None:
            check_int("max_train", self.max_train, 10)
        check_int("trees_max_iter", self.trees_max_iter, 1)
        check_int("gap_bins", self.gap_bins, 0)
        for h in self.gap_hidden:
            check_int("gap_hidden", h, 1)


QUICK = Settings(seeds=1, epochs=5, hidden_sweep=(), surrogates=(), time_scales=(), trees_max_iter=100, gap_bins=0)
FULL = Settings()


def encoding_for(time_scale: str, n_bins: int, gap_bins: int = 0) -> Encoding:
    """The encoding of a run: ``linear`` is the paper's 300 steps of 200 ms; ``log`` and ``flow`` use ``n_bins``;
    ``gap_bins`` gap inputs after the size bins."""
    if time_scale == "linear":
        return Encoding("linear", LINEAR_BINS, t_max=LINEAR_WINDOW, gap_bins=gap_bins)
    return Encoding(time_scale, n_bins, gap_bins=gap_bins)


@functools.lru_cache(maxsize=4)
def _encoded(split: str, time_scale: str, n_bins: int, gap_bins: int = 0) -> torch.Tensor:
    return encode(load_iscx(split), encoding_for(time_scale, n_bins, gap_bins))


def evaluate(predicted: np.ndarray, labels: np.ndarray) -> dict:
    """``test_accuracy``, ``per_class`` accuracy (recall) and the ``confusion`` matrix (rows: true class)."""
    k = len(CLASSES)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    per_class = confusion.diagonal() / np.maximum(confusion.sum(1), 1)
    return {"test_accuracy": float((predicted == labels).mean()), "per_class": per_class.round(4).tolist(),
            "confusion": confusion.tolist()}


def run_task(model: str, seed: int, hidden: int, surrogate: str, time_scale: str, n_bins: int, epochs: int,
             lr: float, batch_size: int, max_train: int | None = None, trees_max_iter: int = 300,
             progress: Callable | None = None, gap_bins: int = 0) -> dict:
    """Train ``model`` with ``seed`` on the ISCX training flows; score it on the validation split (``gap_bins``:
    the gap inputs of the SNN's and MLP's encoding)."""
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    train_flows, test_flows = load_iscx("train"), load_iscx("val")
    keep = slice(None) if max_train is None else np.random.default_rng(seed).permutation(len(train_flows))[:max_train]
    y = train_flows.labels[keep]
    out = {"model": model, "seed": seed, "hidden": hidden, "surrogate": surrogate, "time_scale": time_scale,
           "gap_bins": gap_bins, "n_train": int(len(y)), "n_test": len(test_flows)}
    ts = TrainSettings(epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)
    if model == "trees":
        trees = fit_trees(train_flows.subset(keep), max_iter=trees_max_iter, seed=seed)
        predicted = trees.predict(raw_features(test_flows))
        out.update(parameters=tree_nodes(trees), ops_per_sample=tree_comparisons(trees), history=[])
    else:
        if model == "cnn":
            x, x_test = raw_sequence(train_flows)[keep], raw_sequence(test_flows)
            net = SequenceCNN(len(CLASSES), seed=seed)
        else:
            x, x_test = _encoded("train", time_scale, n_bins, gap_bins)[keep], _encoded("val", time_scale, n_bins,
                                                                                       gap_bins)
            net = (SpikingNetwork(x.shape[2], hidden, len(CLASSES), surrogate=surrogate, seed=seed) if model == "snn"
                   else RateMLP(x.shape[2], hidden, len(CLASSES), seed=seed))
        history = train(net, x, y, ts, progress=progress)
        predicted = predict_logits(net, x_test).argmax(1).numpy()
        out.update(parameters=net.n_parameters(), history=[round(h["valid_accuracy"], 4) for h in history])
        if model == "snn":
            costs = snn_costs(net, x_test)
            out.update(spikes_per_sample=costs["spikes_per_sample"], ops_per_sample=costs["ops_per_sample"],
                       input_events=costs["input_events"],
                       beta=net.beta.mean().item(), threshold_mean=net.b.mean().item())
        elif model == "mlp":
            out["ops_per_sample"] = net.macs_per_sample(x.shape[1])
        else:
            out["ops_per_sample"] = net.macs_per_sample(x.shape[2])
    out.update(evaluate(np.asarray(predicted), test_flows.labels))
    out["seconds"] = time.perf_counter() - t0
    return out


def _variants(s: Settings) -> list[dict]:
    """(model, hidden, surrogate, time_scale, seeds) of every cell of the grid; the first per model is the main."""
    main = dict(hidden=s.hidden, surrogate=s.surrogate, time_scale=s.time_scale, gap_bins=0)
    cells = [dict(model=m, **main, seeds=s.seeds, variant="main") for m in s.models]
    if "snn" in s.models:
        cells += [dict(model="snn", **dict(main, hidden=h), seeds=s.ablation_seeds, variant="hidden")
                  for h in s.hidden_sweep if h != s.hidden]
        cells += [dict(model="snn", **dict(main, surrogate=g), seeds=s.ablation_seeds, variant="surrogate")
                  for g in s.surrogates if g != s.surrogate]
        cells += [dict(model="snn", **dict(main, time_scale=t), seeds=s.ablation_seeds, variant="time_scale")
                  for t in s.time_scales if t != s.time_scale]
        if s.gap_bins:
            cells += [dict(model="snn", **dict(main, hidden=h, gap_bins=s.gap_bins), seeds=s.seeds, variant="gaps")
                      for h in (s.hidden,) + tuple(h for h in s.gap_hidden if h != s.hidden)]
    return cells


def tasks(s: Settings, first_seed: int = 0) -> list[Task]:
    out = []
    for cell in _variants(s):
        for seed in range(first_seed, first_seed + cell["seeds"]):
            params = {"model": cell["model"], "seed": seed, "hidden": cell["hidden"], "surrogate": cell["surrogate"],
                      "time_scale": cell["time_scale"], "n_bins": s.n_bins, "epochs": s.epochs, "lr": s.lr,
                      "batch_size": s.batch_size, "max_train": s.max_train, "trees_max_iter": s.trees_max_iter}
            if cell["gap_bins"]:  # only then: the tasks without gaps keep their cache keys
                params["gap_bins"] = cell["gap_bins"]
            out.append(Task(f"{TASKS}:run_task", params))
    return out


def summarise(runs: list[dict], variant: str) -> dict:
    """One row from the seeds of one cell: mean and standard deviation of the accuracy, mean costs."""
    acc = np.array([r["test_accuracy"] for r in runs])
    row = {"model": runs[0]["model"], "variant": variant, "hidden": runs[0]["hidden"],
           "surrogate": runs[0]["surrogate"], "time_scale": runs[0]["time_scale"],
           "gap_bins": runs[0].get("gap_bins", 0),
           "test_accuracy": float(acc.mean()), "test_accuracy_std": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
           "seeds": sorted(r["seed"] for r in runs), "parameters": int(np.mean([r["parameters"] for r in runs])),
           "ops_per_sample": float(np.mean([r["ops_per_sample"] for r in runs])),
           "per_class": np.mean([r["per_class"] for r in runs], axis=0).round(4).tolist(),
           "seconds_mean": float(np.mean([r["seconds"] for r in runs]))}
    if "spikes_per_sample" in runs[0]:
        row["spikes_per_sample"] = float(np.mean([r["spikes_per_sample"] for r in runs]))
    return row


def reproduce(quick: bool = False, seed: int = 0, progress: Callable | None = None,
              settings: Settings | None = None, runner: Runner | None = None) -> Report:
    """The SNN and its baselines on the ISCX flows.

    Args:
        quick: :data:`QUICK`: the four models, one seed, 5 epochs, 100 boosting rounds, in this process.
            Otherwise :data:`FULL` (3 seeds, 20 epochs, the SNN's hidden-size sweep, surrogates and time axes over 2
            seeds, the SNN with 50 gap inputs at 100 and 25 neurons over 3) as a task grid on ``runner`` (default: a
            Dask LocalCluster, cached).
        seed: the first seed.

    Returns:
        ``Report`` whose ``data["results"]`` has one object per model (``model``, ``test_accuracy`` (fraction, mean
        over seeds), ``test_accuracy_std``, ``parameters``, ``ops_per_sample``, for the SNN ``spikes_per_sample``);
        ``data["per_class"]`` and ``data["confusion"]`` (summed over seeds) are the main SNN's; ``data["sweep"]``
        the SNN's variants (hidden size, surrogate, time axis); ``data["histories"]`` held-out accuracy per epoch.
    """
    t0 = time.perf_counter()
    cfg = settings or (QUICK if quick else FULL)
    runner = runner or (Runner.in_process() if quick else Runner())
    cells = _variants(cfg)
    grid = tasks(cfg, seed)
    results = runner.run("spiking_traffic", grid, TASK_VERSION, progress, desc="models")
    rows, sweep, histories, snn_runs = [], [], [], []
    i = 0
    for cell in cells:
        runs = [r for r in results[i:i + cell["seeds"]] if r is not None]  # None: not computed yet (--cached-only)
        i += cell["seeds"]
        if not runs:
            continue
        row = summarise(runs, cell["variant"])
        (rows if cell["variant"] == "main" else sweep).append(row)
        histories += [{"model": r["model"], "variant": cell["variant"], "hidden": r["hidden"], "seed": r["seed"],
                       "surrogate": r["surrogate"], "time_scale": r["time_scale"], "valid_accuracy": r["history"]}
                      for r in runs if r["history"]]
        if cell["model"] == "snn" and cell["variant"] == "main":
            snn_runs = runs
    if snn_runs:  # the main SNN's hidden size belongs on the sweep's curve too
        sweep.insert(0, next(r for r in rows if r["model"] == "snn"))
    confusion = np.sum([r["confusion"] for r in snn_runs], axis=0).tolist() if snn_runs else []
    per_class = next((r["per_class"] for r in rows if r["model"] == "snn"), [])
    table = [{"model": MODEL_NAMES[r["model"]], "seeds": len(r["seeds"]),
              "test accuracy %": f"{100 * r['test_accuracy']:.1f} ± {100 * r['test_accuracy_std']:.1f}",
              "parameters": r["parameters"], "ops / flow": round(r["ops_per_sample"]),
              "spikes / flow": round(r["spikes_per_sample"], 1) if "spikes_per_sample" in r else "-"} for r in rows]
    data = {"topic": "spiking_traffic", "quick": quick, "seed": seed, "classes": list(CLASSES), "results": rows,
            "per_class": per_class, "confusion": confusion, "sweep": sweep, "histories": histories,
            "settings": asdict(cfg), "tasks": len(grid), "tasks_missing": runner.missing,
            "seconds": time.perf_counter() - t0}
    notes = grid_notes(
        ["Accuracy on the 1,291 validation flows of ISCX VPN-nonVPN (5 classes), mean ± standard deviation over "
         "seeds; ops / flow: synaptic operations (SNN, event-driven), multiply-accumulates (MLP, CNN), comparisons "
         "(trees); parameters of the trees: their nodes."], len(grid), runner, data["seconds"],
        quick="Quick run: one seed, 5 epochs, 100 boosting rounds; the full run has 3 seeds, 20 epochs and the SNN's "
              "hidden sizes, surrogates, time axes and gap inputs." if quick else None)
    return Report("Spiking network for encrypted traffic (Rasteh et al., 2022) against MLP, CNN and trees", data,
                  table, notes)


def markdown_tables(data: dict) -> dict[str, str]:
    """The results page's tables: ``status``; ``models`` (accuracy, parameters, costs); ``per_class`` (every model's
    accuracy per class, and the SNN's with gap inputs); ``confusion`` (the SNN's, summed over seeds); ``sweep``
    (the SNN's variants)."""
    out = {"status": grid_status(data)}
    classes = data.get("classes", list(CLASSES))
    rows = {r["model"]: r for r in data["results"]}
    lines = ["| model | test accuracy % | parameters | ops / flow | spikes / flow | seeds |", "|---" * 6 + "|"]
    for m in MODELS:
        if m in rows:
            r = rows[m]
            spikes = f"{r['spikes_per_sample']:.0f}" if "spikes_per_sample" in r else "–"
            lines.append(f"| {MODEL_NAMES[m]} | {100 * r['test_accuracy']:.1f} ± {100 * r['test_accuracy_std']:.1f} | "
                         f"{r['parameters']:,} | {r['ops_per_sample']:,.0f} | {spikes} | {len(r['seeds'])} |")
    out["models"] = "\n".join(lines) if len(lines) > 2 else "*Not computed yet.*"
    columns = [(MODEL_NAMES[m], rows[m]) for m in MODELS if m in rows]
    columns += [(f"SNN {r['hidden']}, sizes + {r['gap_bins']} gap bins", r) for r in data.get("sweep", [])
                if r.get("gap_bins")]
    lines = ["| class | " + " | ".join(name for name, _ in columns) + " |", "|---" * (1 + len(columns)) + "|"]
    for k, name in enumerate(classes):
        lines.append(f"| {name} | " + " | ".join(f"{100 * r['per_class'][k]:.1f}" for _, r in columns) + " |")
    out["per_class"] = "\n".join(lines) if rows else "*Not computed yet.*"
    conf = data.get("confusion") or []
    lines = ["| true \\ predicted | " + " | ".join(classes) + " |", "|---" * (1 + len(classes)) + "|"]
    lines += [f"| {classes[i]} | " + " | ".join(str(v) for v in row) + " |" for i, row in enumerate(conf)]
    out["confusion"] = "\n".join(lines) if conf else "*Not computed yet.*"
    lines = ["| hidden | surrogate | time axis | inputs | test accuracy % | spikes / flow | ops / flow | parameters "
             "| seeds |", "|---" * 9 + "|"]
    for r in data.get("sweep", []):
        inputs = f"sizes + {r['gap_bins']} gap bins" if r.get("gap_bins") else "sizes"
        lines.append(f"| {r['hidden']} | {r['surrogate']} | {r['time_scale']} | {inputs} | "
                     f"{100 * r['test_accuracy']:.1f} ± {100 * r['test_accuracy_std']:.1f} | "
                     f"{r.get('spikes_per_sample', 0):.0f} | {r['ops_per_sample']:,.0f} | {r['parameters']:,} | "
                     f"{len(r['seeds'])} |")
    out["sweep"] = "\n".join(lines) if len(lines) > 2 else "*Not computed yet.*"
    return out
