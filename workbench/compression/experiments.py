"""SQF against its baselines at equal bits, layer by layer and on whole models (Kuzmin et al. 2022).

Protocol, per model and seed: train the dense model (the pruning topic's recipe: digits MLP 20 epochs, MNIST CNN 6;
SGD with momentum, cosine learning rate 0.05, batch 64). Then one task per (budget, method): every Linear and
Conv2d layer gets the method's best configuration at the budget (:func:`~workbench.compression.budget.
compress_at_budget`); each layer's row reports its relative error and the test accuracy with only that layer
compressed; the ``"all"`` row reports the whole compressed model, and for SQF the accuracy after fine-tuning its
factors with their supports fixed (``finetune_epochs`` at learning rate 0.01) beside the accuracy before.

``reproduce`` is the one source of truth: the CLI prints it, the notebook shows it, the dashboard plots it.
"""

from __future__ import annotations

import copy
import functools
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import torch

from workbench.checks import check_int, check_names
from workbench.classification import evaluate, fit_classifier
from workbench.compression.budget import METHODS, check_budget, compress_at_budget
from workbench.compression.frontier import RECIPES, compressible_layers, model_data, trained_model
from workbench.compression.model import compress_model
from workbench.report import Report, grid_notes
from workbench.results_pages import grid_status
from workbench.runner import Runner, Task

__all__ = ["Settings", "QUICK", "FULL", "TASK_VERSION", "METHOD_NAMES", "METHOD_COLORS", "tasks", "compress_task",
           "dense_state", "reproduce", "sqf_against_baselines", "markdown_tables", "TIE"]

METHOD_NAMES = {"sqf": "SQF (sparse quantized factors)", "svd": "quantized SVD", "vq": "vector quantization",
                "sparse_pca": "sparse PCA", "quant": "uniform quantization", "prune_quant": "pruning + quantization"}
