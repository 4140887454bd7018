"""Dashboard "spike rasters, confusion matrix": pick a validation flow (a class, then one of its flows); see its
packets (size against time since the first packet), its encoding (packets per time step and size bin), the hidden
layer's spikes, the membranes of the most active neurons against their thresholds, and the readout over time that
names the class; beside it, the confusion matrix and per-class accuracy over every validation flow, and the hidden
size against accuracy and spikes per flow from the shipped full run (``docs/results/spiking_traffic.json``).

Before any Train the shipped pre-trained network (:mod:`.pretrained`) drives the flow views. Train fits a network
of the chosen hidden size and surrogate off the server's event loop, streams its epochs (the flow views follow
it), and then shows its validation results. Without the ISCX files the page runs on synthetic flows and says where
the files go."""

from __future__ import annotations

import copy
import functools
import json

import holoviews as hv
import numpy as np
import panel as pn
import param
import torch
from bokeh.models import FixedTicker

from kernels import SURROGATES
from workbench.results_pages import DOCS
from workbench.spiking_traffic.encoding import SIZE_EDGES, Encoding, encode
from workbench.spiking_traffic.energy import snn_costs
from workbench.spiking_traffic.experiments import evaluate
from workbench.spiking_traffic.flows import CLASSES, Flows, load_iscx, synthetic_flows
from workbench.spiking_traffic.network import SpikingNetwork
from workbench.spiking_traffic.pretrained import info as pretrained_info
from workbench.spiking_traffic.pretrained import load_pretrained
from workbench.spiking_traffic.training import TrainSettings, predict_logits, train
from workbench.ui import ExplorerBase, error_message, load_extensions
from workbench.ui.train_buttons import TrainButtons

__all__ = ["Explorer", "RESULTS_JSON", "shipped", "available", "starting_flows", "HIDDEN_SIZES", "PAGE_TRAIN"]

RESULTS_JSON = DOCS / "results" / "spiking_traffic.json"
HIDDEN_SIZES = (10, 25, 50, 100, 200)
#: training flows a Train of the page uses (a fixed random subset of the 12,922: seconds an epoch, and a few hundred
#: MB rather than 2 GB of encoded flows per training; the shipped run trains on them all)
PAGE_TRAIN = 6000
SYNTHETIC_VAL, SYNTHETIC_TRAIN = 500, 3000  # flows of the page without the data: shown, and trained on
ENCODING = Encoding()  # the page's (and the shipped network's): log time axis, 100 steps, 150 size bins
CLASS_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")
#: a cell with 1, 2, 3, 4, 5 or more packets (0: white)
COUNT_COLORS = ["#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b"]
TRACE_COLORS = ("#e6550d", "#3182bd", "#31a354", "#756bb1", "#636363")
N_TRACES = 5  # membranes drawn: the most active neurons of the flow
MIN_SIZE_SPAN = 30  # size bins the encoding's picture shows at least (zoomed on the flow's packets)
WIDTH, HEIGHT = 500, 230
HELP = ("Encoding: one input neuron per size bin, one simulation step per time bin (log-spaced from 1 ms to 10⁴ s "
        "after the flow's first packet); a cell's value is its packet count, fed as input current (the circles are "
        "the packets themselves, at their time and size). The hidden neurons integrate it, leak "
        "and spike at their threshold; the readout averages their spikes over time and names the class.")


def available() -> bool:
    """Whether this machine has the ISCX flows (``workbench.data``, no download here: a page must not wait on the
    network)."""
    from workbench import data

    return data.on_this_machine("traffic")


@functools.lru_cache(maxsize=2)
def _page_flows(real: bool) -> Flows:
    return load_iscx("val") if real else synthetic_flows(SYNTHETIC_VAL, seed=0)


def starting_flows() -> Flows:
    """The flows the page starts from: the 1,291 ISCX validation flows if this machine has them (no download), else
    :data:`SYNTHETIC_VAL` synthetic flows (seed 0). Cached."""
    return _page_flows(available())


