"""Every method on every layer of a trained model at bit budgets: the size/error frontier.

``python -m workbench.compression.frontier --model mlp cnn --budgets 1 2 3 4 --json out.json`` trains the model
(seeded; the digits MLP 20 epochs, the MNIST CNN 6, SGD with momentum, the pruning topic's recipe), then for each
layer and budget runs :func:`~workbench.compression.budget.compress_at_budget` for each method and prints a
markdown table of relative errors ``‖W − Ŵ‖_F / ‖W‖_F`` (bits per weight actually used in brackets).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch
from torch import nn

from workbench.checks import check_int
from workbench.classification import Split, digits_data, fit_classifier, make_cnn, make_mlp
from workbench.compression.budget import METHODS, check_budget, compress_at_budget

__all__ = ["RECIPES", "model_data", "trained_model", "compressible_layers", "layer_frontier", "markdown"]

#: model -> (build, data, epochs, learning rate): the pruning topic's dense recipe (batch 64)
RECIPES = {
    "mlp": (make_mlp, digits_data, 20, 0.05),
    "cnn": (make_cnn, None, 6, 0.05),
}


def model_data(model: str, seed: int) -> Split:
    """The data ``model`` trains on: the digits split (MLP) or MNIST (CNN)."""
    if model == "cnn":
        from workbench.mnist import mnist_data

        return mnist_data(seed)
    return RECIPES[model][1](seed)


def trained_model(model: str, seed: int = 0) -> tuple[nn.Module, Split]:
    """The dense ``model`` ("mlp" or "cnn") trained with ``seed``, and its data."""
    if model not in RECIPES:
        raise ValueError(f"model: expected one of {sorted(RECIPES)}, got {model!r}")
    check_int("seed", seed, 0)
    build, _, epochs, lr = RECIPES[model]
    data = model_data(model, seed)
    net = build(seed)
    fit_classifier(net, data, epochs, lr, 64, seed)
    return net, data


def compressible_layers(net: nn.Module) -> dict[str, nn.Module]:
    """The Linear and Conv2d layers of ``net`` by name."""
    return {name: m for name, m in net.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))}


def layer_frontier(net: nn.Module, budgets=(1, 2, 3, 4), methods=METHODS, progress=None) -> list[dict]:
    """``[{"layer", "shape", "method", "budget", "bits_per_weight", "relative_error", "config", "seconds"}]``;
    ``relative_error`` is ``None`` where nothing of the method fits the budget."""
    budgets = [check_budget(b) for b in budgets]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(f"methods: expected names from {METHODS}, got {unknown}")
    rows = []
    for name, layer in compressible_layers(net).items():
        W = layer.weight.detach()
        for budget in budgets:
            for method in methods:
                start = time.perf_counter()
                best = compress_at_budget(W, method, budget)
                rows.append({"layer": name, "shape": list(W.shape), "method": method, "budget": budget,
                             "bits_per_weight": None if best is None else best.storage_.bits_per_weight,
                             "relative_error": None if best is None else best.relative_error_,
                             "config": None if best is None else repr(best),
                             "seconds": time.perf_counter() - start})
                if progress is not None:
                    progress(rows[-1])
    return rows


def markdown(rows: list[dict]) -> str:
    """One table: a row per layer and budget, a column per method; the best of each row in bold."""
    methods = [m for m in METHODS if any(r["method"] == m for r in rows)]
    keys = list(dict.fromkeys((r["layer"], tuple(r["shape"]), r["budget"]) for r in rows))
    lines = ["| layer | shape | budget (bits/weight) | " + " | ".join(methods) + " |",
             "|---" * (3 + len(methods)) + "|"]
    for layer, shape, budget in keys:
        here = {r["method"]: r for r in rows if (r["layer"], tuple(r["shape"]), r["budget"]) == (layer, shape, budget)}
        errors = [here[m]["relative_error"] for m in methods if here.get(m) and here[m]["relative_error"] is not None]
        best = min(errors) if errors else None
        cells = []
        for m in methods:
            r = here.get(m)
            if r is None or r["relative_error"] is None:
                cells.append("–")
                continue
            text = f"{r['relative_error']:.3f} ({r['bits_per_weight']:.2f})"
            cells.append(f"**{text}**" if r["relative_error"] == best else text)
        lines.append(f"| {layer} | {'×'.join(map(str, shape))} | {budget:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m workbench.compression.frontier", description=__doc__.split("\n")[0])
    p.add_argument("--model", nargs="+", default=["mlp", "cnn"], choices=sorted(RECIPES))
    p.add_argument("--budgets", nargs="+", type=float, default=[1, 2, 3, 4])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="write the rows here")
    args = p.parse_args(argv)
    out = {}
    for model in args.model:
        net, _ = trained_model(model, args.seed)
        out[model] = layer_frontier(net, args.budgets, progress=lambda r: print(
            f"{r['layer']} {r['budget']:g} {r['method']}: {r['relative_error']}", file=sys.stderr, flush=True))
        print(f"### {model}\n\n{markdown(out[model])}\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"seed": args.seed, "threads": torch.get_num_threads(), "rows": out}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
