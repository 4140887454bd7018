"""Dashboard "weights as sparse quantized factors": pick a model, a layer, a method and a bit budget; see the weight
``W``, its reconstruction ``Ŵ`` and the error as images, the factors ``Z`` (its sparsity pattern) and ``C``, the
layer's size/error frontier of every method, and accuracy against model size with the ``pruning`` topic's methods
on the same axes. Frontier and accuracy curves come from the shipped full run (``docs/results/compression.json``,
``docs/results/pruning.json``); Compress fits the chosen layer live, off the server's event loop."""

from __future__ import annotations

import functools
import json

import holoviews as hv
import numpy as np
import panel as pn
import param

from workbench.compression.budget import METHODS, compress_at_budget
from workbench.compression.experiments import FULL, METHOD_COLORS, METHOD_NAMES, dense_state
from workbench.compression.frontier import RECIPES, compressible_layers
from workbench.compression.shapes import weight_matrix
from workbench.compression.sizes import PRUNING_SHOWN, compression_points, layer_shapes, pruning_points
from workbench.results_pages import DOCS
from workbench.ui import ExplorerBase, error_message, load_extensions
from workbench.ui.jobs import Busy, jobs
from workbench.ui.memo import memo

__all__ = ["Explorer", "RESULTS_JSON", "PRUNING_JSON", "shipped_results", "layer_fit", "PAGE_SEARCH", "DEFAULT"]

RESULTS_JSON = DOCS / "results" / "compression.json"
PRUNING_JSON = DOCS / "results" / "pruning.json"
BUDGETS = list(FULL.budgets)
PAGE_SEARCH = {"per_family": 1, "steps": 30}  # a page's fit: the quick run's search, a little longer descent
DEFAULT = ("mlp", "2", "sqf", 2.0)  # the page's first setting, fitted by the warm-up
MAX_CELLS = 256  # images show at most 256 x 256 entries (the top-left corner of a larger matrix)
PRUNING_NAMES = {"dense": "dense (fp32)", "oneshot_global": "pruning: one-shot magnitude",
                 "gradual_magnitude": "pruning: gradual magnitude", "nm": "pruning: N:M"}
PRUNING_COLORS = dict(zip(PRUNING_SHOWN, ["black", "#8c564b", "#bcbd22", "#17becf"]))