@functools.lru_cache(maxsize=2)
def _page_x(real: bool) -> torch.Tensor:
    """The page's flows encoded, ``(N, 100, 150)`` (77 MB for the ISCX validation flows)."""
    return encode(_page_flows(real), ENCODING)


@functools.lru_cache(maxsize=2)
def _pretrained_predictions(real: bool) -> np.ndarray:
    return predict_logits(load_pretrained(), _page_x(real)).argmax(1).numpy()


@functools.lru_cache(maxsize=1)
def shipped() -> dict:
    """The shipped full run's data (``{}`` when absent or unreadable)."""
    try:
        return json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.is_file() else {}
    except (OSError, ValueError):
        return {}


def _shipped_row(model: str) -> dict | None:
    return next((r for r in shipped().get("results", []) if r.get("model") == model), None)


def _class_index(flows: Flows) -> dict[str, np.ndarray]:
    return {c: np.flatnonzero(flows.labels == k) for k, c in enumerate(CLASSES)}


@functools.lru_cache(maxsize=2)
def _page_index(real: bool) -> dict[str, np.ndarray]:
    return _class_index(_page_flows(real))


def _training_flows(real: bool, limit: int | None) -> Flows:
    """What a Train fits: at most ``limit`` ISCX training flows (a fixed random subset), or synthetic flows."""
    flows = load_iscx("train") if real else synthetic_flows(SYNTHETIC_TRAIN, seed=1)
    if limit is not None and limit < len(flows):
        flows = flows.subset(np.sort(np.random.default_rng(0).permutation(len(flows))[:limit]))
    return flows


