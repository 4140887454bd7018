"""Dashboard for N:M sparsity: tune N:M per tensor kind and the mask method, look at the mask on real
tensors, the per-block variance against the exact formula, the bias of MSE vs MVUE, and training
curves that stream while a sparse network trains."""

from __future__ import annotations

import functools
import threading

import holoviews as hv
import numpy as np
import panel as pn
import param
import torch

from workbench.nm_sparsity.sparsify import parse_pattern, sparsify
from workbench.nm_sparsity.statistics import MaskDraws, MaskStatistics, prune
from workbench.nm_sparsity.tensors import BLOCK_DIM, TENSOR_KINDS, layer_names, real_tensors
from workbench.nm_sparsity.training import digits_data, iter_train, make_mlp
from workbench.ui import ExplorerBase, app_progress, csv_download, error_message, load_extensions, public_text
from workbench.ui.jobs import jobs
from workbench.ui.train_buttons import TrainButtons
from workbench.ui.memo import memo

__all__ = ["Explorer", "NM_PATTERNS", "parse_pattern"]

NM_PATTERNS = ["dense", "1:2", "2:4", "1:4", "2:8", "4:8"]
MAX_SHOWN = 64  # rows/cols of a tensor drawn as a heat map


@pn.cache(max_items=16)
def _draws(layer: str, kind: str, pattern: str, method: str) -> MaskDraws:
    """Extendable Monte-Carlo draws per setting: moving the samples slider costs only the new draws."""
    n, m = parse_pattern(pattern)
    return MaskDraws(real_tensors()[layer][kind], n, m, method, dim=BLOCK_DIM[kind], seed=0)


@memo(max_items=32)  # settings whose statistics are kept, server-wide (each a few tensors of one layer)
def _statistics(layer: str, kind: str, pattern: str, method: str, samples: int,
                cancelled: threading.Event | None = None) -> MaskStatistics | None:
    """The statistics of ``samples`` draws (up to 2,000: seconds), made a checkpoint at a time so that a request
    superseded by a newer setting (``cancelled``) stops early and returns None."""
    draws = _draws(layer, kind, pattern, method)
    for k in range(draws.checkpoint, samples, draws.checkpoint):
        if cancelled is not None and cancelled.is_set():
            return None
        draws.statistics(k)
    return draws.statistics(samples)


def default_statistics() -> None:
    """The default page's statistics (the app's warm-up computes them before the first visitor)."""
    e = Explorer.param
    layer = layer_names()[1]
    for method in ("mse", "mvue"):
        _statistics(layer, e.tensor.default, e.gradients.default, method, e.samples.default)


_EMPTY_IMAGE = np.zeros((1, 1))


class _Pending(Exception):
    """The statistics of the current setting are being computed (the text says so, as information)."""


class _NoMask(ValueError):
    """A setting with no mask to show: the tensor kind left dense (a valid setting, the activations' default), or
    the approximate sampler with a pattern other than 2:4. The text says how to get one, as information."""


MASK_PARAMS = ["layer", "tensor", "weights", "activations", "gradients", "method"]
#: a request for statistics answered within this many ms never shows "Drawing …": the browser gets one message
#: (the new figures and texts) instead of two, and each text message costs it a layout of the page (~0.2 s)
PENDING_DELAY_MS = 250


