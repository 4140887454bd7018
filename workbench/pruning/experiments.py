"""The survey's families side by side (Hoefler et al. 2021): every method of :mod:`workbench.pruning.pruner` on
the same pretrained models, at the same sparsities and the same fine-tuning budget, and what the sparsity buys at
inference.

Protocol, per model and seed: train the dense model (``ModelSpec.epochs`` epochs); then each method starts from
that model and trains ``finetune_epochs`` more at a fifth of the learning rate while its masks follow its
schedule. The ``dense`` row gets the same fine-tuning without masks (the same budget), and RigL, which never
trains a dense model, trains from a fresh initialisation for ``epochs + finetune_epochs`` at the full learning
rate. N:M rows use the pattern whose sparsity ``1 - N/M`` is nearest the target (2:4, 1:4, 1:8, 1:16).

``reproduce`` is the one source of truth: the CLI prints it, the notebook shows it, the dashboard plots it.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import asdict, dataclass
from typing import Callable

import torch

from workbench.checks import check_names
from workbench.classification import evaluate
from workbench.pruning.inference import linear_latency, structured_latency
from workbench.pruning.masks import layer_sparsity, model_sparsity, prunable_layers, remove_masks
from workbench.pruning.models import MODELS, model_spec
from workbench.pruning.pruner import Pruner
from workbench.pruning.schedules import Schedule, check_sparsity
from workbench.report import Report, grid_notes
from workbench.results_pages import grid_status
from workbench.runner import Runner, Task

__all__ = ["VARIANTS", "METHOD_NAMES", "NM_PATTERNS", "Settings", "ModelRun", "QUICK", "FULL", "TASK_VERSION",
           "tasks", "prune_task", "latency_task", "pretrained_state", "fit_setting", "nm_pattern", "reproduce",
           "markdown_tables"]

#: every row of the comparison: the Pruner's settings (``schedule``: "one-shot" or the default gradual cubic)
VARIANTS: dict[str, dict] = {
    "dense": {"method": "magnitude"},  # sparsity 0: fine-tuned without masks, the same budget
    "oneshot_global": {"method": "magnitude", "scope": "global", "schedule": "one-shot"},
    "oneshot_layer": {"method": "magnitude", "scope": "layer", "schedule": "one-shot"},
    "gradual_magnitude": {"method": "magnitude", "scope": "layer"},
    "movement": {"method": "movement", "scope": "layer"},
    "first_order": {"method": "first_order", "scope": "layer"},
    "second_order": {"method": "second_order", "scope": "layer"},
    "random": {"method": "random", "scope": "layer"},
    "channel": {"method": "channel"},
    "nm": {"method": "nm"},
    "rigl": {"method": "rigl"},
}
METHOD_NAMES = {
    "dense": "dense (same fine-tuning)", "oneshot_global": "one-shot magnitude, global",
    "oneshot_layer": "one-shot magnitude, per layer", "gradual_magnitude": "gradual magnitude (Zhu & Gupta)",
    "movement": "movement (Sanh et al.)", "first_order": "first-order |w·g|",
    "second_order": "second-order (OBD, Fisher)",
    "random": "random (control)", "channel": "channels (structured)", "nm": "N:M (kernels.nm_mask)",
    "rigl": "RigL (sparse from scratch)",
}
NM_PATTERNS = ("2:4", "1:4", "1:8", "1:16")


def nm_pattern(sparsity: float) -> str:
    """The pattern of :data:`NM_PATTERNS` whose sparsity ``1 - N/M`` is nearest ``sparsity``."""
    check_sparsity(sparsity)
    return min(NM_PATTERNS, key=lambda p: abs(1 - int(p.split(":")[0]) / int(p.split(":")[1]) - sparsity))


@dataclass(frozen=True)
class ModelRun:
    """One model's part of a run: its seeds, fine-tuning epochs, sparsities and methods (keys of VARIANTS)."""

    model: str
    seeds: int
    finetune_epochs: int
    sparsities: tuple = (0.5, 0.8, 0.9, 0.95)
    methods: tuple = tuple(VARIANTS)

    def __post_init__(self):
        model_spec(self.model)
        for name in ("seeds", "finetune_epochs"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: expected a positive integer, got {v!r}")
        for s in self.sparsities:
            check_sparsity(s)
        check_names("methods", self.methods, list(VARIANTS))
        if "dense" not in self.methods:
            raise ValueError(f"methods: expected 'dense' among them (the baseline), got {self.methods!r}")


@dataclass(frozen=True)
class Settings:
    runs: tuple  # of ModelRun
    latency_batch: int = 256


QUICK = Settings((ModelRun("mlp", seeds=1, finetune_epochs=10),))
FULL = Settings((
    ModelRun("mlp", seeds=5, finetune_epochs=10),
    ModelRun("cnn", seeds=3, finetune_epochs=3),
    ModelRun("resnet", seeds=1, finetune_epochs=2, sparsities=(0.9,),
             methods=("dense", "oneshot_global", "gradual_magnitude", "random", "nm", "rigl")),
))
#: the results of these tasks change when this changes (the runner's cache key)
TASK_VERSION = 1
TASKS = "workbench.pruning.experiments"
FINETUNE_LR_FACTOR = 0.2


@functools.lru_cache(maxsize=4)
def pretrained_state(model: str, seed: int) -> dict:
    """The dense model trained ``ModelSpec.epochs`` epochs with ``seed`` (its state dict; cached per process, so
    the tasks of one worker train it once)."""
    spec = model_spec(model)
    net = spec.build(seed)
    Pruner("magnitude", 0.0, schedule=Schedule("one-shot"), epochs=spec.epochs, lr=spec.lr,
           batch_size=spec.batch_size, seed=seed).fit(net, spec.data(seed))
    remove_masks(net)
    return {k: v.clone() for k, v in net.state_dict().items()}


def fit_setting(model: str, variant: str, target: float, seed: int, finetune_epochs: int, *,
                on_epoch: Callable[[dict], None] | None = None, should_stop: Callable[[], bool] | None = None):
    """One setting of the protocol (see the module's docstring): ``(model, pruner, data)`` after the fit."""
    spec = model_spec(model)
    data = spec.data(seed)
    options = dict(VARIANTS[variant])
    schedule = Schedule("one-shot") if options.pop("schedule", None) == "one-shot" else None
    net = spec.build(seed)
    if variant == "rigl":
        epochs, lr = spec.epochs + finetune_epochs, spec.lr
    else:
        net.load_state_dict(pretrained_state(model, seed))
        epochs, lr = finetune_epochs, spec.lr * FINETUNE_LR_FACTOR
    if variant == "nm":
        options["pattern"] = nm_pattern(target)
    sparsity = 0.0 if variant == "dense" else target
    pruner = Pruner(sparsity=sparsity, schedule=schedule, epochs=epochs, lr=lr, batch_size=spec.batch_size,
                    seed=seed, **options).fit(net, data, on_epoch=on_epoch, should_stop=should_stop)
    return net, pruner, data


def prune_task(model: str, variant: str, target: float, seed: int, finetune_epochs: int) -> dict:
    """One cell of the comparison: ``{"model", "method", "target", "sparsity", "test_accuracy", ...}``."""
    net, pruner, data = fit_setting(model, variant, target, seed, finetune_epochs)
    weights = sum(m.weight.numel() for m in prunable_layers(net).values())
    sparsity = model_sparsity(net)
    every = max(1, len(pruner.schedule_) // 40)
    return {
        "model": model, "method": variant, "target": 0.0 if variant == "dense" else target, "seed": seed,
        "sparsity": sparsity, "test_accuracy": evaluate(net, data.x_test, data.y_test),
        "prunable_weights": weights, "nonzero_weights": round(weights * (1 - sparsity)),
        "layer_sparsity": layer_sparsity(net), "pattern": pruner.pattern if variant == "nm" else None,
        "history": pruner.history_, "schedule": pruner.schedule_[::every],
    }


def latency_task(model: str, seed: int, finetune_epochs: int, batch: int) -> list[dict]:
    """What sparsity buys at inference on this CPU: the MLP's largest layer pruned to 95 % by gradual magnitude,
    dense vs CSR; a Sequential CNN with 50 % of its channels removed, masked vs physically smaller."""
    rows = []
    if model == "mlp":
        net, _, data = fit_setting(model, "gradual_magnitude", 0.95, seed, finetune_epochs)
        layers = prunable_layers(net)
        name = max(layers, key=lambda k: layers[k].weight.numel())
        for row in linear_latency(layers[name].weight.detach().clone(), batch):
            rows.append({"model": f"{model} layer {tuple(layers[name].weight.shape)}", **row})
    elif model == "cnn":
        net, _, data = fit_setting(model, "channel", 0.5, seed, finetune_epochs)
        for row in structured_latency(net, data.x_test[:batch]):
            rows.append({"model": model, **row})
    return [{**r, "threads": torch.get_num_threads()} for r in rows]


def tasks(settings: Settings, first_seed: int = 0) -> list[Task]:
    out = []
    for run in settings.runs:
        for variant in run.methods:
            for target in ((0.0,) if variant == "dense" else run.sparsities):
                for s in range(first_seed, first_seed + run.seeds):
                    out.append(Task(f"{TASKS}:prune_task", {"model": run.model, "variant": variant, "target": target,
                                                            "seed": s, "finetune_epochs": run.finetune_epochs}))
        if run.model in ("mlp", "cnn"):
            out.append(Task(f"{TASKS}:latency_task", {"model": run.model, "seed": first_seed,
                                                      "finetune_epochs": run.finetune_epochs,
                                                      "batch": settings.latency_batch}))
    return out


def _mean_std(values: list[float]) -> tuple[float, float]:
    t = torch.tensor(values, dtype=torch.float64)
    return float(t.mean()), float(t.std()) if len(values) > 1 else 0.0


def reproduce(quick: bool = False, seed: int = 0, progress: Callable | None = None,
              settings: Settings | None = None, runner: Runner | None = None) -> Report:
    """Every method at every sparsity on every model, and the inference figures.

    Args:
        quick: :data:`QUICK`: the digits MLP only, one seed (well under a minute on 2 cores), in this process.
            Otherwise :data:`FULL`: the MLP (5 seeds), the MNIST CNN (3 seeds) and the 1.09M-parameter ResNet
            (1 seed, 90 % only, six methods), as a task grid on ``runner`` (default: a Dask LocalCluster, cached
            under ``WORKBENCH_CACHE``, so a run resumes).
        seed: first seed.
        progress: tqdm-like callable wrapping the task iterator.

    Returns:
        ``Report`` whose ``data["results"]`` has one object per (model, method, target sparsity): ``model``,
        ``method``, ``target``, ``sparsity`` (measured fraction of prunable weights that are zero, in [0, 1]),
        ``test_accuracy`` (mean fraction in [0, 1]), ``test_accuracy_std``, ``accuracy_drop`` (points below the
        dense row), ``nonzero_weights``, ``seeds``, ``accuracies``, ``pattern`` (N:M) and ``history`` (first
        seed); ``data["latency"]``: rows with ``model``, ``format``, ``sparsity``, ``ms_per_batch``, ``bytes``.
    """
    t0 = time.perf_counter()
    cfg = settings or (QUICK if quick else FULL)
    runner = runner or (Runner.in_process() if quick else Runner())
    grid = tasks(cfg, seed)
    results = runner.run("pruning", grid, TASK_VERSION, progress, desc="pruning tasks")
    cells: dict[tuple, list[dict]] = {}
    latency = []
    for task, result in zip(grid, results):
        if result is None:  # --cached-only: not computed yet
            continue
        if task.fn.endswith("latency_task"):
            latency.extend(result)
        else:
            cells.setdefault((result["model"], result["method"], result["target"]), []).append(result)
    rows, table = [], []
    for (model, method, target), runs in cells.items():
        acc, acc_std = _mean_std([r["test_accuracy"] for r in runs])
        dense = cells.get((model, "dense", 0.0))
        dense_acc = _mean_std([r["test_accuracy"] for r in dense])[0] if dense else math.nan
        row = {"model": model, "method": method, "target": target,
               "sparsity": _mean_std([r["sparsity"] for r in runs])[0], "test_accuracy": acc,
               "test_accuracy_std": acc_std, "accuracy_drop": 100 * (dense_acc - acc),
               "nonzero_weights": round(_mean_std([r["nonzero_weights"] for r in runs])[0]),
               "prunable_weights": runs[0]["prunable_weights"], "pattern": runs[0]["pattern"],
               "seeds": [r["seed"] for r in runs], "accuracies": [r["test_accuracy"] for r in runs],
               "layer_sparsity": runs[0]["layer_sparsity"], "history": runs[0]["history"],
               "schedule": runs[0]["schedule"]}
        rows.append(row)
        table.append({"model": model, "method": METHOD_NAMES[method], "target": target,
                      "sparsity": round(row["sparsity"], 3), "test acc %": round(100 * acc, 2),
                      "± std": round(100 * acc_std, 2), "vs dense": round(-row["accuracy_drop"], 2)})
    for r in latency:
        table.append({"model": r["model"], "method": f"latency: {r['format']}", "sparsity": round(r["sparsity"], 3),
                      "ms/batch": round(r["ms_per_batch"], 3), "bytes": r["bytes"]})
    data = {"topic": "pruning", "quick": quick, "seed": seed, "results": rows, "latency": latency,
            "settings": {"runs": [asdict(r) for r in cfg.runs], "latency_batch": cfg.latency_batch,
                         "finetune_lr_factor": FINETUNE_LR_FACTOR,
                         "models": {r.model: MODELS[r.model].description for r in cfg.runs}},
            "tasks": len(grid), "tasks_missing": runner.missing, "seconds": time.perf_counter() - t0}
    notes = [
        "Every method starts from the same dense model and fine-tunes the same epochs at lr/5 (RigL trains sparse "
        "from scratch for the dense epochs plus the fine-tuning); accuracy on held-out test examples.",
        "The survey's 'pruned parameter efficiency' is not reported: its definition could not be confirmed from the "
        "survey's text (docs/pruning.md says what was checked); the accuracy drop against dense is reported instead.",
    ]
    notes = grid_notes(
        notes, len(grid), runner, data["seconds"], partial_detail="; each row lists the seeds it has",
        quick="Quick run: the digits MLP only, one seed; the full run (no --quick) adds the MNIST CNN (3 seeds) and "
              "the 1.09M-parameter ResNet, and 5 seeds of the MLP." if quick else None)
    return Report("Sparsity in Deep Learning (Hoefler et al., JMLR 2021): pruning methods side by side", data, table,
                  notes)


def markdown_tables(data: dict) -> dict[str, str]:
    """The results page's tables: ``status``, one accuracy table per model (methods × target sparsities: test
    accuracy % mean ± std (seeds), measured sparsity where it differs from the target) and ``latency``."""
    out = {"status": grid_status(data)}
    rows = data["results"]
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model]
        targets = sorted({r["target"] for r in mine if r["method"] != "dense"})
        head = "| method | " + " | ".join(f"{100 * t:g} %" for t in targets) + " |"
        lines = [head, "|---" * (len(targets) + 1) + "|"]
        dense = next((r for r in mine if r["method"] == "dense"), None)
        if dense:
            lines.append(f"| {METHOD_NAMES['dense']} | " + " | ".join(
                [f"{100 * dense['test_accuracy']:.2f} ± {100 * dense['test_accuracy_std']:.2f} "
                 f"({len(dense['seeds'])})"] * len(targets)) + " |")
        for method in [m for m in VARIANTS if m != "dense"]:
            cells = {r["target"]: r for r in mine if r["method"] == method}
            if not cells:
                continue
            texts = []
            for t in targets:
                r = cells.get(t)
                if r is None:
                    texts.append("–")
                    continue
                text = f"{100 * r['test_accuracy']:.2f} ± {100 * r['test_accuracy_std']:.2f} ({len(r['seeds'])})"
                if abs(r["sparsity"] - t) > 0.005:
                    text += f" at {100 * r['sparsity']:.1f} %" + (f" ({r['pattern']})" if r["pattern"] else "")
                texts.append(text)
            lines.append(f"| {METHOD_NAMES[method]} | " + " | ".join(texts) + " |")
        out[model] = "\n".join(lines)
    lat = ["| model | format | sparsity | ms per batch | bytes | threads |", "|---|---|---|---|---|---|"]
    for r in data.get("latency", []):
        lat.append(f"| {r['model']} | {r['format']} | {100 * r['sparsity']:.1f} % | {r['ms_per_batch']:.3f} | "
                   f"{r['bytes']:,} | {r.get('threads', '')} |")
    out["latency"] = "\n".join(lat)
    return out
