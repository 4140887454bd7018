"""Dashboard "tune sparsity ratios": pick a model, a pruning method and a target sparsity; see accuracy against
sparsity for every method, the per-layer sparsity, the schedule over training, the mask of a layer and what each
storage format costs at inference. Curves come from the shipped full run (``docs/results/pruning.json``); Train
prunes the chosen setting live, off the server's event loop."""

from __future__ import annotations

import functools
import json

import holoviews as hv
import numpy as np
import panel as pn
import param

from workbench.pruning.experiments import FULL, METHOD_NAMES, VARIANTS, fit_setting, pretrained_state
from workbench.pruning.masks import layer_sparsity, model_sparsity, prunable_layers
from workbench.pruning.models import MODELS
from workbench.results_pages import DOCS
from workbench.ui import ExplorerBase, app_progress, error_message, load_extensions
from workbench.ui.train_buttons import TrainButtons
from workbench.ui.memo import memo

__all__ = ["Explorer", "RESULTS_JSON", "shipped_results", "default_fit"]

RESULTS_JSON = DOCS / "results" / "pruning.json"  # what the full run wrote for the results page
TARGETS = [0.5, 0.8, 0.9, 0.95]
METHODS = [m for m in VARIANTS if m != "dense"]
LIVE_MODELS = ("mlp", "cnn")  # the ResNet trains for hours on a CPU: its page shows the shipped run only
MAX_PIXELS = 128  # a mask is drawn as at most 128 x 128 cells (the share of weights kept in each)
COLORS = dict(zip(METHODS, ["#1f77b4", "#aec7e8", "#2f6f4f", "#9467bd", "#ff7f0e", "#e377c2", "#d62728",
                            "#8c564b", "#17becf", "#bcbd22"]))


@functools.lru_cache(maxsize=1)
def shipped_results() -> dict:
    """The shipped full run's JSON (``{"results": [], "latency": []}`` when the checkout has none)."""
    if RESULTS_JSON.is_file():
        return json.loads(RESULTS_JSON.read_text())
    return {"results": [], "latency": []}


@functools.lru_cache(maxsize=4)
def layer_names(model: str) -> list[str]:
    return list(prunable_layers(MODELS[model].build(0)))


def _summary(net, pruner) -> dict:
    """What the page shows of a fitted setting: masks (numpy bool), layer sparsity, history, schedule."""
    return {"masks": {k: v.numpy() for k, v in pruner.masks_.items()}, "layer_sparsity": layer_sparsity(net),
            "history": pruner.history_, "schedule": pruner.schedule_, "sparsity": model_sparsity(net),
            "test_accuracy": pruner.history_[-1]["test_accuracy"]}


@memo(max_items=4)
def default_fit(model: str = "mlp", method: str = "gradual_magnitude", target: float = 0.9, seed: int = 0) -> dict:
    """The default page's setting pruned once (the app's warm-up computes it: about a second for the MLP)."""
    net, pruner, _ = fit_setting(model, method, target, seed, finetune_epochs(model))
    return _summary(net, pruner)


def finetune_epochs(model: str) -> int:
    return next(r.finetune_epochs for r in FULL.runs if r.model == model)