class Explorer(ExplorerBase):
    """Encrypted traffic classification with a supervised spiking network (Rasteh et al., Neurocomputing 2022)."""

    flow_class = param.Selector(default=CLASSES[0], objects=list(CLASSES), label="Class",
                                doc="The class whose validation flows the slider runs over")
    flow = param.Integer(default=0, bounds=(0, 289), label="Flow number", doc="Which flow of that class")
    hidden = param.Selector(default=100, objects=list(HIDDEN_SIZES), label="Hidden neurons",
                            doc="LIF neurons in the hidden layer of a Train")
    surrogate = param.Selector(default="sigmoid", objects=list(SURROGATES), label="Surrogate gradient",
                               doc="The derivative that stands in for the spike's step function in the backward pass")
    epochs = param.Integer(default=3, bounds=(1, 20), doc="Epochs a Train runs")
    max_train = param.Integer(default=PAGE_TRAIN, bounds=(10, None), allow_None=True, precedence=-1,
                              doc="Training flows a Train uses (None: all)")
    _frame = param.Integer(default=0, precedence=-1)  # the model or the results shown changed

    def __init__(self, **params):
        load_extensions()
        self._real = available()
        super().__init__(**params)
        self._flows = _page_flows(self._real)
        self._index = _page_index(self._real)
        self._buttons = TrainButtons()
        self._buttons.on_click(self._on_train)
        self._model: SpikingNetwork | None = None  # the user's (None: the shipped pre-trained network)
        self._model_label = ""
        self._run: dict | None = None  # the user's last finished Train: settings, confusion, accuracy
        self._runs: list[dict] = []  # every finished Train of this session (the sweep's "your runs")
        self._run_id = 0
        self._traced: tuple | None = None  # (key, trace of the shown flow)
        self._status = pn.pane.Markdown("", sizing_mode="stretch_width")
        self._train_status = pn.pane.Markdown("", sizing_mode="stretch_width")
        self._error = pn.Column(sizing_mode="stretch_width")  # a Train's
        self._flow_error = pn.Column(sizing_mode="stretch_width")  # the shown flow's
        self._failed: Exception | None = None
        self._fit_bounds()
        flow_streams = [hv.streams.Params(self, ["flow_class", "flow", "_frame"])]
        run_streams = [hv.streams.Params(self, ["_frame"])]
        views = {"packets": (self._packets, flow_streams), "raster": (self._raster, flow_streams),
                 "membrane": (self._membrane, flow_streams), "readout": (self._readout, flow_streams),
                 "confusion": (self._confusion, run_streams), "per_class": (self._per_class, run_streams),
                 "sweep_accuracy": (self._sweep_accuracy, run_streams),
                 "sweep_spikes": (self._sweep_spikes, run_streams)}
        self._panes = {name: pn.pane.HoloViews(hv.DynamicMap(_framewise(view), streams=streams))
                       for name, (view, streams) in views.items()}
        self._describe()

    # ---------- what is shown ----------
    def _fit_bounds(self) -> None:
        """The flow slider runs over the chosen class's flows (an instance parameter: the class keeps its own)."""
        n = len(self._index[self.flow_class])
        self.param.flow.bounds = (0, max(n - 1, 0))
        if self.flow > n - 1:
            self.flow = max(n - 1, 0)

    def _shown_model(self) -> tuple[SpikingNetwork, str]:
        if self._model is not None:
            return self._model, self._model_label
        i = pretrained_info()
        return load_pretrained(), (f"shipped pre-trained network (hidden {i['hidden']}, {i['settings']['epochs']} "
                                   f"epochs, {100 * i['test_accuracy']:.1f} % on the ISCX validation flows)")

    def _flow_number(self) -> int | None:
        idx = self._index[self.flow_class]
        return int(idx[min(int(self.flow), len(idx) - 1)]) if len(idx) else None

    def _current(self) -> dict | None:
        """The shown flow through the shown network: packets, encoding and trace (memoised on both); None when
        there is no flow to show or it failed (:meth:`_describe` shows why; the views draw empty figures)."""
        i = self._flow_number()
        if i is None:
            return None
        model, label = self._shown_model()
        key = (self._real, i, id(model))
        if self._traced is not None and self._traced[0] == key:
            return self._traced[1]
        try:
            cur = self._trace(i, model, label)
        except Exception as exc:  # noqa: BLE001 - shown on the page by _describe, not raised into a figure
            self._failed = exc
            return None
        self._failed = None
        self._traced = (key, cur)
        return cur

    def _trace(self, i: int, model: SpikingNetwork, label: str) -> dict:
        one = self._flows.subset([i])
        x = encode(one, ENCODING)
        t = model.trace(x)
        n = int(one.lengths[0])
        spikes, membrane = t["spikes"][0].numpy(), t["membrane"][0].numpy()
        threshold = model.b.detach().clamp(min=1e-3).numpy()
        per_neuron = spikes.sum(0)
        top = np.lexsort((-membrane.max(0), -per_neuron))[:N_TRACES]  # most spikes first, then highest membrane
        logits = t["logits"][0].numpy()
        cur = {"number": i, "label": int(one.labels[0]), "sizes": one.sizes[0, :n], "times":
               one.relative_times()[0, :n], "x": x[0].numpy(), "spikes": spikes, "membrane": membrane / threshold,
               "top": top, "readout": t["readout"][0].numpy(), "predicted": int(logits.argmax()),
               "hidden": model.hidden, "model": label}
        return cur

    def _describe(self) -> None:
        cur = self._current()
        self._flow_error.clear()
        if self._failed is not None:
            self._flow_error.append(error_message(self._failed))
        source = ("the ISCX validation flows" if self._real else
                  f"{len(self._flows)} synthetic flows (the real ones are not on this machine)")
        n_class = len(self._index[self.flow_class])
        if cur is None:
            self._status.object = (f"No flow of class **{self.flow_class}** among {source}." if self._failed is None
                                   else f"The network could not run on this flow of **{self.flow_class}**.")
            return
        right = cur["predicted"] == cur["label"]
        span = cur["times"][-1] if len(cur["times"]) else 0.0
        text = (f"**Flow {int(self.flow) + 1} of {n_class} ({self.flow_class})** from {source}: "
                f"{len(cur['sizes'])} packets over {_seconds(span)}. Shown network: {cur['model']}. It predicts "
                f"**{CLASSES[cur['predicted']]}** — ")
        text += "right." if right else f"wrong (it is {CLASSES[cur['label']]})."
        if not self._real:
            text += ("\n\n*The ISCX VPN-nonVPN flows are not on this machine: the page shows synthetic teaching flows "
                     "and Train fits them. Put iscx_nonvpn_20pkt_{x,y}_{train,val}.npy in a folder traffic/ under "
                     "WORKBENCH_DATA (see `workbench data`) to see the real ones.*")
        self._status.object = text

    @param.depends("flow_class", watch=True)
    def _class_changed(self):
        self._fit_bounds()

    @param.depends("flow_class", "flow", "_frame", watch=True)
    def _flow_changed(self):
        self._describe()

    # ---------- the flow's views (the same elements whatever is shown: figures are updated in place) ----------
    def _packets(self, **_params):
        """The encoding (cells: packets per time step and size bin) with the packets on it (circles, at their exact
        time and size in the bins' coordinates): one figure, both on the encoding's log time axis."""
        cur = self._current()
        x = cur["x"] if cur else np.zeros((ENCODING.n_bins, ENCODING.n_sizes))
        t = cur["times"] if cur else np.zeros(0)
        s = cur["sizes"] if cur else np.zeros(0)
        edges = ENCODING.time_edges()
        xticks = [(int(np.searchsorted(edges, v)), lab) for v, lab in ((1e-3, "1 ms"), (0.1, "0.1 s"), (10, "10 s"),
                                                                       (1e3, "1000 s"))]
        used = np.flatnonzero(x.sum(0))
        low, high = (int(used.min()), int(used.max()) + 1) if len(used) else (0, x.shape[1])
        pad = max(0, MIN_SIZE_SPAN - (high - low)) / 2 + 2  # zoomed on the flow's sizes: a bin is a few pixels
        ylim = (max(0.0, low - pad), min(float(x.shape[1]), high + pad))
        every = 5 * max(1, round((ylim[1] - ylim[0]) / 6 / 5))  # about six ticks over the bins shown
        yticks = [(k, f"{int(SIZE_EDGES[k])} B") for k in range(1, len(SIZE_EDGES), every)]
        # the axes' ranges as the dimensions' ranges: a DynamicMap keeps its first frame's xlim / ylim options
        time_dim = hv.Dimension("time step", range=(0, ENCODING.n_bins))
        size_dim = hv.Dimension("size bin", range=ylim)
        image = hv.Image(x.T[::-1], [time_dim, size_dim], "packets", bounds=(0, 0, x.shape[0], x.shape[1])).opts(
            cmap=COUNT_COLORS, clim=(0.5, len(COUNT_COLORS) + 0.5), clipping_colors={"min": "white",
                                                                                     "max": COUNT_COLORS[-1]},
            colorbar=True, colorbar_opts={"ticker": FixedTicker(ticks=list(range(1, len(COUNT_COLORS) + 1)))},
            tools=["hover"])
        points = hv.Scatter((_time_coordinate(t, edges), _size_coordinate(s), s, t), time_dim,
                            [size_dim, "bytes", "seconds"]).opts(
            marker="circle", size=14, fill_alpha=0, line_color="#d62728", line_alpha=0.7, line_width=1,
            tools=["hover"])
        return hv.Overlay([image, points]).opts(
            title="packets (circles) and their encoding: packets per (time step, size bin)", xticks=xticks,
            yticks=yticks, width=WIDTH, height=HEIGHT + 30, xlabel="time since the first packet (time steps)",
            ylabel="packet size (size bins)", framewise=True, fontsize={"title": 9})

    def _raster(self, **_params):
        cur = self._current()
        if cur is None:
            t, n, c, hidden, total, firing = np.zeros(0), np.zeros(0), [], 1, 0, 0
        else:
            t, n = np.nonzero(cur["spikes"])
            colour_of = {int(j): TRACE_COLORS[k] for k, j in enumerate(cur["top"])}
            c = [colour_of.get(int(j), "black") for j in n]
            hidden, total = cur["hidden"], int(cur["spikes"].sum())
            firing = int((cur["spikes"].sum(0) > 0).sum())
        points = hv.Scatter((t, n, c), hv.Dimension("time step", range=(-1, ENCODING.n_bins)),
                            [hv.Dimension("neuron", range=(-1, hidden)), "colour"]).opts(
            color="colour", marker="square", size=4, tools=["hover"])
        return points.opts(title=f"spike raster of the hidden layer: {total} spikes, {firing} of {hidden} neurons fire",
                           width=WIDTH, height=HEIGHT + 40, framewise=True, fontsize={"title": 9})

    def _membrane(self, **_params):
        cur = self._current()
        curves = []
        steps = np.arange(ENCODING.n_bins)
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

    def _readout(self, **_params):
        cur = self._current()
        steps = np.arange(ENCODING.n_bins)
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
    def _results(self) -> tuple[list, str]:
        """The confusion matrix shown (rows: true class) and where it comes from."""
        if self._run is not None:
            return self._run["confusion"], f"your run ({self._run['label']})"
        conf = shipped().get("confusion") or []
        if len(conf) == len(CLASSES):
            row = _shipped_row("snn") or {}
            seeds = len(row.get("seeds", [])) or 1
            quick = ", quick run" if shipped().get("quick") else ""
            return conf, (f"shipped run's SNN (hidden {row.get('hidden', '?')}, {seeds} seed"
                          f"{'s' if seeds > 1 else ''} summed{quick})")
        predicted = _pretrained_predictions(self._real)
        conf = evaluate(predicted, self._flows.labels)["confusion"]
        return conf, "shipped pre-trained network" + ("" if self._real else " on the synthetic flows")

    def _confusion(self, **_params):
        conf, source = self._results()
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

    def _per_class(self, **_params):
        conf, source = self._results()
        conf = np.asarray(conf, dtype=float)
        acc = conf.diagonal() / np.maximum(conf.sum(1), 1)
        bars = hv.Bars(list(zip(CLASSES, acc)), "class", "accuracy (recall)").opts(
            color="#3182bd", tools=["hover"], ylim=(0, 1.25))
        trees = _shipped_row("trees")
        ref = trees.get("per_class", []) if trees else []
        there = len(ref) == len(CLASSES)  # a label (a legend entry) only for what the shipped run has
        marks = hv.Scatter(list(zip(CLASSES, ref)) if there else [], "class", "accuracy (recall)",
                           label="trees (shipped run)" if there else "").opts(
            color="black", marker="diamond", size=9)
        return hv.Overlay([bars, marks]).opts(title="accuracy per class — " + source.split(" (")[0], width=WIDTH,
                                              height=HEIGHT, legend_position="top_right", framewise=True,
                                              fontsize={"title": 9})

    # ---------- hidden size (shipped sweep, and the user's runs) ----------
    def _sweep_rows(self) -> list[dict]:
        s = shipped()
        main = s.get("settings", {})
        rows = [r for r in s.get("sweep", []) if r.get("variant") in ("main", "hidden")
                and r.get("surrogate") == main.get("surrogate", "sigmoid")
                and r.get("time_scale") == main.get("time_scale", "log")]
        return sorted(rows, key=lambda r: r["hidden"])

    def _sweep_accuracy(self, **_params):
        rows = self._sweep_rows()
        h = [r["hidden"] for r in rows]
        acc = [100 * r["test_accuracy"] for r in rows]
        std = [100 * r.get("test_accuracy_std", 0.0) for r in rows]
        kdims, vdim = "hidden neurons", hv.Dimension("test accuracy %", soft_range=(60, 100))
        layers = [hv.Curve((h, acc), kdims, vdim, label="SNN (shipped)" if rows else "").opts(
                      color="#3182bd", line_width=2),
                  hv.ErrorBars((h, acc, std), kdims, [vdim, "std"]).opts(color="#3182bd"),
                  hv.Scatter((h, acc), kdims, vdim).opts(color="#3182bd", size=7)]
        for model, colour, name in (("mlp", "#ff7f0e", "MLP, same size"), ("trees", "black", "trees")):
            row = _shipped_row(model)
            ys = [100 * row["test_accuracy"]] * 2 if row else []
            layers.append(hv.Curve(([HIDDEN_SIZES[0], HIDDEN_SIZES[-1]] if row else [], ys), kdims, vdim,
                                   label=name if row else "").opts(color=colour, line_dash="dashed"))
        mine = self._runs
        layers.append(hv.Scatter(([r["hidden"] for r in mine], [100 * r["accuracy"] for r in mine]), kdims, vdim,
                                 label="your runs").opts(color="#d62728", marker="triangle", size=10))
        quick = " (quick run)" if shipped().get("quick") else ""
        note = f"shipped run{quick}" if rows else "no shipped sweep in this checkout: your runs only"
        return hv.Overlay(layers).opts(title=f"accuracy against hidden size — {note}", logx=True, width=WIDTH,
                                       height=HEIGHT + 20, legend_position="bottom_right", framewise=True,
                                       xlim=(8, 250), xticks=list(HIDDEN_SIZES), fontsize={"title": 9, "legend": 7})

    def _sweep_spikes(self, **_params):
        rows = [r for r in self._sweep_rows() if "spikes_per_sample" in r]
        h = [r["hidden"] for r in rows]
        spikes = [r["spikes_per_sample"] for r in rows]
        kdims, vdim = "hidden neurons", "hidden spikes per flow"
        mine = self._runs
        layers = [hv.Curve((h, spikes), kdims, vdim, label="SNN (shipped)" if rows else "").opts(
                      color="#3182bd", line_width=2),
                  hv.Scatter((h, spikes), kdims, vdim).opts(color="#3182bd", size=7),
                  hv.Scatter(([r["hidden"] for r in mine], [r["spikes"] for r in mine]), kdims, vdim,
                             label="your runs").opts(color="#d62728", marker="triangle", size=10)]
        return hv.Overlay(layers).opts(title="spikes per validation flow against hidden size", logx=True,
                                       width=WIDTH, height=HEIGHT + 20, legend_position="top_left", framewise=True,
                                       xlim=(8, 250), xticks=list(HIDDEN_SIZES), fontsize={"title": 9})

    # ---------- training (in the server's job pool; progress comes back to the page) ----------
    def _on_train(self):
        if self._buttons.running:
            return
        self._error.clear()
        hidden, surrogate, epochs = int(self.hidden), self.surrogate, int(self.epochs)
        real, limit = self._real, self.max_train
        self._run_id += 1
        run_id = self._run_id
        label = f"hidden {hidden}, {surrogate}, {epochs} epoch{'s' if epochs > 1 else ''}"
        where = "ISCX training flows" if real else "synthetic training flows"

        def work(report, cancelled):
            flows = _training_flows(real, limit)
            x = encode(flows, ENCODING)
            model = SpikingNetwork(x.shape[2], hidden, len(CLASSES), surrogate=surrogate, seed=0)

            def progress(record):
                report({"record": record, "model": copy.deepcopy(model).eval()})

            history = train(model, x, flows.labels, TrainSettings(epochs=epochs, seed=0), progress=progress,
                            should_stop=cancelled.is_set)
            del x
            x_val = _page_x(real)
            predicted = predict_logits(model, x_val).argmax(1).numpy()
            scores = evaluate(predicted, _page_flows(real).labels)
            return {"model": model, "history": history, "stopped": cancelled.is_set(), "n_train": len(flows),
                    "confusion": scores["confusion"], "accuracy": scores["test_accuracy"],
                    "spikes": snn_costs(model, x_val)["spikes_per_sample"]}

        def progress(item):
            if self._run_id != run_id:
                return
            r = item["record"]
            self._model = item["model"]
            self._model_label = f"your run ({label}), during training: epoch {r['epoch']}"
            self._train_status.object = (f"Training ({label}) on {where}: epoch {r['epoch']}/{epochs}, "
                                         f"held-out accuracy {r['valid_accuracy']:.3f}, loss {r['loss']:.3f}")
            self._frame += 1

        def done(result, error):
            if self._run_id != run_id:
                return
            if error is not None:
                self._error.append(error_message(error))
                self._train_status.object += " — failed."
                return
            self._model = result["model"]
            best = max(h["valid_accuracy"] for h in result["history"])
            self._model_label = f"your run ({label}, the best held-out epoch)"
            self._run = {"label": label, "confusion": result["confusion"]}
            self._runs.append({"hidden": hidden, "surrogate": surrogate, "epochs": epochs,
                               "accuracy": result["accuracy"], "spikes": result["spikes"]})
            flows = "validation" if real else "shown synthetic"
            self._train_status.object += (f" — {'stopped' if result['stopped'] else 'done'}. Trained on "
                                           f"{result['n_train']:,} flows; best held-out accuracy {best:.3f}; on the "
                                           f"{flows} flows {100 * result['accuracy']:.1f} %, "
                                           f"{result['spikes']:.0f} spikes per flow.")
            self._frame += 1

        self._train_status.object = f"Training ({label}) on {where} …"
        refused = self._buttons.start(f"spiking_traffic training {label}", work, on_progress=progress,
                                      on_done=done)
        if refused:
            self._train_status.object = refused

    # ---------- layout ----------
    def controls(self):
        flow = pn.Param(self.param, parameters=["flow_class", "flow"], show_name=False, sizing_mode="stretch_width",
                        widgets={"flow": {"type": pn.widgets.IntSlider, "throttled": True}})
        setting = pn.Param(self.param, parameters=["hidden", "surrogate", "epochs"], show_name=False,
                           sizing_mode="stretch_width",
                           widgets={"epochs": {"type": pn.widgets.IntSlider, "throttled": True}})
        size = f"{self.max_train:,} of the" if self.max_train else "all the"
        note = pn.pane.Markdown(f"Train fits {size} training flows ({len(self._flows):,} are shown); the shipped "
                                "run trains on all of them, longer.", styles={"font-size": "0.85em"})
        return pn.Column("### Which flow", flow, "### Train", setting, self._buttons.row(), note,
                         sizing_mode="stretch_width")

    def main_view(self):
        p = self._panes
        one = pn.Column(
            "### One flow through the network", p["packets"], p["raster"],
            pn.Tabs(("Readout over time", p["readout"]), ("Membranes", p["membrane"]), dynamic=True))
        every = pn.Column(
            "### Every validation flow",
            pn.Tabs(("Confusion matrix", p["confusion"]), ("Per class", p["per_class"]),
                    ("Hidden size: accuracy", p["sweep_accuracy"]), ("Hidden size: spikes", p["sweep_spikes"]),
                    dynamic=True))
        return pn.Column(self._status, self._flow_error, self._train_status, self._error, pn.Row(one, every),
                         pn.pane.Markdown(HELP, styles={"font-size": "0.9em"}), sizing_mode="stretch_width")


