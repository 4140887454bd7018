"""The spiking_traffic page's figures over every validation flow (HoloViews): the confusion matrix, recall per
class, and accuracy and spikes against hidden size (the shipped sweep and the session's runs). Pure functions of
their arguments and the shipped results (:mod:`.page_data`); the page's per-flow views live in :mod:`.explorer`."""

from __future__ import annotations

import holoviews as hv
import numpy as np

from workbench.spiking_traffic.flows import CLASSES
from workbench.spiking_traffic.page_data import shipped, shipped_row, sweep_rows

__all__ = ["HIDDEN_SIZES", "WIDTH", "HEIGHT", "confusion_figure", "per_class_figure", "sweep_accuracy_figure",
           "sweep_spikes_figure"]

HIDDEN_SIZES = (10, 25, 50, 100, 200)
WIDTH, HEIGHT = 500, 230


def confusion_figure(conf, source: str) -> hv.Overlay:
    """The confusion matrix ``conf`` (rows: true class) as row fractions, with counts; ``source`` in the title."""
    conf = np.asarray(conf, dtype=float)
    rows = np.maximum(conf.sum(1, keepdims=True), 1)
    frac = conf / rows
    true_dim = hv.Dimension("true", values=list(CLASSES))
    pred_dim = hv.Dimension("predicted", values=list(CLASSES))
    cells = [(CLASSES[j], CLASSES[i], frac[i, j], int(conf[i, j])) for i in range(len(CLASSES))
             for j in range(len(CLASSES))]
    heat = hv.HeatMap(cells, [pred_dim, true_dim], ["fraction of the true class", "flows"]).opts(
        cmap="Blues", clim=(0, 1), tools=["hover"], colorbar=False, invert_yaxis=True, xrotation=30)
    labels = hv.Labels([(p, t, str(n), "white" if f > 0.6 else "black") for p, t, f, n in cells],
                       [pred_dim, true_dim], ["flows", "tc"]).opts(text_color="tc",
                                                                              text_font_size="10pt")
    return hv.Overlay([heat, labels]).opts(title=f"confusion matrix — {source}", width=WIDTH, height=HEIGHT + 70,
                                           framewise=True, fontsize={"title": 9})


def per_class_figure(conf, source: str) -> hv.Overlay:
    """Recall per class from ``conf``, with the shipped run's trees beside it when the checkout has them."""
    conf = np.asarray(conf, dtype=float)
    acc = conf.diagonal() / np.maximum(conf.sum(1), 1)
    bars = hv.Bars(list(zip(CLASSES, acc)), "class", "accuracy (recall)").opts(
        color="#3182bd", tools=["hover"], ylim=(0, 1.25))
    trees = shipped_row("trees")
    ref = trees.get("per_class", []) if trees else []
    there = len(ref) == len(CLASSES)  # a label (a legend entry) only for what the shipped run has
    marks = hv.Scatter(list(zip(CLASSES, ref)) if there else [], "class", "accuracy (recall)",
                       label="trees (shipped run)" if there else "").opts(
        color="black", marker="diamond", size=9)
    return hv.Overlay([bars, marks]).opts(title="accuracy per class — " + source.split(" (")[0], width=WIDTH,
                                          height=HEIGHT, legend_position="top_right", framewise=True,
                                          fontsize={"title": 9})


def sweep_accuracy_figure(gaps: bool, runs: list[dict]) -> hv.Overlay:
    """Accuracy against hidden size: the shipped sweep of these inputs, the MLP and the trees, and ``runs`` (the
    session's Trains: ``hidden``, ``accuracy``, ``gaps``)."""
    rows = sweep_rows(gaps)
    h = [r["hidden"] for r in rows]
    acc = [100 * r["test_accuracy"] for r in rows]
    std = [100 * r.get("test_accuracy_std", 0.0) for r in rows]
    kdims, vdim = "hidden neurons", hv.Dimension("test accuracy %", soft_range=(60, 100))
    snn = ("SNN, size + gap bins (shipped)" if gaps else "SNN (shipped)") if rows else ""
    layers = [hv.Curve((h, acc), kdims, vdim, label=snn).opts(
                  color="#3182bd", line_width=2),
              hv.ErrorBars((h, acc, std), kdims, [vdim, "std"]).opts(color="#3182bd"),
              hv.Scatter((h, acc), kdims, vdim).opts(color="#3182bd", size=7)]
    for model, colour, name in (("mlp", "#ff7f0e", "MLP, same size"), ("trees", "black", "trees")):
        row = shipped_row(model)
        ys = [100 * row["test_accuracy"]] * 2 if row else []
        layers.append(hv.Curve(([HIDDEN_SIZES[0], HIDDEN_SIZES[-1]] if row else [], ys), kdims, vdim,
                               label=name if row else "").opts(color=colour, line_dash="dashed"))
    mine = [r for r in runs if r["gaps"] == gaps]
    layers.append(hv.Scatter(([r["hidden"] for r in mine], [100 * r["accuracy"] for r in mine]), kdims, vdim,
                             label="your runs").opts(color="#d62728", marker="triangle", size=10))
    quick = " (quick run)" if shipped().get("quick") else ""
    note = f"shipped run{quick}" if rows else "no shipped sweep in this checkout: your runs only"
    return hv.Overlay(layers).opts(title=f"accuracy against hidden size — {note}", logx=True, width=WIDTH,
                                   height=HEIGHT + 20, legend_position="bottom_right", framewise=True,
                                   xlim=(8, 250), xticks=list(HIDDEN_SIZES), fontsize={"title": 9, "legend": 7})


def sweep_spikes_figure(gaps: bool, runs: list[dict]) -> hv.Overlay:
    """Hidden spikes per validation flow against hidden size: the shipped sweep and ``runs``."""
    rows = [r for r in sweep_rows(gaps) if "spikes_per_sample" in r]
    h = [r["hidden"] for r in rows]
    spikes = [r["spikes_per_sample"] for r in rows]
    kdims, vdim = "hidden neurons", "hidden spikes per flow"
    mine = [r for r in runs if r["gaps"] == gaps]
    snn = ("SNN, size + gap bins (shipped)" if gaps else "SNN (shipped)") if rows else ""
    layers = [hv.Curve((h, spikes), kdims, vdim, label=snn).opts(
                  color="#3182bd", line_width=2),
              hv.Scatter((h, spikes), kdims, vdim).opts(color="#3182bd", size=7),
              hv.Scatter(([r["hidden"] for r in mine], [r["spikes"] for r in mine]), kdims, vdim,
                         label="your runs").opts(color="#d62728", marker="triangle", size=10)]
    return hv.Overlay(layers).opts(title="spikes per validation flow against hidden size", logx=True,
                                   width=WIDTH, height=HEIGHT + 20, legend_position="top_left", framewise=True,
                                   xlim=(8, 250), xticks=list(HIDDEN_SIZES), fontsize={"title": 9})
