"""``python -m workbench.compression.figures``: the docs' size/error frontier, drawn from the full run's JSON.

One panel per layer (a row per model): relative error ``‖W − Ŵ‖_F / ‖W‖_F`` against the bits per weight each
method used at each budget, means over seeds, from ``docs/results/compression.json``; written to
``docs/screenshots/compression_frontier.png``. Matplotlib (Agg) is imported only here, for the file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from workbench.compression.experiments import METHOD_COLORS, METHOD_NAMES
from workbench.results_pages import DOCS

__all__ = ["frontier_series", "main"]


def frontier_series(rows: list[dict]) -> dict[tuple[str, str], dict[str, list[tuple[float, float]]]]:
    """``{(model, layer): {method: [(bits_per_weight, relative_error), ...] sorted}}`` of the layer rows."""
    out: dict = {}
    for r in rows:
        if r["layer"] == "all" or r["relative_error"] is None:
            continue
        out.setdefault((r["model"], r["layer"]), {}).setdefault(r["method"], []).append(
            (r["bits_per_weight"], r["relative_error"]))
    return {k: {m: sorted(v) for m, v in by.items()} for k, by in out.items()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m workbench.compression.figures", description=__doc__.splitlines()[0])
    p.add_argument("--json", default=str(DOCS / "results" / "compression.json"))
    p.add_argument("--out", default=str(DOCS / "screenshots" / "compression_frontier.png"))
    args = p.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = frontier_series(json.loads(Path(args.json).read_text())["results"])
    if not series:
        print(f"no layer rows in {args.json}", file=sys.stderr)
        return 1
    models = list(dict.fromkeys(m for m, _ in series))
    cols = max(sum(1 for m, _ in series if m == model) for model in models)
    fig, axes = plt.subplots(len(models), cols, figsize=(3.6 * cols, 3.2 * len(models)), squeeze=False)
    for i, model in enumerate(models):
        layers = [layer for m, layer in series if m == model]
        for j in range(cols):
            ax = axes[i][j]
            if j >= len(layers):
                ax.axis("off")
                continue
            for method, pts in series[(model, layers[j])].items():
                xs, ys = zip(*pts)
                ax.plot(xs, ys, "o-", color=METHOD_COLORS[method], lw=2.5 if method == "sqf" else 1.2,
                        label=METHOD_NAMES[method], ms=3)
            ax.set_title(f"{model}, layer {layers[j]}", fontsize=10)
            ax.set_xlabel("bits per weight")
            ax.set_ylim(0, None)
            ax.grid(alpha=0.3)
            if j == 0:
                ax.set_ylabel("relative error")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.1 / len(models), 1, 1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