def _framewise(view):
    """``view`` whose every element has ``framewise=True``: the axes follow each frame (the option on an Overlay
    does not reach its layers' ranges)."""

    @functools.wraps(view)
    def wrapper(**params):
        obj = view(**params)
        for element in (obj if isinstance(obj, hv.Overlay) else [obj]):
            element.opts(framewise=True)
        return obj

    return wrapper


def _time_coordinate(t: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Seconds since the first packet as a continuous time step: bin ``k`` spans ``[k, k + 1)``, log-interpolated
    within a bin (linear in the first, from 0)."""
    t = np.asarray(t, dtype=float)
    inner = np.interp(np.log10(np.maximum(t, edges[1])), np.log10(edges[1:]), np.arange(1, len(edges)))
    return np.where(t < edges[1], t / edges[1], np.minimum(inner, len(edges) - 1.5))


def _size_coordinate(s: np.ndarray) -> np.ndarray:
    """Bytes as a continuous size bin (bin ``k`` spans ``[k, k + 1)``; the top bin takes everything above it)."""
    return np.minimum(np.interp(s, SIZE_EDGES, np.arange(len(SIZE_EDGES))), len(SIZE_EDGES) - 1.5)


def _seconds(t: float) -> str:
    if t < 1:
        return f"{1000 * t:.0f} ms"
    if t < 120:
        return f"{t:.1f} s"
    if t < 7200:
        return f"{t / 60:.1f} min"
    return f"{t / 3600:.1f} h"
