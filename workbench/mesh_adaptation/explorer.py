"""Dashboard "view adapted tidal-turbine meshes": the meshes of uniform refinement, DWR and E2N adaptation,
iteration by iteration, side by side, with the flow, the turbines, QoI convergence and the cost of each stage.

The page shows the results the pipeline stored (:mod:`store`), labelled as precomputed, so it opens without
Firedrake; with Firedrake installed, "Run live" recomputes the selected farm and method at the chosen
target complexity in the page. Meshes go to the browser as one patch per triangle, decimated above
``MAX_TRIANGLES`` (a few hundred kB at most).
"""

from __future__ import annotations

import numpy as np
import panel as pn
import param
import plotly.graph_objects as go
from bokeh.models import (
    ColorBar, ColumnDataSource, FixedTicker, LinearColorMapper, LogColorMapper, NumeralTickFormatter,
)
from bokeh.palettes import Viridis256
from bokeh.plotting import figure

from workbench.mesh_adaptation.farm import CASES
from workbench.mesh_adaptation.firedrake_support import INSTALL_HINT, firedrake_available
from workbench.mesh_adaptation.metric import triangle_areas
from workbench.mesh_adaptation.store import StoredIteration, load_case
from workbench.ui import ExplorerBase, error_message, load_extensions, public_text
from workbench.ui.jobs import Busy, jobs

__all__ = ["Explorer", "MAX_TRIANGLES", "MAX_SURFACE_TRIANGLES", "speed_surface"]

MAX_TRIANGLES = 30_000
METHODS = ["dwr", "e2n", "uniform"]
COLOURS = {"uniform": "#7f7f7f", "dwr": "#1f77b4", "e2n": "#d62728"}
COLOUR_BY = ["element size", "error indicator", "flow speed"]
STAGES = ["forward", "adjoint", "estimator", "metric", "remesh"]


MAX_SURFACE_TRIANGLES = 40_000  # a larger surface is sent decimated (an even subset of the triangles)


def speed_surface(it: StoredIteration, case: str, title: str) -> go.Figure:
    """The flow over an adapted mesh as a 3-D Plotly surface: a ``Mesh3d`` of ``it``'s triangles lifted to the flow
    speed |u| at their vertices (height and colour), so the turbines' wakes show as troughs and the mesh's
    refinement as its facets; the turbines are marked above it.

    Raises ``ValueError`` when the iteration stored no flow field (``it.speed is None``)."""
    if it.speed is None:
        raise ValueError("it: this iteration stored no flow speed (rerun it live, or pick another)")
    if case not in CASES:
        raise ValueError(f"case: expected one of {sorted(CASES)}, got {case!r}")
    tri = it.triangles
    if len(tri) > MAX_SURFACE_TRIANGLES:
        tri = tri[np.linspace(0, len(tri) - 1, MAX_SURFACE_TRIANGLES).astype(int)]
    v = it.vertices.astype(np.float64)
    speed = it.speed.astype(np.float64)
    surface = go.Mesh3d(x=v[:, 0], y=v[:, 1], z=speed, i=tri[:, 0], j=tri[:, 1], k=tri[:, 2], intensity=speed,
                        colorscale="Viridis", colorbar={"title": {"text": "|u| (m/s)"}, "len": 0.7},
                        flatshading=True, hovertemplate="x %{x:.0f} m<br>y %{y:.0f} m<br>|u| %{z:.2f} m/s"
                                                         "<extra></extra>", name="flow speed")
    c = CASES[case]
    top = float(speed.max()) * 1.05
    turbines = go.Scatter3d(x=[t[0] for t in c.turbines], y=[t[1] for t in c.turbines], z=[top] * len(c.turbines),
                            mode="markers", marker={"size": 5, "color": "white", "line": {"color": "black", "width": 1},
                                                    "symbol": "square"}, name="turbines", hoverinfo="name")
    fig = go.Figure([surface, turbines])
    fig.update_layout(title={"text": title, "font": {"size": 13}}, margin={"l": 0, "r": 0, "t": 36, "b": 0},
                      height=420, showlegend=False,
                      scene={"xaxis_title": "x (m)", "yaxis_title": "y (m)", "zaxis_title": "|u| (m/s)",
                             "aspectmode": "manual", "aspectratio": {"x": 2.4, "y": 1.0, "z": 0.5},
                             "camera": {"eye": {"x": -0.6, "y": -2.0, "z": 1.2}}})
    return fig


