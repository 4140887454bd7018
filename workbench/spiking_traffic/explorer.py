"""Dashboard "spike rasters, confusion matrix": pick a validation flow (a class, then one of its flows); see its
packets (size against time since the first packet), its encoding (packets per time step and input), the hidden
layer's spikes, the membranes of the most active neurons against their thresholds, and the readout over time that
names the class; beside it, the confusion matrix and per-class accuracy over every validation flow, and the hidden
size against accuracy and spikes per flow from the shipped full run (``docs/results/spiking_traffic.json``).

The inputs are the paper's size bins or, with "size + gap bins", the size bins and the gap of each packet to the
previous one (:class:`Encoding` ``gap_bins=50``); each has its shipped pre-trained network (:mod:`.pretrained`),
which drives the flow views before any Train. Train fits a network of the chosen inputs, hidden size and surrogate
off the server's event loop, streams its epochs (the flow views follow it), and then shows its validation results.
Switching the inputs loads the other network's predictions off the loop too. Without the ISCX files the page runs
on synthetic flows and says where the files go. What the page shows, as arrays, is :mod:`.page_data`."""

from __future__ import annotations

import copy
import functools

import holoviews as hv
import numpy as np
import panel as pn
import param

from kernels import SURROGATES
from workbench.spiking_traffic.encoding import encode
from workbench.spiking_traffic.experiments import evaluate
from workbench.spiking_traffic.flows import CLASSES
from workbench.spiking_traffic.network import SpikingNetwork
from workbench.spiking_traffic.page_data import (INPUTS, PAGE_TRAIN, RESULTS_JSON, SYNTHETIC_TRAIN, SYNTHETIC_VAL,
                                                 available, page_encoding, page_flows, page_index,
                                                 pretrained_predictions, score_on_page, seconds_text, shipped,
                                                 shipped_confusion, shipped_row, starting_flows, trace_flow,
                                                 training_flows)
from workbench.spiking_traffic.pretrained import info as pretrained_info
from workbench.spiking_traffic.pretrained import load_pretrained
from workbench.spiking_traffic.training import TrainSettings, train
from workbench.spiking_traffic.ui import figures
from workbench.spiking_traffic.ui.figures import HIDDEN_SIZES, N_TRACES
from workbench.ui import ExplorerBase, error_message, load_extensions
from workbench.ui.jobs import jobs, session_loop
from workbench.ui.memo import Memo
from workbench.ui.train_buttons import TrainButtons

__all__ = ["Explorer", "RESULTS_JSON", "shipped", "available", "starting_flows", "HIDDEN_SIZES", "PAGE_TRAIN",
           "SYNTHETIC_VAL", "SYNTHETIC_TRAIN", "page_predictions"]

HELP = ("Encoding: one input neuron per size bin, one simulation step per time bin (log-spaced from 1 ms to 10⁴ s "
        "after the flow's first packet); a cell's value is its packet count, fed as input current (the circles are "
        "the packets themselves, at their time and size). With **size + gap bins** a packet also counts, at its "
        "time step, in one of 50 bins of its gap to the previous packet (10 µs to 1,000 s, log-spaced: the rows "
        "above the dashed line, the diamonds), the rhythm that the size bins keep only as \"same or neighbouring "
        "step\". The hidden neurons integrate it, leak and spike at their threshold; the readout averages their "
        "spikes over time and names the class.")
#: the shipped network's class per page flow, ``(real, gaps)``: asked whether computed before it is shown (a
#: computation goes to the job pool, off the event loop)
page_predictions = Memo(pretrained_predictions, max_items=4)


