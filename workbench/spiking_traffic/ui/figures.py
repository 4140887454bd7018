"""The spiking page's figures (:mod:`workbench.spiking_traffic.explorer`), as functions of what they show.

The flow's views take ``cur``, the traced flow of :func:`workbench.spiking_traffic.page_data.trace_flow` plus its
``encoding``, ``x``, ``times``, ``sizes``, ``gaps``, ``label`` and ``predicted`` (``None``: nothing traced yet, an
empty figure of the same shape), and ``gaps``, whether the inputs include the gap bins. Every figure keeps the same
elements whatever it shows, so the page updates it in place."""

from __future__ import annotations

import holoviews as hv
import numpy as np
from bokeh.models import FixedTicker

from workbench.spiking_traffic.flows import CLASSES
from workbench.spiking_traffic.page_data import (packet_marks, page_encoding, seconds_text, shipped, shipped_row,
                                                 sweep_rows)

__all__ = ["packets_figure", "raster_figure", "membrane_figure", "readout_figure", "confusion_figure",
           "per_class_figure", "sweep_accuracy_figure", "sweep_spikes_figure", "HIDDEN_SIZES", "N_TRACES"]

HIDDEN_SIZES = (10, 25, 50, 100, 200)
CLASS_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")
#: a cell with 1, 2, 3, 4, 5 or more packets (0: white)
COUNT_COLORS = ["#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b"]
TRACE_COLORS = ("#e6550d", "#3182bd", "#31a354", "#756bb1", "#636363")
N_TRACES = 5  # membranes drawn: the most active neurons of the flow
MIN_SIZE_SPAN = 30  # input bins the encoding's picture shows at least (zoomed on the flow's packets)
WIDTH, HEIGHT = 500, 230


# ---------- one flow through the network ----------
def packets_figure(cur: dict | None, gaps: bool) -> hv.Overlay:
    """The encoding (cells: packets per time step and input) with the packets on it (circles at their exact time
    and size, diamonds at their gap, in the bins' coordinates): one figure, on the encoding's log time axis."""
    enc = cur["encoding"] if cur else page_encoding(gaps)
    x = cur["x"] if cur else np.zeros((enc.n_bins, enc.n_inputs))
    t, s, g = (cur[k] if cur else np.zeros(0) for k in ("times", "sizes", "gaps"))
    m = packet_marks(x, t, s, g, enc, MIN_SIZE_SPAN)
    # the axes' ranges as the dimensions' ranges: a DynamicMap keeps its first frame's xlim / ylim options
    time_dim = hv.Dimension("time step", range=(0, enc.n_bins))
    input_dim = hv.Dimension("input", range=m["ylim"])
    shown = x[:, m["rows"]]  # with gaps: the flow's size bins, then its gap bins
    image = hv.Image(shown.T[::-1], [time_dim, input_dim], "packets", bounds=(0, 0, *shown.shape)).opts(
        cmap=COUNT_COLORS, clim=(0.5, len(COUNT_COLORS) + 0.5), clipping_colors={"min": "white",
                                                                                 "max": COUNT_COLORS[-1]},
        colorbar=True, colorbar_opts={"ticker": FixedTicker(ticks=list(range(1, len(COUNT_COLORS) + 1)))},
        tools=["hover"])
    # one mark per packet at its size (circle) and, with gap inputs, one at its gap (diamond)
    n_gaps = len(m["diamonds"][0])
    marks = hv.Scatter((np.r_[m["circles"][0], m["diamonds"][0]], np.r_[m["circles"][1], m["diamonds"][1]],
                        [f"{v:.0f} B" for v in s] + [f"gap {seconds_text(v)}" for v in g[:n_gaps]],
                        np.r_[t, t[:n_gaps]], ["size"] * len(s) + ["gap"] * n_gaps), time_dim,
                       [input_dim, "packet", "seconds", "mark"]).opts(
        marker=hv.dim("mark").categorize({"size": "circle", "gap": "diamond"}), fill_alpha=0,
        size=hv.dim("mark").categorize({"size": 14, "gap": 12}),
        line_color=hv.dim("mark").categorize({"size": "#d62728", "gap": "#31a354"}), line_alpha=0.75,
        line_width=1, tools=["hover"])
    separator = hv.HLine(m["separator"] if enc.gap_bins else -1e9).opts(color="black", line_dash="dashed",
                                                                        line_width=1)
    what = ("encoding: packets per (time step, input); circles: size, diamonds: gap" if enc.gap_bins else
            "packets (circles) and their encoding: packets per (time step, size bin)")
    ylabel = "size bins; gap bins above the line" if enc.gap_bins else "packet size (size bins)"
    return hv.Overlay([image, marks, separator]).opts(
        title=what, xticks=m["xticks"], yticks=m["yticks"], width=WIDTH, height=HEIGHT + 30,
        xlabel="time since the first packet (time steps)", ylabel=ylabel, framewise=True, fontsize={"title": 9})