def _triangle_values(it: StoredIteration, colour_by: str) -> tuple[np.ndarray, str, bool]:
    """Per-triangle values, label and whether a log scale suits them."""
    if colour_by == "flow speed" and it.speed is not None:
        return it.speed[it.triangles].mean(axis=1), "|u| (m/s)", False
    if colour_by == "error indicator" and it.indicators is not None:
        return np.maximum(it.indicators.astype(np.float64), 1e-16), "error indicator η_K (MW)", True
    area = triangle_areas(it.vertices.astype(np.float64), it.triangles)
    return np.sqrt(2 * area), "element size √(2|K|) (m)", True


def _patches(it: StoredIteration, colour_by: str) -> tuple[dict, str, bool, int]:
    tri = it.triangles
    keep = np.arange(len(tri))
    if len(tri) > MAX_TRIANGLES:  # decimate: an even subset, enough to see the grading
        keep = np.linspace(0, len(tri) - 1, MAX_TRIANGLES).astype(int)
    values, label, log = _triangle_values(it, colour_by)
    p = it.vertices[tri[keep]]
    return ({"xs": [row for row in np.round(p[:, :, 0], 2).tolist()],
             "ys": [row for row in np.round(p[:, :, 1], 2).tolist()], "value": values[keep].tolist()},
            label, log, len(tri) - len(keep))


class _MeshPanel:
    """One mesh figure (built once; selections only replace its data source and colour range).

    Raw Bokeh rather than HoloViews, on purpose: a mesh is up to 30,000 patches whose data is replaced in place at
    every step of the iteration slider (0.15 s a step), and the two figures share their ranges."""

    def __init__(self, title: str):
        self.source = ColumnDataSource({"xs": [], "ys": [], "value": []})
        self.linear = LinearColorMapper(palette=Viridis256)
        self.log = LogColorMapper(palette=Viridis256)
        self.fig = figure(height=300, sizing_mode="stretch_width", match_aspect=True, title=title,
                          x_axis_label="x (m)", y_axis_label="y (m)", tools="pan,wheel_zoom,box_zoom,reset",
                          active_scroll="wheel_zoom")
        self.glyph_lin = self.fig.patches("xs", "ys", source=self.source, line_color="#222222", line_width=0.2,
                                          line_alpha=0.5, fill_color={"field": "value", "transform": self.linear})
        self.glyph_log = self.fig.patches("xs", "ys", source=self.source, line_color="#222222", line_width=0.2,
                                          line_alpha=0.5, fill_color={"field": "value", "transform": self.log})
        self.turbines = ColumnDataSource({"x": [], "y": [], "w": []})
        self.fig.rect("x", "y", "w", "w", source=self.turbines, fill_alpha=0, line_color="white", line_width=2)
        self.bar_lin = ColorBar(color_mapper=self.linear, width=8)
        self.bar_log = ColorBar(color_mapper=self.log, width=8)
        self.fig.add_layout(self.bar_lin, "right")
        self.fig.add_layout(self.bar_log, "right")

    def show(self, it: StoredIteration, colour_by: str, case: str, title: str):
        data, label, log, dropped = _patches(it, colour_by)
        v = np.asarray(data["value"])
        self.source.data = data
        self.glyph_lin.visible, self.bar_lin.visible = not log, not log
        self.glyph_log.visible, self.bar_log.visible = log, log
        mapper = self.log if log else self.linear
        lo, hi = (np.percentile(v, 2), np.percentile(v, 98)) if len(v) else (0, 1)
        mapper.low, mapper.high = float(lo), float(max(hi, lo * 1.0001 + 1e-30))
        (self.bar_log if log else self.bar_lin).title = label
        c = CASES[case]
        self.turbines.data = {"x": [t[0] for t in c.turbines], "y": [t[1] for t in c.turbines],
                              "w": [c.diameter] * len(c.turbines)}
        self.fig.title.text = title + (f" (showing {len(v):,} of {len(v) + dropped:,} triangles)" if dropped else "")