def _mask_cells(mask: np.ndarray) -> np.ndarray:
    """``(out, in...)`` bool -> at most ``MAX_PIXELS``² cells, each the share of its weights kept."""
    m = mask.reshape(mask.shape[0], -1).astype(float)
    rows, cols = (max(1, -(-n // MAX_PIXELS)) for n in m.shape)
    h, w = -(-m.shape[0] // rows), -(-m.shape[1] // cols)
    padded = np.full((h * rows, w * cols), np.nan)
    padded[:m.shape[0], :m.shape[1]] = m
    return np.nanmean(padded.reshape(h, rows, w, cols), axis=(1, 3))


class Explorer(ExplorerBase):
    """Pruning methods side by side (Hoefler et al., JMLR 2021)."""

    model = param.Selector(default="mlp", objects=list(MODELS), doc="Model: digits MLP, MNIST CNN or MNIST ResNet")
    method = param.Selector(default="gradual_magnitude", objects={METHOD_NAMES[m]: m for m in METHODS},
                            doc="Pruning method")
    target = param.Selector(default=0.9, objects=TARGETS, doc="Target sparsity (fraction of weights removed)")
    layer = param.Selector(default=None, objects=[], doc="Layer whose mask is drawn")
    seed = param.Integer(default=0, bounds=(0, 10_000), doc="Seed of Train")
    _version = param.Integer(default=0, precedence=-1)

    def __init__(self, **params):
        load_extensions()
        super().__init__(**params)
        self._live: dict[tuple, dict] = {}
        self._buttons = TrainButtons()
        self._buttons.on_click(self._on_train)
        self._status = pn.pane.Markdown("")
        self._progress = app_progress()
        self._error = pn.Column()
        self._model_changed()
        if self.model == "mlp" and (self.method, self.target, self.seed) == ("gradual_magnitude", 0.9, 0):
            try:
                self._live[self._key()] = default_fit()
            except Exception as exc:  # noqa: BLE001 - shown, not raised
                self._error.append(error_message(exc))
        self._refresh_status()
        stream = hv.streams.Params(self, ["model", "method", "target", "layer", "_version"])
        self._accuracy_pane = pn.pane.HoloViews(hv.DynamicMap(self._accuracy_plot, streams=[stream]))
        self._layers_pane = pn.pane.HoloViews(hv.DynamicMap(self._layer_bars, streams=[stream]))
        self._schedule_pane = pn.pane.HoloViews(hv.DynamicMap(self._schedule_plot, streams=[stream]))
        self._mask_pane = pn.pane.HoloViews(hv.DynamicMap(self._mask_image, streams=[stream]))
        self._latency_pane = pn.pane.HoloViews(self._latency_plot())

    # ---------- state ----------
    def _key(self) -> tuple:
        return (self.model, self.method, float(self.target), self.seed)

    def _shipped(self, model=None, method=None, target=None) -> dict | None:
        model, method = model or self.model, method or self.method
        target = float(self.target if target is None else target)
        return next((r for r in shipped_results()["results"] if r["model"] == model and r["method"] == method
                     and abs(r["target"] - target) < 1e-9), None)

    def _shown(self) -> tuple[str, dict | None]:
        """``(where from, row)``: the live result of this setting if trained here, else the shipped run's."""
        live = self._live.get(self._key())
        if live is not None:
            return "trained here", live
        return "shipped full run", self._shipped()

    @param.depends("model", watch=True)
    def _model_changed(self):
        names = layer_names(self.model)
        self.param.layer.objects = names
        if self.layer not in names:
            self.layer = names[1] if len(names) > 2 else names[0]
        self._buttons.train.disabled = self.model not in LIVE_MODELS or self._buttons.running

    @param.depends("model", "method", "target", "seed", watch=True)
    def _refresh_status(self):
        where, row = self._shown()
        if row is None:
            self._status.object = (f"No result for **{METHOD_NAMES[self.method]}** at {100 * self.target:g} % on "
                                   f"the {self.model} yet: press **Train**" +
                                   ("." if self.model in LIVE_MODELS else " (not offered for the ResNet on a page)."))
            return
        seeds = row.get("seeds")
        acc = f"{100 * row['test_accuracy']:.2f} %" + (f" (mean of {len(seeds)} seeds)" if seeds else "")
        self._status.object = (f"**{METHOD_NAMES[self.method]}** on the {self.model}: test accuracy {acc} at "
                               f"{100 * row['sparsity']:.1f} % sparsity ({where}).")

    # ---------- views ----------
    def _accuracy_plot(self, **_params):
        rows = [r for r in shipped_results()["results"] if r["model"] == self.model]
        curves = []
        for method in METHODS:
            pts = sorted((100 * r["sparsity"], 100 * r["test_accuracy"]) for r in rows if r["method"] == method)
            if pts:
                chosen = method == self.method
                curves.append(hv.Curve(pts, "sparsity (%)", "test accuracy (%)", label=METHOD_NAMES[method]).opts(
                    color=COLORS[method], line_width=4 if chosen else 1.5, alpha=1 if chosen else 0.6, tools=["hover"]))
        dense = self._shipped(method="dense", target=0.0)
        if dense is not None:
            curves.append(hv.HLine(100 * dense["test_accuracy"]).opts(color="black", line_dash="dashed"))
        live = [(100 * v["sparsity"], 100 * v["test_accuracy"]) for k, v in self._live.items()
                if k[0] == self.model and k[1] == self.method]
        curves.append(hv.Scatter(live, "sparsity (%)", "test accuracy (%)", label="trained here").opts(
            color="black", marker="star", size=14))
        return hv.Overlay(curves).opts(width=880, height=380, legend_position="right", title="accuracy vs sparsity",
                                       xlim=(45, 100), framewise=True)

    def _layer_bars(self, **_params):
        _, row = self._shown()
        values = row["layer_sparsity"] if row else {name: 0.0 for name in layer_names(self.model)}
        bars = [(f"{name}", 100 * v) for name, v in values.items()]
        return hv.Bars(bars, "layer", "sparsity (%)").opts(width=420, height=300, color="#2f6f4f", ylim=(0, 100),
                                                           title="sparsity per layer", tools=["hover"], framewise=True)

    def _schedule_plot(self, **_params):
        _, row = self._shown()
        schedule = (row or {}).get("schedule") or []
        target = hv.Curve([(r["step"], 100 * r["target"]) for r in schedule], "step", "sparsity (%)",
                          label="target").opts(color="grey", line_dash="dashed")
        measured = hv.Curve([(r["step"], 100 * r["sparsity"]) for r in schedule], "step", "sparsity (%)",
                            label="measured").opts(color="#d62728")
        return (target * measured).opts(width=420, height=300, title="schedule over training", ylim=(0, 100),
                                        legend_position="bottom_right", framewise=True)

    def _mask_image(self, **_params):
        live = self._live.get(self._key())
        opts = dict(cmap="Greens", clim=(0, 1), colorbar=True, width=420, height=320, xlabel="inputs",
                    ylabel="outputs", invert_yaxis=True, framewise=True, tools=["hover"])
        if live is None or self.layer not in live["masks"]:
            return hv.Image(np.zeros((1, 1))).opts(title="mask: press Train for this setting's masks", **opts)
        cells = _mask_cells(live["masks"][self.layer])
        h, w = cells.shape
        return hv.Image(cells[::-1], bounds=(0, 0, w, h), vdims="kept").opts(
            title=f"mask of layer {self.layer} (share kept per cell)", **opts)

    def _latency_plot(self):
        rows = shipped_results().get("latency", [])
        bars = [(f"{r['model']}: {r['format']}", r["ms_per_batch"]) for r in rows]
        return hv.Bars(bars, "format", "ms per batch").opts(width=620, height=260, color="#8c564b", invert_axes=True,
                                                            title="inference on the run's CPU (shipped run)",
                                                            tools=["hover"])

    def latency_text(self):
        rows = shipped_results().get("latency", [])
        lines = ["| model | format | sparsity | ms per batch | bytes |", "|---|---|---|---|---|"]
        lines += [f"| {r['model']} | {r['format']} | {100 * r['sparsity']:.1f} % | {r['ms_per_batch']:.3f} | "
                  f"{r['bytes']:,} |" for r in rows]
        return pn.pane.Markdown("\n".join(lines) if rows else "*No latency figures shipped yet.*")

    # ---------- training (in the server's job pool) ----------
    def _on_train(self):
        if self._buttons.running:
            return
        if self.model not in LIVE_MODELS:
            self._status.object = "The ResNet trains for hours on a CPU: its figures come from the shipped full run."
            return
        self._error.clear()
        key = self._key()
        model, method, target, seed = key
        finetune = finetune_epochs(model)

        def work(report, cancelled):
            if method != "rigl":
                report(("status", f"Training the dense {model} first (kept for later runs) …"))
                pretrained_state(model, seed)
            report(("status", f"Pruning with {METHOD_NAMES[method]} to {100 * target:g} % …"))
            epochs = MODELS[model].epochs + finetune if method == "rigl" else finetune

            def on_epoch(record):
                report(("epoch", {**record, "epochs": epochs}))

            net, pruner, _ = fit_setting(model, method, target, seed, finetune, on_epoch=on_epoch,
                                         should_stop=cancelled.is_set)
            return _summary(net, pruner)

        def progress(item):
            kind, value = item
            if kind == "status":
                self._status.object = value
            else:
                self._progress.param.update(max=value["epochs"], value=value["epoch"],
                                            text=f"epoch {value['epoch']}/{value['epochs']}")
                self._status.object = (f"epoch {value['epoch']}: sparsity {100 * value['sparsity']:.1f} %, test "
                                       f"accuracy {100 * value['test_accuracy']:.2f} %")

        def done(result, error):
            if error is not None:
                self._error.append(error_message(error))
                return
            self._live[key] = result
            self._refresh_status()
            self._status.object += " Training finished."
            self._version += 1

        refused = self._buttons.start(f"pruning {key}", work, on_progress=progress, on_done=done)
        if refused:
            self._status.object = refused

    # ---------- layout ----------
    def controls(self):
        w = pn.Param(self.param, parameters=["model", "method", "target", "layer", "seed"],
                     widgets={"target": pn.widgets.RadioButtonGroup}, show_name=False, sizing_mode="stretch_width")
        return pn.Column("### Setting", w, self._buttons.row(), sizing_mode="stretch_width")

    def main_view(self):
        # the fit's four views share a place: two figures at load instead of five keep the warm load under 1.5 s
        views = pn.Tabs(("Sparsity per layer", self._layers_pane), ("Schedule", self._schedule_pane),
                        ("The mask", self._mask_pane),
                        ("What sparsity buys at inference", pn.Column(self._latency_pane, self.latency_text(),
                                                                      sizing_mode="stretch_width")),
                        dynamic=True, sizing_mode="stretch_width")
        return pn.Column(
            self._status, self._progress, self._error,
            "## Accuracy against sparsity, every method", self._accuracy_pane,
            "## The fit shown", views,
            sizing_mode="stretch_width")