def _read(path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {"results": []}


@functools.lru_cache(maxsize=1)
def shipped_results() -> dict:
    """The shipped full runs: ``{"compression": [...rows], "pruning": [...rows]}`` (empty lists when absent)."""
    return {"compression": _read(RESULTS_JSON)["results"], "pruning": _read(PRUNING_JSON)["results"]}


@functools.lru_cache(maxsize=2)
def shapes_of(model: str) -> dict[str, tuple[int, int]]:
    return layer_shapes(RECIPES[model][0](0))


def _crop(a: np.ndarray) -> np.ndarray:
    return a[:MAX_CELLS, :MAX_CELLS]


@memo(max_items=24)
def layer_fit(model: str, layer: str, method: str, budget: float) -> dict:
    """``method``'s best configuration at ``budget`` on ``layer`` of the trained ``model`` (seed 0; the page's
    search, :data:`PAGE_SEARCH`), as numpy arrays for the views: ``W`` and ``W_hat`` (as matrices), ``Z`` and ``C``
    (``None`` for methods without factors), ``relative_error``, ``bits_per_weight``, ``storage``, ``config``;
    ``None`` fields when nothing of the method fits the budget."""
    state, _ = dense_state(model, 0)
    net = RECIPES[model][0](0)
    net.load_state_dict(state)
    W = compressible_layers(net)[layer].weight.detach()
    est = compress_at_budget(W, method, budget, **PAGE_SEARCH)
    M = weight_matrix(W).numpy()
    if est is None:
        return {"W": M, "W_hat": None, "Z": None, "C": None, "relative_error": None, "bits_per_weight": None,
                "storage": None, "config": None}
    factors = getattr(est, "factors_", None)
    return {"W": M, "W_hat": weight_matrix(est.reconstruct().detach()).numpy(),
            "Z": None if factors is None else factors[0].numpy(), "C": None if factors is None else factors[1].numpy(),
            "relative_error": est.relative_error_, "bits_per_weight": est.storage_.bits_per_weight,
            "storage": est.storage_.as_dict(), "config": repr(est)}


class Explorer(ExplorerBase):
    """SQF against its special cases at equal bits (Kuzmin, van Baalen, Nagel, Behboodi 2022)."""

    model = param.Selector(default="mlp", objects=list(RECIPES), doc="Model: the digits MLP or the MNIST CNN")
    layer = param.Selector(default="2", objects=[], doc="Layer (Linear or Conv2d) to compress")
    method = param.Selector(default="sqf", objects={METHOD_NAMES[m]: m for m in METHODS}, doc="Method")
    budget = param.Selector(default=2.0, objects=BUDGETS, doc="Budget (bits per weight, everything counted)")
    _version = param.Integer(default=0, precedence=-1)

    def __init__(self, **params):
        load_extensions()
        super().__init__(**params)
        self._job = None
        self._status = pn.pane.Markdown("")
        self._error = pn.Column()
        self._compress_button = pn.widgets.Button(label="Compress", color="primary")
        self._compress_button.on_click(self._on_compress)
        self._model_changed()
        if self._key() == DEFAULT:  # computed by the warm-up
            try:
                layer_fit(*self._key())
            except Exception as exc:  # noqa: BLE001 - shown, not raised
                self._error.append(error_message(exc))
        self._refresh_status()
        stream = hv.streams.Params(self, ["model", "layer", "method", "budget", "_version"])
        self._images_pane = pn.pane.HoloViews(hv.DynamicMap(self._images, streams=[stream]))
        self._factors_pane = pn.pane.HoloViews(hv.DynamicMap(self._factors, streams=[stream]))
        self._frontier_pane = pn.pane.HoloViews(hv.DynamicMap(self._frontier, streams=[stream]))
        self._size_pane = pn.pane.HoloViews(hv.DynamicMap(self._size_accuracy, streams=[stream]))

    # ---------- state ----------
    def _key(self) -> tuple:
        return (self.model, self.layer, self.method, float(self.budget))

    def _fitted(self) -> dict | None:
        key = self._key()
        return layer_fit(*key) if layer_fit.cached(*key) else None

    @param.depends("model", watch=True)
    def _model_changed(self):
        names = list(shapes_of(self.model))
        self.param.layer.objects = names
        if self.layer not in names:
            self.layer = names[1]

    @param.depends("model", "layer", "method", "budget", watch=True)
    def _refresh_status(self):
        fit = self._fitted()
        name = METHOD_NAMES[self.method]
        if fit is None:
            self._status.object = (f"**{name}** at {self.budget:g} bits per weight on layer {self.layer} of the "
                                   f"{self.model}: press **Compress** to fit it here.")
        elif fit["relative_error"] is None:
            self._status.object = (f"**{name}** has no configuration within {self.budget:g} bits per weight on layer "
                                   f"{self.layer} (its scales or codebook alone exceed it).")
        else:
            self._status.object = (f"**{name}** on layer {self.layer} of the {self.model}: relative error "
                                   f"‖W − Ŵ‖/‖W‖ = {fit['relative_error']:.4f} at {fit['bits_per_weight']:.3f} bits "
                                   f"per weight (budget {self.budget:g}): `{fit['config']}`.")

    # ---------- views ----------
    def _image(self, a, title, clim, cmap="RdBu_r", xlabel="inputs", ylabel="outputs"):
        opts = dict(cmap=cmap, clim=clim, colorbar=True, width=330, height=300, xlabel=xlabel, ylabel=ylabel,
                    invert_yaxis=True, framewise=True, tools=["hover"], title=title)
        if a is None:
            return hv.Image(np.zeros((1, 1))).opts(**opts)
        shown = _crop(a)
        h, w = shown.shape
        crop = "" if shown.shape == a.shape else f" ({h} x {w} of {a.shape[0]} x {a.shape[1]})"
        return hv.Image(shown[::-1], bounds=(0, 0, w, h), vdims="value").opts(**{**opts, "title": title + crop})

    def _images(self, **_params):
        fit = self._fitted()
        if fit is None:
            empty = self._image(None, "press Compress", (-1, 1))
            return (empty + empty.opts(title="") + empty.opts(title="")).opts(shared_axes=False)
        top = float(np.abs(fit["W"]).max()) or 1.0
        err = None if fit["W_hat"] is None else fit["W"] - fit["W_hat"]
        return (self._image(fit["W"], "W", (-top, top))
                + self._image(fit["W_hat"], "Ŵ", (-top, top))
                + self._image(err, "W − Ŵ (same colour scale)", (-top, top))).opts(shared_axes=False)

    def _factors(self, **_params):
        fit = self._fitted()
        if fit is None or fit["Z"] is None:
            reason = "press Compress" if fit is None else "this method stores W itself: no factors"
            empty = self._image(None, reason, (-1, 1))
            return (empty + self._image(None, "", (-1, 1))).opts(shared_axes=False)
        Z, C = fit["Z"], fit["C"]
        nonzero = (Z != 0).sum(1)
        ztop, ctop = float(np.abs(Z).max()) or 1.0, float(np.abs(C).max()) or 1.0
        per_row = f"{nonzero.max()}" if nonzero.min() == nonzero.max() else f"{nonzero.min()}–{nonzero.max()}"
        z_title = f"Z ({Z.shape[0]} x {Z.shape[1]}): {per_row} per row"
        return (self._image(Z, z_title, (-ztop, ztop), xlabel="atom", ylabel="row of W (or sub-vector)")
                + self._image(C, f"C: {C.shape[0]} x {C.shape[1]}", (-ctop, ctop), xlabel="input",
                              ylabel="atom")).opts(shared_axes=False)

    def _frontier(self, **_params):
        rows = [r for r in shipped_results()["compression"] if r["model"] == self.model and r["layer"] == self.layer]
        curves, points = [], []
        for method in METHODS:
            pts = sorted((r["bits_per_weight"], r["relative_error"]) for r in rows
                         if r["method"] == method and r["relative_error"] is not None)
            if pts:
                chosen = method == self.method
                curves.append(hv.Curve(pts, "bits per weight", "relative error", label=METHOD_NAMES[method]).opts(
                    color=METHOD_COLORS[method], line_width=4 if chosen else 1.5, alpha=1 if chosen else 0.6))
                points += [(b, e, METHOD_NAMES[method], METHOD_COLORS[method]) for b, e in pts]
        if points:  # every method's fits in one element (one renderer, one hover tool: the page loads faster)
            curves.append(hv.Points(points, ["bits per weight", "relative error"], ["method", "colour"]).opts(
                color="colour", size=6, tools=["hover"],
                hover_tooltips=[("method", "@method"), ("bits per weight", "@{bits per weight}{0.00}"),
                                ("relative error", "@{relative error}{0.000}")]))
        fit = self._fitted()
        if fit is not None and fit["relative_error"] is not None:
            curves.append(hv.Scatter([(fit["bits_per_weight"], fit["relative_error"])], "bits per weight",
                                     "relative error", label="fitted here").opts(color="black", marker="star",
                                                                                 size=14))
        curves.append(hv.VLine(float(self.budget)).opts(color="grey", line_dash="dotted"))
        title = "size/error frontier of this layer (shipped run)" if rows else \
            "size/error frontier: no shipped run in this checkout"
        return hv.Overlay(curves).opts(width=880, height=360, legend_position="right", title=title, framewise=True,
                                       padding=0.05, ylim=(0, None))

    def _size_accuracy(self, **_params):
        shipped = shipped_results()
        comp = compression_points(shipped["compression"], self.model)
        pruned = pruning_points(shipped["pruning"], self.model, shapes_of(self.model))
        curves = []
        for method in METHODS:
            pts = [(p["size_bits"] / 8192, 100 * p["test_accuracy"]) for p in comp if p["method"] == method]
            if pts:
                chosen = method == self.method
                curves.append(hv.Curve(pts, "weights (KiB, log)", "test accuracy (%)", label=METHOD_NAMES[method])
                              .opts(color=METHOD_COLORS[method], line_width=4 if chosen else 1.5, tools=["hover"]))
        for method in PRUNING_SHOWN:
            pts = [(p["size_bits"] / 8192, 100 * p["test_accuracy"]) for p in pruned if p["method"] == method]
            if pts:
                style = dict(color=PRUNING_COLORS[method], tools=["hover"])
                element = (hv.Scatter(pts, "weights (KiB, log)", "test accuracy (%)", label=PRUNING_NAMES[method])
                           .opts(marker="star", size=14, **style) if method == "dense" else
                           hv.Curve(pts, "weights (KiB, log)", "test accuracy (%)", label=PRUNING_NAMES[method])
                           .opts(line_dash="dashed", line_width=2, **style))
                curves.append(element)
        title = ("accuracy against the size of the weights: compression (solid) and pruning (dashed, fp32 values)"
                 if curves else "accuracy against size: no shipped runs in this checkout")
        if not curves:
            curves.append(hv.Curve([], "weights (KiB, log)", "test accuracy (%)"))
        return hv.Overlay(curves).opts(width=880, height=400, logx=True, legend_position="right", title=title,
                                       framewise=True, padding=0.05)

    # ---------- compressing (in the server's job pool) ----------
    def _on_compress(self, _event=None):
        if self._job is not None and not self._job.done:
            return
        self._error.clear()
        key = self._key()
        model, layer, method, budget = key

        def work(report, cancelled):
            report(f"Preparing the trained {model} (the CNN trains about a minute the first time) …")
            dense_state(model, 0)
            if cancelled.is_set():
                return None
            report(f"Compressing layer {layer} with {METHOD_NAMES[method]} at {budget:g} bits per weight (a search "
                   "over its configurations: seconds to a minute) …")
            return layer_fit(*key)

        def progress(text):
            self._status.object = text

        def done(result, error):
            self._job = None
            self._compress_button.disabled = False
            if error is not None:
                self._error.append(error_message(error))
                return
            self._refresh_status()
            if result is not None:
                self._status.object += " Compressed."
            self._version += 1

        self._compress_button.disabled = True
        try:
            self._job = jobs().submit(f"compression {key}", work, on_progress=progress, on_done=done)
        except Busy as exc:
            self._compress_button.disabled = False
            self._status.object = str(exc)

    # ---------- layout ----------
    def controls(self):
        w = pn.Param(self.param, parameters=["model", "layer", "method"], show_name=False,
                     sizing_mode="stretch_width")
        budget = pn.widgets.RadioButtonGroup.from_param(self.param.budget, name="Budget")
        return pn.Column("### Setting", w, "Budget (bits per weight)", budget, self._compress_button,
                         sizing_mode="stretch_width")

    def main_view(self):
        # the shipped run's two views share a place: one drawn at a time keeps the page's load under 1.5 s
        shipped = pn.Tabs(("Size against error on this layer, every method", self._frontier_pane),
                          ("Accuracy against model size, across the sparsity topics", self._size_pane),
                          dynamic=True, sizing_mode="stretch_width")
        # and so do the layer's two views (four figures at load instead of six)
        layer = pn.Tabs(("The weight, its reconstruction and the error", self._images_pane),
                        ("The factors: Z's sparsity pattern and the dictionary C", self._factors_pane),
                        dynamic=True, sizing_mode="stretch_width")
        return pn.Column(
            self._status, self._error,
            "## This layer, compressed", layer,
            "## Every method, from the shipped full run", shipped,
            sizing_mode="stretch_width")
