"""Reproduce Chmiel et al. (ICLR 2023) on a small real problem: N:M masks for weights, activations
and neural gradients, trained on scikit-learn's digits, plus the bias/variance of each gradient mask
measured on captured real neural gradients.

``reproduce`` is the one source of truth: the CLI prints it, the notebook shows it, the dashboard plots it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch

from workbench.nm_sparsity.sparsify import sparsify
from workbench.nm_sparsity.statistics import mask_statistics
from workbench.nm_sparsity.training import capture_gradients, digits_data, make_mlp, train
from workbench.report import Report
from workbench.runner import Runner, Task, require_complete

__all__ = ["markdown_tables", "RUNS", "GRADIENT_MASK_KEYS", "Settings", "QUICK", "FULL", "TASK_VERSION", "reproduce",
           "tasks", "train_task", "gradient_statistics_task", "gradient_mask_statistics"]

#: (weights, activations, gradients, gradient_mask) of every training run
RUNS: list[tuple] = [
    (None, None, None, None),
    (None, None, (1, 2), "mse"),
    (None, None, (1, 2), "mvue"),
    (None, None, (2, 4), "mse"),
    (None, None, (2, 4), "mvue"),
    ((2, 4), None, None, None),
    (None, (2, 4), None, None),
    ((2, 4), (2, 4), (2, 4), "mvue"),
]
GRADIENT_MASK_KEYS = [("mse", 1, 2), ("mvue", 1, 2), ("mse", 2, 4), ("mvue", 2, 4)]


def _label(w, a, g, mask) -> str:
    parts = []
    if w:
        parts.append(f"W {w[0]}:{w[1]}")
    if a:
        parts.append(f"A {a[0]}:{a[1]}")
    if g:
        parts.append(f"G {g[0]}:{g[1]} {mask.upper()}")
    return " + ".join(parts) or "dense"


def gradient_mask_statistics(
    grads: dict[str, torch.Tensor], samples: int, seed: int = 0
) -> dict[str, dict]:
    """Bias and variance of MSE/MVUE 1:2 and 2:4 on neural gradients, blocks along the batch (dim 0).

    ``grads``: ``{layer: (batch, channels)}``. Norms are pooled over layers:
    ``relative_bias = sqrt(sum ||b||^2) / sqrt(sum ||g||^2)``.
    """
    out = {}
    norm2 = sum(float(g.double().square().sum()) for g in grads.values())
    for method, n, m in GRADIENT_MASK_KEYS:
        bias2 = bias2_exact = var = var_exact = 0.0
        for g in grads.values():
            st = mask_statistics(g, n, m, method, samples, dim=0, seed=seed)
            bias2 += float(st.empirical_bias.square().sum())
            bias2_exact += float(st.exact_bias.square().sum())
            var += st.total_variance()
            var_exact += st.total_variance(exact=True)
        out[f"{method}_{n}:{m}"] = {
            "relative_bias": (bias2 / norm2) ** 0.5,
            "relative_bias_exact": (bias2_exact / norm2) ** 0.5,
            "relative_variance": var / norm2,
            "relative_variance_exact": var_exact / norm2,
        }
    return out


@dataclass(frozen=True)
class Settings:
    """What a run covers: every setting of ``runs`` (``(weights, activations, gradients, gradient_mask)``, see
    :data:`RUNS`) trained for ``epochs`` with ``seeds`` seeds, and the gradient masks' bias and variance over
    ``samples`` Monte-Carlo draws."""

    seeds: int = 5
    epochs: int = 30
    samples: int = 2000
    runs: tuple = tuple(RUNS)

    def __post_init__(self):
        for name in ("seeds", "epochs", "samples"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name}: expected a positive integer, got {v!r}")
        if RUNS[0] not in self.runs:
            raise ValueError(f"runs: expected the dense run {RUNS[0]} among them (the baseline), got {self.runs!r}")


QUICK = Settings(seeds=1, epochs=15, samples=200)
FULL = Settings()
#: the results of these tasks change when this changes (the runner's cache key)
TASK_VERSION = 1
TASKS = "workbench.nm_sparsity.experiments"


def _pattern(p):
    return list(p) if p else None


def train_task(weights, activations, gradients, gradient_mask, seed: int, epochs: int) -> dict:
    """Train the digits MLP with one N:M setting (patterns as ``[n, m]`` or null): ``{"history": per epoch}``."""
    data = digits_data(seed)
    model = make_mlp(seed)
    if weights or activations or gradients:
        sparsify(model, weights=_tuple(weights), activations=_tuple(activations), gradients=_tuple(gradients),
                 gradient_mask=gradient_mask or "mvue", seed=seed)
    return {"history": train(model, data, epochs=epochs, seed=seed)}


def gradient_statistics_task(seed: int, epochs: int, samples: int) -> dict:
    """Bias and variance of each gradient mask on the real neural gradients of the dense MLP trained with ``seed``
    (the same model as the dense run's), for a batch of 256 training samples."""
    data = digits_data(seed)
    model = make_mlp(seed)
    train(model, data, epochs=epochs, seed=seed)
    grads = capture_gradients(model, data.x_train[:256], data.y_train[:256])
    return gradient_mask_statistics(grads, samples, seed=seed)


def _tuple(p):
    return tuple(p) if p else None


def tasks(settings: Settings, seeds: list[int]) -> list[Task]:
    """One training task per setting and seed, and the gradient statistics of the first seed's dense model."""
    out = [Task(f"{TASKS}:train_task", {"weights": _pattern(w), "activations": _pattern(a), "gradients": _pattern(g),
                                        "gradient_mask": mask, "seed": s, "epochs": settings.epochs})
           for (w, a, g, mask) in settings.runs for s in seeds]
    return out + [Task(f"{TASKS}:gradient_statistics_task",
                       {"seed": seeds[0], "epochs": settings.epochs, "samples": settings.samples})]


def reproduce(quick: bool = False, seed: int = 0, progress: Callable | None = None,
              settings: Settings | None = None, runner: Runner | None = None) -> Report:
    """Train dense and N:M-sparse MLPs on digits; measure gradient-mask bias on real gradients.

    Args:
        quick: :data:`QUICK`: 1 seed x 15 epochs and 200 Monte-Carlo draws (well under a minute on 2 cores), in
            this process; otherwise :data:`FULL`: 5 seeds x 30 epochs and 2000 draws, as a task grid on ``runner``
            (default: a Dask LocalCluster, cached under ``WORKBENCH_CACHE``).
        seed: first seed; runs use ``seed, seed+1, ...``.
        progress: tqdm-like callable wrapping the task iterator.
        settings: overrides :data:`QUICK` / :data:`FULL`.
        runner: where the tasks run (:class:`~workbench.runner.Runner`); quick runs default to this process.

    Returns:
        ``Report`` whose ``data`` has ``"runs"`` (one object per setting: ``weights``, ``activations``,
        ``gradients`` as null or [n, m], ``gradient_mask``, ``test_accuracy`` (mean over seeds),
        ``test_accuracy_std``, ``seeds``, ``history`` of the first seed) and ``"gradient_bias"``
        (``"mse_1:2"``, ``"mvue_1:2"``, ``"mse_2:4"``, ``"mvue_2:4"`` -> relative bias norm measured on
        captured gradients), with the full statistics in ``"gradient_statistics"``.
    """
    t0 = time.perf_counter()
    cfg = settings or (QUICK if quick else FULL)
    seeds = [seed + i for i in range(cfg.seeds)]
    epochs, samples = cfg.epochs, cfg.samples
    runner = runner or (Runner.in_process() if quick else Runner())
    grid = tasks(cfg, seeds)
    results = require_complete("nm_sparsity", runner.run("nm_sparsity", grid, TASK_VERSION, progress,
                                                         desc="training runs"))
    stats = results[-1]
    histories = {}
    for t, r in zip(grid[:-1], results[:-1]):
        p = t.params
        run = (_tuple(p["weights"]), _tuple(p["activations"]), _tuple(p["gradients"]), p["gradient_mask"])
        histories.setdefault(run, []).append(r["history"])
    acc = {run: [h[-1]["test_accuracy"] for h in hs] for run, hs in histories.items()}

    runs, table = [], []
    dense_acc = sum(acc[RUNS[0]]) / len(acc[RUNS[0]])
    for run in cfg.runs:
        w, a, g, mask = run
        accs = torch.tensor(acc[run])
        mean, std = float(accs.mean()), float(accs.std()) if len(accs) > 1 else 0.0
        runs.append({
            "label": _label(*run), "weights": list(w) if w else None, "activations": list(a) if a else None,
            "gradients": list(g) if g else None, "gradient_mask": mask, "test_accuracy": mean,
            "test_accuracy_std": std, "seeds": seeds, "history": histories[run][0],
        })
        table.append({"setting": _label(*run), "test acc %": round(100 * mean, 2),
                      "± std": round(100 * std, 2), "Δ vs dense": round(100 * (mean - dense_acc), 2)})
    for key, st in stats.items():
        table.append({"setting": f"gradient mask {key.replace('_', ' ').upper()}",
                      "rel. bias": round(st["relative_bias"], 4),
                      "rel. bias exact": round(st["relative_bias_exact"], 4),
                      "rel. variance": round(st["relative_variance"], 4),
                      "rel. variance exact": round(st["relative_variance_exact"], 4)})
    report_data = {
        "topic": "nm_sparsity", "quick": quick, "seed": seed, "dataset": "digits (scikit-learn)",
        "model": "MLP 64-256-256-10", "epochs": epochs, "samples": samples,
        "runs": runs,
        "gradient_bias": {k: v["relative_bias"] for k, v in stats.items()},
        "gradient_statistics": stats,
        "seconds": time.perf_counter() - t0,
    }
    notes = [
        f"{len(seeds)} seed(s) x {epochs} epochs, SGD momentum 0.9, batch 64; W/A masks: MSE (largest magnitude) "
        "along the input features; G masks along the batch, in the weight-gradient GEMM only.",
        f"Gradient bias: ||E[theta(g)] - g|| / ||g|| over {samples} draws on the neural gradients of the trained "
        f"dense MLP (256 samples); 'exact' from the closed forms. {len(grid)} tasks ({runner.describe()}).",
        f"Took {report_data['seconds']:.1f} s.",
    ]
    return Report("N:M sparsity of weights, activations and neural gradients (Chmiel et al., ICLR 2023)",
                  report_data, table, notes)


def markdown_tables(data: dict) -> dict[str, str]:
    """The results page's tables from a run's JSON: ``accuracy`` (every setting, mean ± std over seeds, the
    difference to dense) and ``gradient_bias`` (each gradient mask's relative bias and variance, measured and
    exact)."""
    runs = data["runs"]
    dense = next(r for r in runs if not (r["weights"] or r["activations"] or r["gradients"]))
    acc = ["| setting | test accuracy (%) | vs dense (points) |", "|---|---|---|"]
    for r in runs:
        acc.append(f"| {r['label']} | {100 * r['test_accuracy']:.2f} ± {100 * r['test_accuracy_std']:.2f} "
                   f"({len(r['seeds'])}) | {100 * (r['test_accuracy'] - dense['test_accuracy']):+.2f} |")
    bias = ["| gradient mask | relative bias, measured | exact | relative variance, measured | exact |",
            "|---|---|---|---|---|"]
    for key, st in data["gradient_statistics"].items():
        method, nm = key.split("_")
        bias.append(f"| {method.upper()} {nm} | {st['relative_bias']:.4f} | {st['relative_bias_exact']:.4f} | "
                    f"{st['relative_variance']:.4f} | {st['relative_variance_exact']:.4f} |")
    return {"accuracy": "\n".join(acc), "gradient_bias": "\n".join(bias)}