class Explorer(ExplorerBase):
    """Encrypted traffic classification with a supervised spiking network (Rasteh et al., Neurocomputing 2022)."""

    flow_class = param.Selector(default=CLASSES[0], objects=list(CLASSES), label="Class",
                                doc="The class whose validation flows the slider runs over")
    flow = param.Integer(default=0, bounds=(0, 289), label="Flow number", doc="Which flow of that class")
    inputs = param.Selector(default=False, objects=INPUTS, label="Inputs",
                            doc="The network's inputs: the paper's 150 size bins, or those and 50 bins of the gap to "
                                "the previous packet (the shown encoding, the shipped network, and what Train fits)")
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
        self._flows = page_flows(self._real)
        self._index = page_index(self._real)
        self._gaps = False  # the inputs shown (``inputs`` once its page data are loaded)
        self._load_job, self._pending = None, None  # loading the chosen inputs' page data (off the loop)
        self._buttons = TrainButtons()
        self._buttons.on_click(self._on_train)
        # the user's network per inputs (gaps), and its last finished Train: {"model", "label", "run"}
        self._user: dict[bool, dict] = {}
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
        self._request_inputs()  # and the status line

    # ---------- what is shown ----------
    def _fit_bounds(self) -> None:
        """The flow slider runs over the chosen class's flows (an instance parameter: the class keeps its own)."""
        n = len(self._index[self.flow_class])
        self.param.flow.bounds = (0, max(n - 1, 0))
        if self.flow > n - 1:
            self.flow = max(n - 1, 0)

    def _shown_model(self) -> tuple[SpikingNetwork, str]:
        mine = self._user.get(self._gaps)
        if mine is not None:
            return mine["model"], mine["label"]
        i = pretrained_info(self._gaps)
        inputs = "size + gap bins" if self._gaps else "size bins"
        return load_pretrained(self._gaps), (
            f"shipped pre-trained network ({inputs}, hidden {i['hidden']}, {i['settings']['epochs']} epochs, "
            f"{100 * i['test_accuracy']:.1f} % on the ISCX validation flows)")

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
        key = (self._real, self._gaps, i, id(model))
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
        return {**trace_flow(self._flows, i, model, page_encoding(self._gaps), N_TRACES), "model": label}

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
                f"{len(cur['sizes'])} packets over {seconds_text(span)}. Shown network: {cur['model']}. It predicts "
                f"**{CLASSES[cur['predicted']]}** — ")
        text += "right." if right else f"wrong (it is {CLASSES[cur['label']]})."
        if self._pending is not None:
            text = (f"*Loading the shipped network on {'size + gap bins' if self.inputs else 'size bins'} and its "
                    "predictions on every flow …*\n\n" + text)
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

    @param.depends("inputs", watch=True)
    def _inputs_changed(self):
        self._request_inputs()

    def _request_inputs(self) -> None:
        """Show the chosen inputs: at once when their page data are at hand, else loaded in the job pool (the shipped
        network and its predictions on every flow, off the event loop); the views keep the old inputs meanwhile."""
        if self._load_job is not None:
            self._load_job.cancel()
        gaps, real, token = bool(self.inputs), self._real, object()
        self._load_job, self._pending = None, None
        if shipped_confusion(gaps) is not None or page_predictions.cached(real, gaps):
            if gaps != self._gaps:
                self._show_inputs(gaps)
            else:  # back to the shown inputs before the other ones loaded: no "Loading" left on the page
                self._describe()
            return

        def done(_result, error):
            if self._pending is not token:
                return  # superseded by a newer choice
            self._pending = None
            if error is not None:
                self._error.append(error_message(error))
                self.param.update(inputs=self._gaps)  # back to what is shown
            else:
                self._show_inputs(gaps)

        self._pending = token  # outside a server the load ends (and calls done) within the call below
        self._load_job = jobs().load(f"spiking_traffic inputs {'size + gap' if gaps else 'size'} bins",
                                     lambda _cancelled: (load_pretrained(gaps), page_predictions(real, gaps)), done)
        self._describe()

    def _show_inputs(self, gaps: bool) -> None:
        self._gaps, self._traced = gaps, None
        self._frame += 1  # every view redraws (and the status line)

    # ---------- the flow's views (the same elements whatever is shown: figures are updated in place) ----------
    def _packets(self, **_params):
        return figures.packets_figure(self._current(), self._gaps)

    def _raster(self, **_params):
        return figures.raster_figure(self._current(), self._gaps)

    def _membrane(self, **_params):
        return figures.membrane_figure(self._current(), self._gaps)

    def _readout(self, **_params):
        return figures.readout_figure(self._current(), self._gaps)

    # ---------- every validation flow ----------
    def _results(self) -> tuple[list, str]:
        """The confusion matrix shown (rows: true class) and where it comes from."""
        run = self._user.get(self._gaps, {}).get("run")
        if run is not None:
            return run["confusion"], f"your run ({run['label']})"
        conf = shipped_confusion(self._gaps)
        if conf is not None:
            row = shipped_row("snn") or {}
            seeds = len(row.get("seeds", [])) or 1
            quick = ", quick run" if shipped().get("quick") else ""
            return conf, (f"shipped run's SNN (hidden {row.get('hidden', '?')}, {seeds} seed"
                          f"{'s' if seeds > 1 else ''} summed{quick})")
        source = ("shipped pre-trained network" + (" on size + gap bins" if self._gaps else "") +
                  ("" if self._real else " on the synthetic flows"))
        if not page_predictions.cached(self._real, self._gaps) and session_loop() is not None:
            return np.zeros((len(CLASSES), len(CLASSES))).tolist(), source + " (loading …)"  # off the loop
        predicted = page_predictions(self._real, self._gaps)
        return evaluate(predicted, self._flows.labels)["confusion"], source

    def _confusion(self, **_params):
        return figures.confusion_figure(*self._results())

    def _per_class(self, **_params):
        return figures.per_class_figure(*self._results())

    # ---------- hidden size (shipped sweep, and the user's runs) ----------
    def _sweep_accuracy(self, **_params):
        return figures.sweep_accuracy_figure(self._gaps, self._runs)

    def _sweep_spikes(self, **_params):
        return figures.sweep_spikes_figure(self._gaps, self._runs)

    # ---------- training (in the server's job pool; progress comes back to the page) ----------
    def _on_train(self):
        if self._buttons.running:
            return
        self._error.clear()
        hidden, surrogate, epochs = int(self.hidden), self.surrogate, int(self.epochs)
        real, limit, gaps = self._real, self.max_train, bool(self.inputs)
        self._run_id += 1
        run_id = self._run_id
        label = f"hidden {hidden}, {surrogate}, {epochs} epoch{'s' if epochs > 1 else ''}"
        label += ", size + gap bins" if gaps else ""
        where = "ISCX training flows" if real else "synthetic training flows"

        def work(report, cancelled):
            flows = training_flows(real, limit)
            x = encode(flows, page_encoding(gaps))
            model = SpikingNetwork(x.shape[2], hidden, len(CLASSES), surrogate=surrogate, seed=0)

            def progress(record):
                report({"record": record, "model": copy.deepcopy(model).eval()})

            history = train(model, x, flows.labels, TrainSettings(epochs=epochs, seed=0), progress=progress,
                            should_stop=cancelled.is_set)
            del x
            return {"model": model, "history": history, "stopped": cancelled.is_set(), "n_train": len(flows),
                    **score_on_page(model, real, gaps)}

        def progress(item):
            if self._run_id != run_id:
                return
            r = item["record"]
            self._user[gaps] = {**self._user.get(gaps, {}), "model": item["model"],
                                "label": f"your run ({label}), during training: epoch {r['epoch']}"}
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
            best = max(h["valid_accuracy"] for h in result["history"])
            self._user[gaps] = {"model": result["model"], "label": f"your run ({label}, the best held-out epoch)",
                                "run": {"label": label, "confusion": result["confusion"]}}
            self._runs.append({"hidden": hidden, "surrogate": surrogate, "epochs": epochs, "gaps": gaps,
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
        note = pn.pane.Markdown(f"Train fits {size} training flows ({len(self._flows):,} are shown) on the chosen "
                                "inputs; the shipped run trains on all of them, longer.",
                                styles={"font-size": "0.85em"})
        inputs = pn.Param(self.param, parameters=["inputs"], show_name=False, sizing_mode="stretch_width")
        return pn.Column("### Which flow", flow, "### Encoding", inputs, "### Train", setting, self._buttons.row(),
                         note, sizing_mode="stretch_width")

    def main_view(self):
        p = self._panes
        # the hidden layer's three views share a place: one figure fewer at load keeps the warm load under 1.5 s
        one = pn.Column(
            "### One flow through the network", p["packets"],
            pn.Tabs(("Spike raster", p["raster"]), ("Readout over time", p["readout"]), ("Membranes", p["membrane"]),
                    dynamic=True))
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