#: one colour per method, shared by the page and the docs figure
METHOD_COLORS = dict(zip(METHODS, ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#7f7f7f", "#ff7f0e"]))
FINETUNE_LR = 0.01
#: the results of these tasks change when this changes (the runner's cache key)
TASK_VERSION = 3
TASKS = "workbench.compression.experiments"


@dataclass(frozen=True)
class Settings:
    """A run: ``models`` with their ``seeds`` and SQF ``finetune_epochs``, the ``budgets`` (bits per weight), the
    ``methods``, and the search's ``per_family`` and ``steps``."""

    models: tuple[str, ...] = ("mlp", "cnn")
    seeds: dict = field(default_factory=lambda: {"mlp": 3, "cnn": 1})
    finetune_epochs: dict = field(default_factory=lambda: {"mlp": 10, "cnn": 2})
    budgets: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0)
    methods: tuple[str, ...] = METHODS
    per_family: int = 3
    steps: int = 60

    def __post_init__(self):
        check_names("models", self.models, sorted(RECIPES))
        check_names("methods", self.methods, METHODS)
        for b in self.budgets:
            check_budget(b)
        for m in self.models:
            check_int(f"seeds[{m!r}]", self.seeds.get(m), 1)
            check_int(f"finetune_epochs[{m!r}]", self.finetune_epochs.get(m), 0)
        check_int("per_family", self.per_family, 1)
        check_int("steps", self.steps, 0)


QUICK = Settings(models=("mlp",), seeds={"mlp": 1}, finetune_epochs={"mlp": 3}, budgets=(1.0, 2.0), per_family=1,
                 steps=20)
FULL = Settings()


@functools.lru_cache(maxsize=4)
def dense_state(model: str, seed: int) -> tuple[dict, float]:
    """The dense ``model`` trained with ``seed`` (:func:`~workbench.compression.frontier.trained_model`; its state
    dict, cached per process) and its test accuracy."""
    net, data = trained_model(model, seed)
    return {k: v.clone() for k, v in net.state_dict().items()}, evaluate(net, data.x_test, data.y_test)


def compress_task(model: str, seed: int, budget: float, method: str, finetune_epochs: int, per_family: int,
                  steps: int) -> list[dict]:
    """One method at one budget on one trained model: a row per layer and the ``"all"`` row (see the module)."""
    state, dense_acc = dense_state(model, seed)
    build = RECIPES[model][0]
    net = build(seed)
    net.load_state_dict(state)
    data = model_data(model, seed)
    rows, fitted = [], {}
    for name, layer in compressible_layers(net).items():
        W = layer.weight.detach()
        est = compress_at_budget(W, method, budget, per_family, steps)
        fitted[name] = est
        acc = None
        if est is not None:  # the model with only this layer compressed
            alone = copy.deepcopy(net)
            with torch.no_grad():
                dict(alone.named_modules())[name].weight.copy_(est.reconstruct())
            acc = evaluate(alone, data.x_test, data.y_test)
        rows.append({"model": model, "layer": name, "shape": list(W.shape), "method": method, "budget": budget,
                     "seed": seed, "weights": W.numel(),
                     "bits_per_weight": None if est is None else est.storage_.bits_per_weight,
                     "relative_error": None if est is None else est.relative_error_,
                     "test_accuracy": acc, "config": None if est is None else repr(est)})
    cm = compress_model(net, method, budget, fitted=fitted)  # the layers' fits above, none searched again
    before = evaluate(cm.net, data.x_test, data.y_test)
    after, history = before, []
    if method == "sqf" and finetune_epochs:
        history = fit_classifier(cm.net, data, finetune_epochs, FINETUNE_LR, 64, seed)
        after = evaluate(cm.net, data.x_test, data.y_test)
    rows.append({"model": model, "layer": "all", "shape": None, "method": method, "budget": budget, "seed": seed,
                 "weights": cm.storage.weights, "bits_per_weight": cm.bits_per_weight,
                 "relative_error": cm.relative_error, "test_accuracy": after,
                 "test_accuracy_before_finetune": before if method == "sqf" and finetune_epochs else None,
                 "dense_accuracy": dense_acc, "fallbacks": cm.fallbacks,
                 "fits_budget": cm.bits_per_weight <= budget + 1e-9, "history": history, "config": None})
    return rows


def tasks(settings: Settings, first_seed: int = 0) -> list[Task]:
    out = []
    for model in settings.models:
        for s in range(first_seed, first_seed + settings.seeds[model]):
            for budget in settings.budgets:
                for method in settings.methods:
                    out.append(Task(f"{TASKS}:compress_task", {
                        "model": model, "seed": s, "budget": float(budget), "method": method,
                        "finetune_epochs": settings.finetune_epochs[model], "per_family": settings.per_family,
                        "steps": settings.steps}))
    return out


def _mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def reproduce(quick: bool = False, seed: int = 0, progress: Callable | None = None,
              settings: Settings | None = None, runner: Runner | None = None) -> Report:
    """Every method at every budget on every layer and on the whole model.

    Args:
        quick: :data:`QUICK`: the digits MLP, one seed, budgets 1 and 2, a small search, in this process (under a
            minute on 2 cores). Otherwise :data:`FULL`: the MLP (3 seeds) and the MNIST CNN (1 seed) at 1, 2, 3
            and 4 bits per weight, as a task grid on ``runner`` (default: a Dask LocalCluster, cached).
        seed: first seed.
        progress: tqdm-like callable wrapping the task iterator.

    Returns:
        ``Report`` whose ``data["results"]`` has one object per (model, layer or ``"all"``, method, budget), means
        over seeds: ``model``, ``layer``, ``method`` (``"sqf"``, ``"svd"``, ``"vq"``, ``"sparse_pca"``,
        ``"quant"``, ``"prune_quant"``), ``budget``, ``bits_per_weight``, ``relative_error``
        (‖W − Ŵ‖_F / ‖W‖_F; over all layers for ``"all"``), ``test_accuracy`` (fraction; after fine-tuning where
        the method has it), ``test_accuracy_before_finetune`` (SQF's ``"all"`` rows), ``dense_accuracy``,
        ``fits_budget`` (``False`` when some layer had nothing of the method within the budget and was kept at 8-bit
        uniform quantization, e.g. per-channel scales alone exceeding it), ``seeds`` and ``config`` (the first
        seed's configuration).
    """
    t0 = time.perf_counter()
    cfg = settings or (QUICK if quick else FULL)
    runner = runner or (Runner.in_process() if quick else Runner())
    grid = tasks(cfg, seed)
    results = runner.run("compression", grid, TASK_VERSION, progress, desc="compression tasks")
    cells: dict[tuple, list[dict]] = {}
    for result in results:
        for r in result or []:  # None: not computed yet (--cached-only)
            cells.setdefault((r["model"], r["layer"], r["method"], r["budget"]), []).append(r)
    rows, table = [], []
    for (model, layer, method, budget), runs in cells.items():
        row = {"model": model, "layer": layer, "shape": runs[0]["shape"], "weights": runs[0]["weights"],
               "method": method, "budget": budget,
               "bits_per_weight": _mean([r["bits_per_weight"] for r in runs]),
               "relative_error": _mean([r["relative_error"] for r in runs]),
               "test_accuracy": _mean([r["test_accuracy"] for r in runs]),
               "test_accuracy_before_finetune": _mean([r.get("test_accuracy_before_finetune") for r in runs]),
               "dense_accuracy": _mean([r.get("dense_accuracy") for r in runs]),
               "fits_budget": all(r.get("fits_budget", r["bits_per_weight"] is not None) for r in runs),
               "seeds": [r["seed"] for r in runs], "config": runs[0]["config"]}
        rows.append(row)
        if layer == "all":
            table.append({"model": model, "method": METHOD_NAMES[method], "budget": budget,
                          "bits/weight": None if row["bits_per_weight"] is None else round(row["bits_per_weight"], 2),
                          "rel. error": None if row["relative_error"] is None else round(row["relative_error"], 3),
                          "fits": "yes" if row["fits_budget"] else "no (layers at 8 bits)",
                          "test acc %": round(100 * row["test_accuracy"], 2),
                          "before fine-tuning %": None if row["test_accuracy_before_finetune"] is None else
                          round(100 * row["test_accuracy_before_finetune"], 2)})
    data = {"topic": "compression", "quick": quick, "seed": seed, "results": rows,
            "settings": asdict(cfg) | {"finetune_lr": FINETUNE_LR}, "tasks": len(grid),
            "tasks_missing": runner.missing, "seconds": time.perf_counter() - t0}
    notes = grid_notes([
        "Each method uses its best configuration that fits the budget on every layer (bits per weight as stored: "
        "values, positions, codebooks, scales); SQF's factors are then fine-tuned with their supports fixed.",
        "The paper's own tables are not reproduced: only its abstract could be read (docs/compression.md).",
    ], len(grid), runner, data["seconds"],
        quick="Quick run: the digits MLP, one seed, 1 and 2 bits per weight, a small search; the full run adds the "
              "MNIST CNN, 3 and 4 bits, 3 seeds of the MLP and the full search." if quick else None)
    return Report("Quantized sparse weight decomposition (Kuzmin et al. 2022): SQF against its baselines at equal "
                  "bits", data, table, notes)


#: SQF counts as no worse than a baseline within this relative margin: its VQ case stores the codebook on a 15-bit
#: grid where VQ uses fp16, and the two roundings differ by about 1e-5 of the error
TIE = 1e-4
BASELINE_METHODS = tuple(m for m in METHODS if m != "sqf")


def sqf_against_baselines(rows: list[dict]) -> list[dict]:
    """Per (model, layer, budget) of the layer rows: SQF's relative error, the best baseline's (``method``,
    ``relative_error``, ``bits_per_weight``) and ``no_worse`` (SQF within :data:`TIE` of it or better; ``None``
    where a side has no configuration in the budget)."""
    cells: dict[tuple, dict] = {}
    for r in rows:
        if r["layer"] == "all" or r["relative_error"] is None:
            continue
        cells.setdefault((r["model"], r["layer"], r["budget"]), {})[r["method"]] = r
    out = []
    for (model, layer, budget), by in cells.items():
        sqf = by.get("sqf")
        base = min((by[m] for m in BASELINE_METHODS if m in by), key=lambda r: r["relative_error"], default=None)
        no_worse = None if sqf is None or base is None else \
            sqf["relative_error"] <= base["relative_error"] * (1 + TIE)
        if sqf is not None and base is None:
            no_worse = True
        out.append({"model": model, "layer": layer, "shape": (sqf or base)["shape"], "budget": budget,
                    "sqf": None if sqf is None else sqf["relative_error"],
                    "sqf_bits": None if sqf is None else sqf["bits_per_weight"],
                    "baseline": None if base is None else base["method"],
                    "baseline_error": None if base is None else base["relative_error"],
                    "baseline_bits": None if base is None else base["bits_per_weight"], "no_worse": no_worse})
    return out


def _cell(r: dict | None) -> str:
    if r is None or r["relative_error"] is None:
        return "–"
    return f"{r['relative_error']:.4f} ({r['bits_per_weight']:.2f})"


def markdown_tables(data: dict) -> dict[str, str]:
    """The results page's tables: ``status``; per model ``<model>_layers`` (relative error of every method on every
    layer at every budget, bits per weight used in brackets, the best in bold) and ``<model>_accuracy`` (the whole
    model: test accuracy, SQF's before and after fine-tuning); ``claim`` (SQF against the best baseline)."""
    out = {"status": grid_status(data)}
    rows = data["results"]
    for model in data.get("settings", {}).get("models", ()):
        if not any(r["model"] == model for r in rows):
            out[f"{model}_layers"] = out[f"{model}_accuracy"] = "*Not computed yet.*"
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model]
        head = "| layer | shape | budget | " + " | ".join(METHOD_NAMES[m] for m in METHODS) + " |"
        lines = [head, "|---" * (len(METHODS) + 3) + "|"]
        layers = dict.fromkeys(r["layer"] for r in mine if r["layer"] != "all")
        for layer in layers:
            for budget in sorted({r["budget"] for r in mine}):
                by = {r["method"]: r for r in mine if r["layer"] == layer and r["budget"] == budget}
                if not by:
                    continue
                errors = [r["relative_error"] for r in by.values() if r["relative_error"] is not None]
                best = min(errors) if errors else None
                texts = []
                for m in METHODS:
                    text = _cell(by.get(m))
                    r = by.get(m)
                    if best is not None and r is not None and r["relative_error"] == best:
                        text = f"**{text}**"
                    texts.append(text)
                shape = "×".join(str(x) for x in next(iter(by.values()))["shape"])
                lines.append(f"| {layer} | {shape} | {budget:g} | " + " | ".join(texts) + " |")
        out[f"{model}_layers"] = "\n".join(lines)
        acc = ["| method | " + " | ".join(f"{b:g} bits" for b in sorted({r['budget'] for r in mine})) + " |"]
        budgets = sorted({r["budget"] for r in mine})
        acc.append("|---" * (len(budgets) + 1) + "|")
        for m in METHODS:
            texts = []
            for b in budgets:
                r = next((r for r in mine if r["layer"] == "all" and r["method"] == m and r["budget"] == b), None)
                if r is None:
                    texts.append("–")
                    continue
                text = f"{100 * r['test_accuracy']:.2f} % at {r['bits_per_weight']:.2f}"
                if r.get("test_accuracy_before_finetune") is not None:
                    text = f"{100 * r['test_accuracy_before_finetune']:.2f} → " + text
                if not r["fits_budget"]:
                    text += " (some layers at 8 bits)"
                texts.append(text + f" ({len(r['seeds'])})")
            acc.append(f"| {METHOD_NAMES[m]} | " + " | ".join(texts) + " |")
        dense = [r["dense_accuracy"] for r in mine if r["layer"] == "all" and r.get("dense_accuracy") is not None]
        if dense:
            acc.append(f"| dense (fp32) | {100 * dense[0]:.2f} % at 32 |" + " |" * (len(budgets) - 1))
        out[f"{model}_accuracy"] = "\n".join(acc)
    cells = sqf_against_baselines(rows)
    claim = ["| model | cells | SQF no worse than the best baseline | cells where it is worse |", "|---|---|---|---|"]
    for model in dict.fromkeys(c["model"] for c in cells):
        mine = [c for c in cells if c["model"] == model and c["no_worse"] is not None]
        worse = [c for c in mine if not c["no_worse"]]
        listed = "; ".join(f"layer {c['layer']} at {c['budget']:g}: {c['sqf']:.4f} against {c['baseline']} "
                           f"{c['baseline_error']:.4f}" for c in worse) or "none"
        claim.append(f"| {model} | {len(mine)} | {len(mine) - len(worse)} | {listed} |")
    out["claim"] = "\n".join(claim)
    return out