class Explorer(ExplorerBase):
    """N:M sparsity explorer (Chmiel et al., ICLR 2023)."""

    layer = param.Selector(default=None, objects=[], doc="Linear layer of the digits MLP whose tensors are shown")
    tensor = param.Selector(default="gradient", objects=list(TENSOR_KINDS), doc="Tensor kind to look at")
    weights = param.Selector(default="2:4", objects=NM_PATTERNS, doc="N:M pattern of the weights (MSE mask)")
    activations = param.Selector(default="dense", objects=NM_PATTERNS, doc="N:M pattern of the activations (MSE mask)")
    gradients = param.Selector(default="2:4", objects=NM_PATTERNS, doc="N:M pattern of the neural gradients")
    method = param.Selector(default="mvue", objects=["mvue", "mse", "approx"],
                            doc="Mask shown, and used for the gradients in training: MVUE (unbiased), "
                                "MSE (largest magnitudes) or the approximate 2:4 sampler")
    samples = param.Integer(default=200, bounds=(10, 2000), step=10, doc="Monte-Carlo draws for bias and variance")
    epochs = param.Integer(default=15, bounds=(1, 60), doc="Training epochs")
    seed = param.Integer(default=0, bounds=(0, 10_000), doc="Training seed")
    _mask_version = param.Integer(default=0, precedence=-1)  # bumped when the figures must be drawn again
    _stats_version = param.Integer(default=0, precedence=-1)

    def __init__(self, **params):
        load_extensions()
        super().__init__(**params)
        names = layer_names()
        self.param.layer.objects = names
        if self.layer is None:
            self.layer = names[1]
        self._buttons = TrainButtons()  # the running training (workbench.ui.jobs), if any
        self._buttons.on_click(self._on_train)
        self._runs: dict[str, list[dict]] = {}
        self._status = pn.pane.Markdown("Press **Train** to train the MLP with the chosen N:M settings.")
        self._curves = pn.pane.HoloViews(self._curve_plot(), sizing_mode="stretch_width", min_height=300)
        self._progress = app_progress()
        self._error = pn.Column()
        self._masked_key = None
        self._stats: tuple | None = None  # (key, {method: MaskStatistics}) shown by the figures
        self._stats_job = self._stats_token = self._stats_error = None
        self._shown_mask = (self.layer, self.tensor, self._pattern(), self.method)
        self._build_views()

    # ---------- controls ----------
    def controls(self):
        w = pn.Param(
            self.param,
            parameters=["layer", "tensor", "weights", "activations", "gradients", "method", "samples"],
            widgets={
                "samples": {"type": pn.widgets.IntSlider, "throttled": True},
                "tensor": pn.widgets.RadioButtonGroup,
                "method": pn.widgets.RadioButtonGroup,
            },
            show_name=False, sizing_mode="stretch_width",
        )
        t = pn.Param(self.param, parameters=["epochs", "seed"], show_name=False, sizing_mode="stretch_width",
                     widgets={"epochs": {"type": pn.widgets.IntSlider, "throttled": True}})
        return pn.Column("### Masks", w, "### Training", t, self._buttons.row(),
                         sizing_mode="stretch_width")

    # ---------- mask views ----------
    # Each view is a persistent pane: a figure fed by a DynamicMap, which sends only new data to the page (the figure
    # stays), and a text above it. One watcher (_refresh) updates them all under one hold, so a slider step reaches
    # the page as one message. Rebuilding the panes instead cost about a second per step (new Bokeh models on the
    # server and in the browser), and one message per view a layout of the page each.
    def _pattern(self) -> str:
        return getattr(self, {"weight": "weights", "activation": "activations", "gradient": "gradients"}[self.tensor])

    def _nm(self):
        pattern = self._pattern()
        menu = f"*{self.tensor.capitalize()}s*"
        if pattern == "dense":
            raise _NoMask(f"The {self.tensor}s are left dense: choose an N:M pattern for them (the {menu} menu) to "
                          "see their mask, its variance and its bias.")
        if self.method == "approx" and pattern != "2:4":
            raise _NoMask(f"The approximate sampler draws 2:4 masks only, and the {self.tensor}s are {pattern}: "
                          f"choose 2:4 in the {menu} menu, or the MVUE or MSE method.")
        return parse_pattern(pattern)

    def _masked(self):
        """``(x, pruned, n, m, dim)`` for the current settings, computed once per setting."""
        key = (self.layer, self.tensor, self._pattern(), self.method)
        if self._masked_key != key:
            n, m = self._nm()
            x = real_tensors()[self.layer][self.tensor]
            dim = BLOCK_DIM[self.tensor]
            pruned = prune(x, n, m, self.method, dim=dim, generator=torch.Generator().manual_seed(0))
            self._masked_key, self._masked_value = key, (x, pruned, n, m, dim)
        return self._masked_value

    # The Monte-Carlo statistics (up to 2,000 draws: seconds) are computed off the server's event loop
    # (workbench.ui.jobs.JobPool.load): the figures keep the last statistics until the new ones arrive, and the
    # text above them says what is being drawn.
    def _stats_key(self) -> tuple:
        """``(layer, kind, "n:m", samples, methods)`` of the statistics the page should show (ValueError: dense)."""
        n, m = self._nm()
        shown = self.method if self.method != "mse" else "mvue"  # MSE is deterministic: its variance is 0
        return (self.layer, self.tensor, f"{n}:{m}", self.samples, tuple(sorted({shown, "mse", "mvue"})))

    def _request_statistics(self) -> None:
        """Ask for the current setting's statistics: at once when computed before, else as a load job (which
        supersedes the previous one); the figures and texts are refreshed when they arrive."""
        try:
            key = self._stats_key()
        except ValueError:  # a dense pattern: the texts say so, the figures go empty
            self._cancel_statistics()
            self._stats = None
            return
        if self._stats is not None and self._stats[0] == key:
            return
        self._cancel_statistics()
        layer, kind, pattern, samples, methods = key
        if all(_statistics.cached(layer, kind, pattern, method, samples) for method in methods):
            self._stats = (key, {method: _statistics(layer, kind, pattern, method, samples) for method in methods})
            self._stats_version += 1
            return
        token = self._stats_token = object()

        def work(cancelled):
            return {method: _statistics(layer, kind, pattern, method, samples, cancelled) for method in methods}

        def done(result, error):
            if self._stats_token is not token:  # superseded by a newer setting
                return
            self._stats_job = self._stats_token = None
            if error is None and any(st is None for st in result.values()):
                return  # cancelled (the session ended)
            self._stats_error = error
            if error is None:
                self._stats = (key, result)
            with pn.io.hold():
                self._refresh_texts()
                self._stats_version += 1

        self._stats_job = jobs().load(f"nm_sparsity statistics {key[:4]}", work, done)
        self._say_pending_soon(token)

    def _say_pending_soon(self, token) -> None:
        """In a server session, say that the draws are being made if the request ``token`` is still waiting after
        :data:`PENDING_DELAY_MS` (most slider steps are answered sooner; their texts change once)."""
        doc = pn.state.curdoc
        if self._stats_token is not token or doc is None or doc.session_context is None:
            return  # answered already (outside a server the load ran inline)

        def say():
            if self._stats_token is token:
                with pn.io.hold():
                    self._refresh_texts()

        doc.add_timeout_callback(say, PENDING_DELAY_MS)

    def _cancel_statistics(self):
        if self._stats_job is not None:
            self._stats_job.cancel()
        self._stats_job = self._stats_token = None
        self._stats_error = None

    def _shown_statistics(self) -> dict[str, MaskStatistics]:
        """The statistics of the current setting, or an exception the text shows (pending, failed, dense)."""
        key = self._stats_key()
        if self._stats_error is not None:
            raise self._stats_error
        if self._stats is None or self._stats[0] != key:
            raise _Pending(f"Drawing {self.samples:,} Monte-Carlo masks of {self.tensor}s {key[2]} …")
        return self._stats[1]

    def _mask_image(self, which: str, **_params):
        opts = dict(cmap="RdBu_r", colorbar=True, width=360, height=320, tools=["hover"], xlabel="column",
                    ylabel="row", invert_yaxis=True, framewise=True)
        try:
            x, pruned, n, m, dim = self._masked()
        except Exception:  # noqa: BLE001 - the text above the figures says why
            return hv.Image(_EMPTY_IMAGE).opts(title=which, **opts)
        xs, ps = x[:MAX_SHOWN, :MAX_SHOWN].numpy(), pruned[:MAX_SHOWN, :MAX_SHOWN].numpy()
        lim = float(np.abs(ps).max() or 1.0)
        h, w = xs.shape
        if which == "original":
            return hv.Image(xs[::-1], bounds=(0, 0, w, h)).opts(title=f"{self.tensor}: original", clim=(-lim, lim),
                                                                **opts)
        along = "rows (batch)" if dim == 0 else "columns"
        return hv.Image(ps[::-1], bounds=(0, 0, w, h)).opts(
            title=f"{self.method.upper()} {n}:{m} (blocks along {along})", clim=(-lim, lim), **opts)

    def _mask_text(self):
        x, pruned, *_ = self._masked()
        h, w = min(MAX_SHOWN, x.shape[0]), min(MAX_SHOWN, x.shape[1])
        nnz = int((pruned != 0).sum())
        return (f"`{self.layer}` {self.tensor} of shape {tuple(x.shape)}; showing the top-left {h}×{w}. Kept "
                     f"{nnz:,} of {x.numel():,} entries ({100 * nnz / x.numel():.1f} %).")

    def mask_view(self):
        return pn.Column(self._texts["mask"], self._mask_pane, sizing_mode="stretch_width")

    def _variance_plot(self, **_params):
        opts = dict(width=420, height=320, title="variance per block", framewise=True)
        if self._stats is None:  # nothing to show (yet, or a dense pattern): the text above the figure says why
            return (hv.Scatter([], "exact variance", "measured variance") * hv.Curve([])).opts(**opts)
        (_, kind, *_), stats = self._stats  # the last statistics computed: kept until the new ones arrive
        st = stats["approx" if "approx" in stats else "mvue"]
        dim = BLOCK_DIM[kind]
        emp = st.block_variance(dim).flatten().numpy()
        exact = st.block_variance(dim, exact=True).flatten().numpy()
        hi = float(max(exact.max(), emp.max(), 1e-12))
        pts = hv.Scatter((exact, emp), "exact variance", "measured variance").opts(
            size=4, alpha=0.5, color="#2f6f4f", tools=["hover"])
        line = hv.Curve([(0, 0), (hi, hi)]).opts(color="grey", line_dash="dashed")
        return (pts * line).opts(**opts)

    def _variance_text(self):
        method = self.method if self.method != "mse" else "mvue"
        st = self._shown_statistics()[method]
        dim = BLOCK_DIM[self.tensor]
        emp, exact = float(st.block_variance(dim).sum()), float(st.block_variance(dim, exact=True).sum())
        rel = abs(emp - exact) / max(exact, 1e-30)
        note = "" if self.method != "mse" else " (MSE is deterministic: variance 0; MVUE shown)"
        return (f"Per-block variance of **{method.upper()} {st.n}:{st.m}** over {st.samples} draws vs the exact "
                     f"formula Σ x²(1/p − 1){note}. Total: measured {emp:.4g}, exact {exact:.4g} ({100 * rel:.1f} % "
                     "apart).")

    def variance_view(self):
        return pn.Column(self._texts["variance"], self._variance_pane, sizing_mode="stretch_width")

    def _bias_plot(self, **_params):
        edges = np.linspace(-1, 1, 61)
        freqs = [np.zeros(len(edges) - 1)] * 2  # nothing to show: the text above the figure says why
        if self._stats is not None:  # the last statistics computed: kept until the new ones arrive
            freqs = []
            for method in ("mse", "mvue"):
                st = self._stats[1][method]
                b = (st.empirical_bias / st.x.abs().max().clamp_min(1e-30)).flatten().numpy()
                freqs.append(np.log10(1 + np.histogram(np.clip(b, -1, 1), bins=edges)[0]))
        overlay = hv.Overlay([hv.Histogram((edges, f), label=name).opts(alpha=0.55, color=color, line_alpha=0)
                              for f, name, color in zip(freqs, ("MSE", "MVUE"), ("#c0392b", "#2f6f4f"))])
        overlay = overlay.opts(width=420, height=320, title="per-entry bias", legend_position="top_right",
                               framewise=True)
        return overlay.redim.label(x="bias / max |x|", Frequency="log10(1 + count)")

    def _bias_text(self):
        return ("  \n".join(f"{st.method.upper()}: ‖E[θ] − x‖/‖x‖ = {st.relative_bias():.4f} (exact "
                                 f"{st.relative_bias(exact=True):.4f})"
                                 for st in map(self._shown_statistics().get, ("mse", "mvue"))))

    def bias_view(self):
        return pn.Column(self._texts["bias"], self._bias_pane, sizing_mode="stretch_width")

    def _build_views(self):
        self._texts = {name: pn.pane.Alert("", alert_type="light", sizing_mode="stretch_width")
                       for name in ("mask", "variance", "bias")}
        self._request_statistics()
        self._refresh_texts()
        mask = hv.streams.Params(self, ["_mask_version"])
        stats = hv.streams.Params(self, ["_stats_version"])
        images = [hv.DynamicMap(functools.partial(self._mask_image, which), streams=[mask])
                  for which in ("original", "pruned")]
        self._mask_pane = pn.pane.HoloViews(images[0] + images[1], sizing_mode="stretch_width")
        self._variance_pane = pn.pane.HoloViews(hv.DynamicMap(self._variance_plot, streams=[stats]))
        self._bias_pane = pn.pane.HoloViews(hv.DynamicMap(self._bias_plot, streams=[stats]))

    def _refresh_texts(self, say_pending: bool = True):
        """Each text for the current setting (unchanged panes send nothing); with ``say_pending=False`` a text whose
        statistics are still being drawn keeps what it says until they arrive or :meth:`_say_pending_soon` fires."""
        for name, text in (("mask", self._mask_text), ("variance", self._variance_text), ("bias", self._bias_text)):
            try:
                self._texts[name].param.update(object=text(), alert_type="light")
            except _Pending as pending:
                if say_pending:
                    self._texts[name].param.update(object=str(pending), alert_type="info")
            except _NoMask as no_mask:
                self._texts[name].param.update(object=str(no_mask), alert_type="info")
            except Exception as exc:  # noqa: BLE001 - shown in the page, not raised
                error_message(exc)  # logs the traceback
                self._texts[name].param.update(object=f"**{type(exc).__name__}:** {public_text(str(exc))}",
                                               alert_type="danger")

    @param.depends(*MASK_PARAMS, "samples", watch=True)
    def _refresh(self):
        """One watcher for every view, under one hold: the page gets the new figures and texts in one message
        (each separate message costs the browser a layout of the page)."""
        if getattr(self, "_texts", None) is None:  # __init__ sets the layer before the views exist
            return
        with pn.io.hold():
            self._request_statistics()  # the new statistics now if computed before, else in the background
            self._refresh_texts(say_pending=False)
            if (self.layer, self.tensor, self._pattern(), self.method) != self._shown_mask:
                self._shown_mask = (self.layer, self.tensor, self._pattern(), self.method)
                self._mask_version += 1

    # ---------- training ----------
    def _curve_plot(self):
        if not self._runs:
            return hv.Curve([], "epoch", "test accuracy").opts(width=600, height=300, title="test accuracy per epoch")
        curves = [hv.Curve([(r["epoch"], r["test_accuracy"]) for r in hist], "epoch", "test accuracy", label=label)
                  .opts(tools=["hover"]) for label, hist in self._runs.items()]
        return hv.Overlay(curves).opts(width=600, height=300, title="test accuracy per epoch",
                                       legend_position="bottom_right")

    def _settings(self) -> dict:
        return dict(weights=parse_pattern(self.weights), activations=parse_pattern(self.activations),
                    gradients=parse_pattern(self.gradients), gradient_mask=self.method)

    def _label(self) -> str:
        s = self._settings()
        parts = [f"{k[0].upper()} {p[0]}:{p[1]}" for k, p in s.items() if k != "gradient_mask" and p]
        if s["gradients"]:
            parts[-1] += f" {self.method.upper()}"
        return " + ".join(parts) or "dense"

    def _on_train(self):
        """Train in the server's job pool (off the event loop; cancelled by Stop or when the session ends); each
        epoch's record comes back to this session's loop, which draws it."""
        if self._buttons.running:
            return
        self._error.clear()
        if self.method == "approx" and self.gradients != "2:4":  # said in the page's words, not the API's
            self._status.object = (f"The approximate sampler trains with 2:4 gradients only, and they are "
                                   f"{self.gradients}: choose 2:4 in the *Gradients* menu, or the MVUE or MSE method.")
            return
        try:
            settings = self._settings()
            model = make_mlp(self.seed)
            if any(v for k, v in settings.items() if k != "gradient_mask"):
                sparsify(model, **settings, seed=self.seed)
        except (ValueError, TypeError) as exc:
            self._error.append(error_message(exc))
            return
        label, epochs, seed = f"{self._label()} (seed {self.seed})", self.epochs, self.seed

        def work(report, cancelled):
            for rec in iter_train(model, digits_data(seed), epochs=epochs, seed=seed):
                report(rec)
                if cancelled.is_set():
                    return "stopped"
            return "done"

        def progress(rec):
            self._runs[label].append(rec)
            self._curves.object = self._curve_plot()
            self._progress.param.update(value=rec["epoch"], text=f"epochs {rec['epoch']}/{epochs}")
            self._status.object = (f"**{label}** epoch {rec['epoch']}/{epochs}: test accuracy "
                                   f"{100 * rec['test_accuracy']:.2f} %, loss {rec['loss']:.4f}")

        def done(result, error):
            if error is not None:
                self._error.append(error_message(error))
            elif result == "stopped":
                self._status.object += " — stopped"

        self._runs[label] = []
        self._progress.param.update(max=epochs, value=0, text=f"epochs 0/{epochs}")
        refused = self._buttons.start(f"nm_sparsity training {label}", work, on_progress=progress, on_done=done)
        if refused:
            del self._runs[label]
            self._status.object = refused

    def history_rows(self) -> list[dict]:
        return [{"run": label, **rec} for label, hist in self._runs.items() for rec in hist]

    def training_view(self):
        return pn.Column(self._status, self._progress, self._curves, self._error,
                         csv_download(self.history_rows, "nm_training.csv", "Download curves (CSV)"))

    def main_view(self):
        # the sampler's two statistics share a place: one figure fewer at load, and a Samples step redraws one
        statistics = pn.Tabs(("Variance per block", self.variance_view()), ("Bias: MSE vs MVUE", self.bias_view()),
                             dynamic=True, sizing_mode="stretch_width")
        return pn.Column(
            "## Mask on a real tensor", self.mask_view(),
            "## What the sampler does, over many draws", statistics,
            "## Training on digits", self.training_view(),
            sizing_mode="stretch_width",
        )