class Explorer(ExplorerBase):
    """View the adapted meshes of E2N (Wallwork et al., 2022) on the tidal-farm test cases."""

    case = param.Selector(default="aligned", objects=list(CASES), doc="Test farm")
    method = param.Selector(default="dwr", objects=METHODS, doc="Left: how the mesh was made")
    compare = param.Selector(default="e2n", objects=METHODS + ["none"], doc="Right: the method to compare with")
    iteration = param.Integer(default=-1, bounds=(-1, 40), doc="Adaptation iteration (-1: the last)")
    colour_by = param.Selector(default="element size", objects=COLOUR_BY, doc="What colours the triangles")

    def __init__(self, **params):
        load_extensions("plotly")
        super().__init__(**params)
        self._error = pn.Column(sizing_mode="stretch_width")
        self._banner = pn.pane.Alert("", alert_type="info", sizing_mode="stretch_width")
        self._summary = pn.pane.Markdown("", sizing_mode="stretch_width")
        self._left, self._right = _MeshPanel("left"), _MeshPanel("right")
        self._right.fig.x_range, self._right.fig.y_range = self._left.fig.x_range, self._left.fig.y_range
        self._conv_sources = {m: ColumnDataSource({"dofs": [], "err": [], "label": []}) for m in METHODS}
        self._cost_source = ColumnDataSource({"method": [], **{s: [] for s in STAGES}})
        self._build_plots()
        self._live_button = pn.widgets.Button(label="Run live (Firedrake)", color="primary",
                                              disabled=not firedrake_available())
        self._live_target = pn.widgets.IntSlider(label="Live target complexity", start=200, end=4000, step=100,
                                                 value=500)
        self._live_button.on_click(self._on_live)
        self._live_status = pn.pane.Markdown("" if firedrake_available() else f"*{INSTALL_HINT}.*")
        self._live_runs: dict[tuple[str, str], list[StoredIteration]] = {}
        self._surface = pn.pane.Plotly(None, height=430, sizing_mode="stretch_width")
        self._surface_note = pn.pane.Markdown("", sizing_mode="stretch_width")
        # 2-D meshes and the 3-D surface in tabs that render only when shown: the slider stays fast (a Plotly
        # figure is sent whole, so the surface is built only while its tab is open)
        self._views = pn.Tabs(("Meshes (2-D)", self._mesh_row()),
                              ("Flow speed in 3-D", pn.Column(self._surface_note, self._surface)),
                              dynamic=True, sizing_mode="stretch_width")
        self._views.param.watch(lambda _e: self._update_surface(), "active")
        self._stored = None
        self._load()

    def _build_plots(self):
        conv = figure(height=300, sizing_mode="stretch_width", x_axis_type="log", y_axis_type="log",
                      title="QoI error against the reference", x_axis_label="degrees of freedom",
                      y_axis_label="relative error in farm power", tools="pan,wheel_zoom,reset")
        for m, src in self._conv_sources.items():
            conv.line("dofs", "err", source=src, color=COLOURS[m], legend_label=m, line_width=2)
            conv.scatter("dofs", "err", source=src, color=COLOURS[m], size=7, legend_label=m)
        conv.add_layout(conv.legend[0], "right")  # outside the axes: inside, it covered the curves
        # 1-2-5 ticks in every decade (a LogTicker turns linear over two decades and its labels collide),
        # labelled 20k, 500k, 1m
        conv.xaxis.ticker = FixedTicker(ticks=[k * 10.0**e for e in range(2, 8) for k in (1, 2, 5)])
        conv.xaxis.formatter = NumeralTickFormatter(format="0a")
        cost = figure(height=300, sizing_mode="stretch_width", x_range=["dwr", "e2n"],
                      title="Wall time per stage, summed over the iterations (s)", y_axis_label="seconds",
                      tools="")
        palette = ["#9ecae1", "#6baed6", "#d62728", "#fdae6b", "#a1d99b"]
        cost.vbar_stack(STAGES, x="method", width=0.6, source=self._cost_source, color=palette,
                        legend_label=STAGES)
        cost.legend.location = "top_right"
        self._conv_fig, self._cost_fig = conv, cost

    # ---------- data ----------
    @param.depends("case", watch=True)
    def _load(self):
        with pn.io.hold():
            self._load_case()

    def _load_case(self):
        self._error.clear()
        try:
            self._stored = load_case(self.case)
        except Exception as exc:  # noqa: BLE001 - shown, not raised
            self._stored = None
            self._error.append(error_message(exc))
            return
        meta = self._stored.meta
        live = "Firedrake is installed: **Run live** recomputes a method here." if firedrake_available() \
            else f"{INSTALL_HINT}; the page then runs the pipeline live."
        self._banner.object = (f"**Precomputed results** of the full pipeline ({meta.get('computed_with', '')}), "
                               f"shipped with the repo. {live}")
        rows = self._stored.rows
        for m, src in self._conv_sources.items():
            r = sorted((x for x in rows if x["method"] == m), key=lambda x: x["dofs"])
            src.data = {"dofs": [x["dofs"] for x in r], "err": [max(x["qoi_error"], 1e-12) for x in r],
                        "label": [str(x.get("target_complexity")) for x in r]}
        self._update_cost()
        self._show()

    def _runs(self, method: str) -> list[StoredIteration]:
        live = self._live_runs.get((self.case, method))
        if live:
            return live
        return self._stored.runs.get(method, []) if self._stored else []

    def _update_cost(self):
        data = {"method": ["dwr", "e2n"]}
        for s in STAGES:
            data[s] = [sum(it.summary["seconds"].get(s, 0.0) for it in self._runs(m)) for m in ("dwr", "e2n")]
        self._cost_source.data = data

    @param.depends("method", "compare", "iteration", "colour_by", watch=True)
    def _show(self):
        with pn.io.hold():  # both meshes and the text reach the page in one message
            self._show_meshes()

    def _show_meshes(self):
        if self._stored is None:
            return
        try:
            lines = []
            for side, panel, method in (("left", self._left, self.method), ("right", self._right, self.compare)):
                panel.fig.visible = method != "none"
                if method == "none":
                    continue
                its = self._runs(method)
                if not its:
                    raise ValueError(f"method: no stored {method} run for the {self.case} farm")
                k = len(its) - 1 if self.iteration < 0 else min(self.iteration, len(its) - 1)
                s = its[k].summary
                label = "level" if method == "uniform" else "iteration"
                title = (f"{method}, {label} {k} of {len(its) - 1}: {s['n_cells']:,} cells, {s['dofs']:,} DoFs, "
                         f"power {s['qoi']:.4f} MW")
                panel.show(its[k], self.colour_by, self.case, title)
                live = " (live run)" if (self.case, method) in self._live_runs else ""
                lines.append(f"**{side}**: {title}{live}")
            self._summary.object = f"**{self.case} farm**, coloured by {self.colour_by}. " + " · ".join(lines)
            self._update_surface()
        except Exception as exc:  # noqa: BLE001 - shown, not raised
            self._error.clear()
            self._error.append(error_message(exc))

    def _update_surface(self):
        """The left method's mesh at the shown iteration as a 3-D surface of the flow speed (when its tab is open)."""
        if self._views.active != 1 or self._stored is None or self.method == "none":
            return
        its = self._runs(self.method)
        if not its:
            return
        k = len(its) - 1 if self.iteration < 0 else min(self.iteration, len(its) - 1)
        title = f"{self.case} farm, {self.method}, {'level' if self.method == 'uniform' else 'iteration'} {k}"
        try:
            self._surface.object = speed_surface(its[k], self.case, title)
            self._surface_note.object = (f"Flow speed |u| over the **{self.method}** mesh "
                                         f"({its[k].summary['n_cells']:,} cells): height and colour are |u| at the "
                                         "vertices; the turbines' wakes are the troughs behind the white squares. "
                                         "Drag to turn it.")
        except ValueError as exc:
            self._surface.object = None
            self._surface_note.object = f"*{public_text(str(exc))}*"

    # ---------- live runs ----------
    def _on_live(self, _event):
        """A live run in the server's job pool (off the event loop; dropped when the session ends)."""
        case, method, target = self.case, self.method, float(self._live_target.value)
        if method == "uniform":
            self._live_status.object = "Live runs adapt: pick `dwr` or `e2n` on the left."
            return

        def work(_report, _cancelled):
            from workbench.mesh_adaptation.adaptation import adapt
            from workbench.mesh_adaptation.experiments import load_network

            run = adapt(CASES[case], target, method, model=load_network() if method == "e2n" else None)
            text = (f"Live {method} run: {len(run.iterations)} iterations, final power {run.final.qoi:.5f} MW, "
                    f"{sum(run.seconds().values()):.1f} s.")
            return [StoredIteration.from_iteration(it) for it in run.iterations], text

        def done(result, error):
            self._live_button.disabled = False
            if error is not None:
                self._live_status.object = f"**{type(error).__name__}:** {public_text(str(error))}"
                return
            its, text = result
            self._live_runs[(case, method)] = its
            self._live_status.object = text
            self._update_cost()
            self._show()

        self._live_button.disabled = True
        self._live_status.object = f"Running {method} on the {case} farm at complexity {target:g}…"
        try:
            jobs().submit(f"live {method} run on {case}", work, on_done=done)
        except Busy as exc:
            self._live_button.disabled = False
            self._live_status.object = str(exc)

    # ---------- layout ----------
    def controls(self):
        w = pn.Param(self.param, parameters=["case", "method", "compare", "iteration", "colour_by"],
                     widgets={"iteration": {"type": pn.widgets.DiscreteSlider,
                                            "options": {"last": -1, **{str(k): k for k in range(13)}}}},
                     show_name=False, sizing_mode="stretch_width")
        return pn.Column("### Meshes", w, "### Live", self._live_target, self._live_button, self._live_status,
                         sizing_mode="stretch_width")

    def _mesh_row(self):
        return pn.Row(pn.pane.Bokeh(self._left.fig, sizing_mode="stretch_width"),
                      pn.pane.Bokeh(self._right.fig, sizing_mode="stretch_width"), sizing_mode="stretch_width")

    def main_view(self):
        return pn.Column(
            self._error, self._banner, self._summary, self._views,
            pn.Row(pn.pane.Bokeh(self._conv_fig, sizing_mode="stretch_width"),
                   pn.pane.Bokeh(self._cost_fig, sizing_mode="stretch_width"), sizing_mode="stretch_width"),
            pn.pane.Markdown(
                "Steady shallow-water flow (Taylor-Hood P2-P1, Newton + MUMPS) in a 1200 m x 500 m channel, "
                "turbines (white squares, 18 m) as a smooth drag field; the QoI is the farm's power. DWR: "
                "enriched-adjoint error indicators; E2N: the network's indicators from element features, no "
                "enriched solve. Zoom with the mouse wheel; the two meshes share their axes."),
            sizing_mode="stretch_width")
