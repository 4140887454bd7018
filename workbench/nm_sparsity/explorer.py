"""Dashboard for N:M sparsity: tune N:M per tensor kind and the mask method, look at the mask on real
tensors, the per-block variance against the exact formula, the bias of MSE vs MVUE, and training
curves that stream while a sparse network trains."""

from __future__ import annotations

import asyncio

import holoviews as hv
import numpy as np
import panel as pn
import param
import torch

from workbench.nm_sparsity.sparsify import sparsify
from workbench.nm_sparsity.statistics import mask_statistics, prune
from workbench.nm_sparsity.tensors import BLOCK_DIM, TENSOR_KINDS, layer_names, real_tensors
from workbench.nm_sparsity.training import digits_data, iter_train, make_mlp
from workbench.ui import app_progress, csv_download, error_message, explorer_layout, guarded, load_extensions

__all__ = ["Explorer", "NM_PATTERNS", "parse_pattern"]

NM_PATTERNS = ["dense", "1:2", "2:4", "1:4", "2:8", "4:8"]
MAX_SHOWN = 64  # rows/cols of a tensor drawn as a heat map


def parse_pattern(p: str) -> tuple[int, int] | None:
    """``"2:4" -> (2, 4)``, ``"dense" -> None``."""
    if p == "dense":
        return None
    n, m = p.split(":")
    return int(n), int(m)


@pn.cache(max_items=64)
def _statistics(layer: str, kind: str, pattern: str, method: str, samples: int):
    x = real_tensors()[layer][kind]
    n, m = parse_pattern(pattern)
    return mask_statistics(x, n, m, method, samples, dim=BLOCK_DIM[kind], seed=0)