def raster_figure(cur: dict | None, gaps: bool) -> hv.Scatter:
    """The hidden layer's spikes (time step, neuron), the traced neurons in their membrane colours."""
    if cur is None:
        t, n, c, hidden, total, firing = np.zeros(0), np.zeros(0), [], 1, 0, 0
    else:
        t, n = np.nonzero(cur["spikes"])
        colour_of = {int(j): TRACE_COLORS[k] for k, j in enumerate(cur["top"])}
        c = [colour_of.get(int(j), "black") for j in n]
        hidden, total = cur["hidden"], int(cur["spikes"].sum())
        firing = int((cur["spikes"].sum(0) > 0).sum())
    # the colours as strings even when no neuron fires: an empty list becomes a float64 column, which BokehJS
    # refuses ("invalid color array") on every redraw of a silent flow
    c = np.array(c, dtype=object)
    points = hv.Scatter((t, n, c), hv.Dimension("time step", range=(-1, page_encoding(gaps).n_bins)),
                        [hv.Dimension("neuron", range=(-1, hidden)), "colour"]).opts(
        color="colour", marker="square", size=4, tools=["hover"])
    return points.opts(title=f"spike raster of the hidden layer: {total} spikes, {firing} of {hidden} neurons fire",
                       width=WIDTH, height=HEIGHT + 40, framewise=True, fontsize={"title": 9})


def membrane_figure(cur: dict | None, gaps: bool) -> hv.Overlay:
    """The membranes of the flow's most active neurons against the threshold (1 after scaling)."""
    curves = []
    steps = np.arange(page_encoding(gaps).n_bins)
    for k in range(N_TRACES):
        if cur is not None and k < len(cur["top"]):
            j = int(cur["top"][k])
            v, label = cur["membrane"][:, j], f"neuron {j} ({int(cur['spikes'][:, j].sum())} spikes)"
        else:
            v, label = np.zeros(len(steps)), f"neuron –{k}"
        curves.append(hv.Curve((steps, v), "time step", "membrane / threshold", label=label).opts(
            color=TRACE_COLORS[k], line_width=1.5))
    threshold = hv.HLine(1.0).opts(color="black", line_dash="dashed", line_width=1)
    return hv.Overlay([*curves, threshold]).opts(
        title=f"membranes of the {N_TRACES} most active neurons (dashed: the threshold)",
        width=WIDTH, height=HEIGHT + 40, legend_position="top_left", framewise=True, fontsize={"title": 9})


def readout_figure(cur: dict | None, gaps: bool) -> hv.Overlay:
    """The readout's running mean per class over the time steps; the predicted class drawn thick."""
    steps = np.arange(page_encoding(gaps).n_bins)
    r = cur["readout"] if cur else np.zeros((len(steps), len(CLASSES)))
    curves = [hv.Curve((steps, r[:, k]), "time step", "readout (running mean)", label=c).opts(
        color=CLASS_COLORS[k], line_width=3 if cur and k == cur["predicted"] else 1.5)
        for k, c in enumerate(CLASSES)]
    if cur is None:
        title = "readout over time"
    else:
        right = cur["predicted"] == cur["label"]
        title = (f"readout over time: predicts {CLASSES[cur['predicted']]} — " +
                 ("right" if right else f"wrong, it is {CLASSES[cur['label']]}"))
    return hv.Overlay(curves).opts(title=title, width=WIDTH, height=HEIGHT + 20, legend_position="left",
                                   framewise=True, fontsize={"title": 9})


# ---------- every validation flow ----------
def confusion_figure(conf, source: str) -> hv.Overlay:
    """The confusion matrix ``conf`` (rows: true class; counts) as fractions of each true class, counts written."""
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
    """Accuracy (recall) per class from ``conf``, with the shipped trees' per-class accuracy as diamonds."""
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


# ---------- hidden size (shipped sweep, and the user's runs) ----------
def sweep_accuracy_figure(gaps: bool, runs: list[dict]) -> hv.Overlay:
    """Accuracy against hidden size: the shipped sweep (mean, std over seeds), the MLP and trees as lines, and
    ``runs`` (the user's: ``hidden``, ``accuracy``, ``gaps``) as triangles."""
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
    """Hidden spikes per validation flow against hidden size: the shipped sweep and the user's ``runs``."""
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