class Explorer(pn.viewable.Viewer):
    """N:M sparsity explorer (Chmiel et al., ICLR 2023)."""

    layer = param.Selector(default=None, objects=[], doc="Linear layer of the digits MLP whose tensors are shown")
    tensor = param.Selector(default="gradient", objects=list(TENSOR_KINDS), doc="Tensor kind to look at")
    weights = param.Selector(default="2:4", objects=NM_PATTERNS, doc="N:M pattern of the weights (MSE mask)")
    activations = param.Selector(default="dense", objects=NM_PATTERNS, doc="N:M pattern of the activations (MSE mask)")
    gradients = param.Selector(default="2:4", objects=NM_PATTERNS, doc="N:M pattern of the neural gradients")
    method = param.Selector(default="mvue", objects=["mvue", "mse", "approx"],
                            doc="Mask shown, and used for the gradients in training: MVUE (unbiased), "
                                "MSE (largest magnitudes) or the approximate 2:4 sampler")
    samples = param.Integer(default=200, bounds=(10, 2000), doc="Monte-Carlo draws for bias and variance")
    epochs = param.Integer(default=15, bounds=(1, 60), doc="Training epochs")
    seed = param.Integer(default=0, bounds=(0, 10_000), doc="Training seed")

    def __init__(self, **params):
        load_extensions()
        super().__init__(**params)
        names = layer_names()
        self.param.layer.objects = names
        if self.layer is None:
            self.layer = names[1]
        self._stop = False
        self._runs: dict[str, list[dict]] = {}
        self._status = pn.pane.Markdown("Press **Train** to train the MLP with the chosen N:M settings.")
        self._curves = pn.pane.HoloViews(self._curve_plot(), sizing_mode="stretch_width", min_height=300)
        self._train_button = pn.widgets.Button(label="Train", color="primary")
        self._stop_button = pn.widgets.Button(label="Stop", color="warning", disabled=True)
        self._train_button.on_click(self._on_train)
        self._stop_button.on_click(self._on_stop)
        self._progress = app_progress()
        self._error = pn.Column()

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
        return pn.Column("### Masks", w, "### Training", t, pn.Row(self._train_button, self._stop_button),
                         sizing_mode="stretch_width")

    # ---------- mask views ----------
    def _pattern(self) -> str:
        return getattr(self, {"weight": "weights", "activation": "activations", "gradient": "gradients"}[self.tensor])

    def _nm(self):
        pattern = self._pattern()
        if pattern == "dense":
            raise ValueError(f"{self.tensor}s: pattern is 'dense'; choose an N:M pattern to see its mask")
        return parse_pattern(pattern)

    @param.depends("layer", "tensor", "weights", "activations", "gradients", "method")
    @guarded
    def mask_view(self):
        n, m = self._nm()
        x = real_tensors()[self.layer][self.tensor]
        dim = BLOCK_DIM[self.tensor]
        gen = torch.Generator().manual_seed(0)
        pruned = prune(x, n, m, self.method, dim=dim, generator=gen)
        xs, ps = x[:MAX_SHOWN, :MAX_SHOWN].numpy(), pruned[:MAX_SHOWN, :MAX_SHOWN].numpy()
        lim = float(np.abs(ps).max() or 1.0)
        opts = dict(cmap="RdBu_r", clim=(-lim, lim), colorbar=True, width=360, height=320, tools=["hover"],
                    xlabel="column", ylabel="row", invert_yaxis=True)
        along = "rows (batch)" if dim == 0 else "columns"
        h, w = xs.shape
        bounds = (0, 0, w, h)
        orig = hv.Image(xs[::-1], bounds=bounds, label="original").opts(title=f"{self.tensor}: original", **opts)
        kept = hv.Image(ps[::-1], bounds=bounds).opts(
            title=f"{self.method.upper()} {n}:{m} (blocks along {along})", **opts)
        nnz = int((pruned != 0).sum())
        info = pn.pane.Markdown(
            f"`{self.layer}` {self.tensor} of shape {tuple(x.shape)}; showing the top-left "
            f"{h}×{w}. Kept {nnz:,} of {x.numel():,} entries ({100 * nnz / x.numel():.1f} %).",
        )
        return pn.Column(info, pn.pane.HoloViews(orig + kept, sizing_mode="stretch_width"))

    @param.depends("layer", "tensor", "weights", "activations", "gradients", "method", "samples")
    @guarded
    def variance_view(self):
        n, m = self._nm()
        method = self.method if self.method != "mse" else "mvue"
        st = _statistics(self.layer, self.tensor, f"{n}:{m}", method, self.samples)
        dim = BLOCK_DIM[self.tensor]
        emp = st.block_variance(dim).flatten().numpy()
        exact = st.block_variance(dim, exact=True).flatten().numpy()
        hi = float(max(exact.max(), emp.max(), 1e-12))
        pts = hv.Scatter((exact, emp), "exact variance", "measured variance").opts(
            size=4, alpha=0.5, color="#2f6f4f", tools=["hover"])
        line = hv.Curve([(0, 0), (hi, hi)]).opts(color="grey", line_dash="dashed")
        rel = float(np.abs(emp.sum() - exact.sum()) / max(exact.sum(), 1e-30))
        note = "" if self.method != "mse" else " (MSE is deterministic: variance 0; MVUE shown)"
        return pn.Column(
            pn.pane.Markdown(
                f"Per-block variance of **{method.upper()} {n}:{m}** over {st.samples} draws vs the exact "
                f"formula Σ x²(1/p − 1){note}. Total: measured {emp.sum():.4g}, exact {exact.sum():.4g} "
                f"({100 * rel:.1f} % apart)."),
            pn.pane.HoloViews((pts * line).opts(width=420, height=320, title="variance per block")),
        )

    @param.depends("layer", "tensor", "weights", "activations", "gradients", "samples")
    @guarded
    def bias_view(self):
        n, m = self._nm()
        plots, lines = [], []
        for method, color in (("mse", "#c0392b"), ("mvue", "#2f6f4f")):
            st = _statistics(self.layer, self.tensor, f"{n}:{m}", method, self.samples)
            b = (st.empirical_bias / st.x.abs().max().clamp_min(1e-30)).flatten().numpy()
            edges = np.linspace(-1, 1, 61)
            freq, _ = np.histogram(np.clip(b, -1, 1), bins=edges)
            plots.append(hv.Histogram((edges, np.log10(1 + freq)), label=method.upper()).opts(
                alpha=0.55, color=color, line_alpha=0))
            lines.append(f"{method.upper()}: ‖E[θ] − x‖/‖x‖ = {st.relative_bias():.4f} "
                         f"(exact {st.relative_bias(exact=True):.4f})")
        overlay = hv.Overlay(plots).opts(width=420, height=320, title="per-entry bias", legend_position="top_right")
        overlay = overlay.redim.label(x="bias / max |x|", Frequency="log10(1 + count)")
        return pn.Column(pn.pane.Markdown("  \n".join(lines)), pn.pane.HoloViews(overlay))

    # ---------- training ----------
    def _curve_plot(self):
        if not self._runs:
            return hv.Curve([], "epoch", "test accuracy").opts(width=600, height=300, title="test accuracy per epoch")
        curves = [hv.Curve([(r["epoch"], r["test_accuracy"]) for r in hist], "epoch", "test accuracy", label=label)
                  .opts(tools=["hover"]) for label, hist in self._runs.items()]
        return hv.Overlay(curves).opts(width=600, height=300, title="test accuracy per epoch", legend_position="bottom_right")

    def _settings(self) -> dict:
        return dict(weights=parse_pattern(self.weights), activations=parse_pattern(self.activations),
                    gradients=parse_pattern(self.gradients), gradient_mask=self.method)

    def _label(self) -> str:
        s = self._settings()
        parts = [f"{k[0].upper()} {p[0]}:{p[1]}" for k, p in s.items() if k != "gradient_mask" and p]
        if s["gradients"]:
            parts[-1] += f" {self.method.upper()}"
        return " + ".join(parts) or "dense"

    def _on_stop(self, _event=None):
        self._stop = True

    async def _on_train(self, _event=None):
        self._error.clear()
        try:
            settings = self._settings()
            model = make_mlp(self.seed)
            if any(v for k, v in settings.items() if k != "gradient_mask"):
                sparsify(model, **settings, seed=self.seed)
        except (ValueError, TypeError) as exc:
            self._error.append(error_message(exc))
            return
        label = f"{self._label()} (seed {self.seed})"
        self._runs[label] = []
        self._stop = False
        self._train_button.disabled, self._stop_button.disabled = True, False
        data = digits_data(self.seed)
        try:
            records = iter_train(model, data, epochs=self.epochs, seed=self.seed)
            for rec in self._progress(records, total=self.epochs, desc="epochs"):
                self._runs[label].append(rec)
                self._curves.object = self._curve_plot()
                self._status.object = (f"**{label}** epoch {rec['epoch']}/{self.epochs}: test accuracy "
                                       f"{100 * rec['test_accuracy']:.2f} %, loss {rec['loss']:.4f}")
                await asyncio.sleep(0.01)  # let the page update and the Stop button through
                if self._stop:
                    self._status.object += " — stopped"
                    break
        except Exception as exc:  # noqa: BLE001 - shown, not raised
            self._error.append(error_message(exc))
        finally:
            self._train_button.disabled, self._stop_button.disabled = False, True

    def history_rows(self) -> list[dict]:
        return [{"run": label, **rec} for label, hist in self._runs.items() for rec in hist]

    def training_view(self):
        return pn.Column(self._status, self._progress, self._curves, self._error,
                         csv_download(self.history_rows, "nm_training.csv", "Download curves (CSV)"))

    def main_view(self):
        return pn.Column(
            "## Mask on a real tensor", self.mask_view,
            "## Variance per block", self.variance_view,
            "## Bias: MSE vs MVUE", self.bias_view,
            "## Training on digits", self.training_view(),
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return explorer_layout(self.controls(), self.main_view())
