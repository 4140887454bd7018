"""Dashboard "where a sampler's gradient noise comes from": choose a graph, a sampler and a batch size; see which
nodes one drawn batch computes with (coloured by their probability of being drawn), each training node's
probability against its gradient norm (MVS's rule ``p_i = min(1, ḡ_i / μ)``), both variance components over
training, and convergence (validation F1 against mini-batches and against seconds, the full-batch training loss
against mini-batches), every sampler side by side from the shipped full run (``docs/results/gnn_sampling.json``).
Train runs the chosen sampler live, off the server's event loop."""

from __future__ import annotations

import functools
import json

import holoviews as hv
import numpy as np
import panel as pn
import param
import torch

from workbench.gnn_sampling.experiments import TARGETS, load_graph, sampler_options
from workbench.gnn_sampling.inspect import drawn_subgraph, inclusion_probabilities, training_gradient_norms
from workbench.gnn_sampling.model import GCN
from workbench.gnn_sampling.samplers import make_sampler
from workbench.gnn_sampling.training import iter_train
from workbench.results_pages import DOCS
from workbench.ui import ExplorerBase, error_message, load_extensions
from workbench.ui.jobs import jobs
from workbench.ui.train_buttons import TrainButtons
from workbench.ui.memo import memo

__all__ = ["Explorer", "RESULTS_JSON", "shipped_results", "page_state", "ring_layout", "SAMPLER_NAMES",
           "SAMPLER_COLORS", "PAGE_GRAPHS", "DEFAULT"]

RESULTS_JSON = DOCS / "results" / "gnn_sampling.json"
PAGE_GRAPHS = ["cora", "citeseer", "sbm-10k", "sbm-100k"]
BATCH_SIZES = [16, 64, 256, 1024]
SAMPLER_NAMES = {"full": "full batch", "uniform": "uniform nodes", "sage": "GraphSAGE (5, 5)",
                 "ladies": "LADIES", "saint": "GraphSAINT (random walks)", "mvs": "MVS-GNN"}
SAMPLER_COLORS = {"full": "black", "uniform": "#1f77b4", "sage": "#ff7f0e", "ladies": "#9467bd",
                  "saint": "#8c564b", "mvs": "#d62728"}
ROLE_STYLE = {"batch": (13, "circle"), "hop 1": (8, "circle"), "history": (9, "square"), "hop 2": (5, "circle")}
PRETRAIN = 100  # full-batch Adam steps of the model the probabilities are shown at, before any Train ...
PRETRAIN_LARGE = {"sbm-100k": 20}  # ... fewer on the large graph (a full-batch step takes most of a second)
MAX_OUTPUTS = 16  # output nodes of a drawn batch shown (and everything they read)
DEFAULT = ("cora", "mvs", 64, 0)  # graph, sampler, batch size, seed: prepared by the warm-up
CAPTION = ("Inner ring: the batch's output nodes (their losses are averaged, weighted 1 / p). Middle ring: the nodes "
           "the last layer reads (squares: read from MVS's history, stale embeddings). Outer ring: what only the "
           "first layer reads. Colour: a training node's probability of being drawn (grey: not a training node). "
           "Right: MVS draws a node in proportion to its gradient norm ḡ_i, capped at 1; uniform sampling ignores it.")
TRAIN_DRAWS = 8  # draws per variance checkpoint of a live run (its standard error is shown)


@functools.lru_cache(maxsize=1)
def shipped_results() -> list[dict]:
    """The shipped full run's rows (empty when absent)."""
    return json.loads(RESULTS_JSON.read_text())["results"] if RESULTS_JSON.is_file() else []


@memo(max_items=3)
def _graph(name: str):
    return load_graph(name)


@memo(max_items=4)
def _start_model(graph: str, seed: int) -> GCN:
    """A GCN after :data:`PRETRAIN` full-batch Adam steps (lr 0.01): the weights the probabilities are shown at."""
    g = _graph(graph)
    model = GCN(g.X.shape[1], g.num_classes, hidden=64, layers=2, dropout=0.1, seed=seed)
    steps = PRETRAIN_LARGE.get(graph, PRETRAIN)
    for _ in iter_train(g, make_sampler("full", g, len(g.train_idx)), steps, eval_every=steps, seed=seed,
                        model=model):
        pass
    return model


@memo(max_items=8)
def page_state(graph: str, sampler: str, batch_size: int, seed: int) -> dict:
    """What the page shows for a setting before any Train: the sampler (its probabilities at the pre-trained
    model), each training node's gradient norm ``ḡ`` and inclusion probability ``p`` (numpy ``(N_train,)``)."""
    model = _start_model(graph, seed)
    steps = PRETRAIN_LARGE.get(graph, PRETRAIN)
    return _state_at(graph, model, sampler, batch_size, f"a GCN after {steps} full-batch steps")


def _state_at(graph: str, model: GCN, sampler: str, batch_size: int, where: str) -> dict:
    g = _graph(graph)
    batch = len(g.train_idx) if sampler == "full" else min(batch_size, len(g.train_idx))
    s = make_sampler(sampler, g, batch, **sampler_options(graph, sampler))
    s.refresh(model, g.X)  # MVS: its probabilities from this model's gradient norms
    train_position = np.full(g.num_nodes, -1, dtype=np.int64)
    train_position[g.train_idx.numpy()] = np.arange(len(g.train_idx))
    return {"sampler": s, "norms": training_gradient_norms(model, g).numpy(), "train_position": train_position,
            "p": inclusion_probabilities(s).numpy(), "where": where}


def _prepared(key: tuple) -> bool:
    return page_state.cached(*key)


class Explorer(ExplorerBase):
    """Minimal variance sampling for GNN training (Cong, Forsati, Kandemir, Mahdavi, KDD 2020)."""

    graph = param.Selector(default="cora", objects=PAGE_GRAPHS, doc="Graph (SBM: a stochastic block model)")
    sampler = param.Selector(default="mvs", objects={v: k for k, v in SAMPLER_NAMES.items()}, doc="Sampler")
    batch_size = param.Selector(default=64, objects=BATCH_SIZES, doc="Batch size B (expected output nodes)")
    draw = param.Integer(default=0, bounds=(0, 99), doc="Which drawn batch is shown (the draw's seed)")
    steps = param.Integer(default=200, bounds=(20, 2000), step=20, doc="Mini-batches a Train runs")
    seed = param.Integer(default=0, bounds=(0, 10_000), doc="Seed of the model and the batches")
    _version = param.Integer(default=0, precedence=-1)  # the setting's state changed (a new batch picture)
    _curves = param.Integer(default=0, precedence=-1)  # a Train reported (only the over-training views change)

    def __init__(self, **params):
        load_extensions()
        super().__init__(**params)
        self._buttons = TrainButtons()
        self._buttons.on_click(self._on_train)
        self._prepare_job = self._prepare_token = None
        self._live: dict | None = None  # the state a Train left for its setting (its model's probabilities)
        self._run: list[dict] = []  # a Train's records
        self._run_key = None
        self._status = pn.pane.Markdown("")
        self._error = pn.Column()
        self._request_state()
        draw = hv.streams.Params(self, ["graph", "sampler", "batch_size", "draw", "seed", "_version"])
        setting = hv.streams.Params(self, ["graph", "sampler", "batch_size", "seed", "_version"])
        shipped = hv.streams.Params(self, ["graph", "sampler", "batch_size", "_curves"])
        self._subgraph_pane = pn.pane.HoloViews(hv.DynamicMap(self._subgraph, streams=[draw]))
        self._probability_pane = pn.pane.HoloViews(hv.DynamicMap(self._probabilities, streams=[setting]))
        self._variance_pane = pn.pane.HoloViews(hv.DynamicMap(self._variance, streams=[shipped]))
        self._steps_pane = pn.pane.HoloViews(hv.DynamicMap(functools.partial(self._convergence, "step"),
                                                           streams=[shipped]))
        self._seconds_pane = pn.pane.HoloViews(hv.DynamicMap(functools.partial(self._convergence, "seconds"),
                                                             streams=[shipped]))
        self._loss_pane = pn.pane.HoloViews(hv.DynamicMap(functools.partial(self._convergence, "step", "train_loss"),
                                                          streams=[shipped]))

    # ---------- state ----------
    def _key(self) -> tuple:
        return (self.graph, self.sampler, int(self.batch_size), int(self.seed))

    def _state(self) -> dict | None:
        key = self._key()
        if self._live is not None and self._live["key"] == key:
            return self._live
        return page_state(*key) if _prepared(key) else None

    def _request_state(self) -> None:
        """Show the current setting: at once when computed, else computed in the job pool (off the event loop:
        loading a graph, pre-training the model, GraphSAINT's pre-sampling take seconds) while the page says so."""
        if self._prepare_job is not None:
            self._prepare_job.cancel()
        self._prepare_job = self._prepare_token = None
        key = self._key()
        if _prepared(key):
            self._describe()
            return
        self._status.object = f"Loading **{self.graph}** and preparing {SAMPLER_NAMES[self.sampler]} …"
        self._buttons.train.disabled = True
        token = self._prepare_token = object()

        def done(_result, error):
            if self._prepare_token is not token or self._key() != key:
                return  # superseded by newer settings
            self._prepare_job = self._prepare_token = None
            self._buttons.train.disabled = self._buttons.running
            if error is not None:
                self._status.object = f"Could not prepare **{key[0]}**."
                self._error.append(error_message(error))
                return
            self._describe()
            self._version += 1

        self._prepare_job = jobs().load(f"gnn_sampling page {key}", lambda _cancelled: page_state(*key), done)

    def _describe(self) -> None:
        state = self._state()
        if state is None:
            return
        g, s = _graph(self.graph), state["sampler"]
        self._status.object = (
            f"**{SAMPLER_NAMES[self.sampler]}** on **{self.graph}** ({g.num_nodes:,} nodes, "
            f"{len(g.train_idx):,} training), batch {s.batch_size:,}: probabilities at {state['where']}. "
            f"Target validation F1: {TARGETS[self.graph]:.2f}.")

    @param.depends("graph", "sampler", "batch_size", "seed", watch=True)
    def _settings_changed(self):
        """New settings: a Train of the old ones is stopped (its curve belongs to the setting it started with), and
        the page shows the new setting."""
        self._buttons.abandon()
        self._error.clear()
        try:
            self._request_state()
        except Exception as exc:  # noqa: BLE001 - shown, not raised
            self._error.append(error_message(exc))

    # ---------- views ----------
    def _subgraph(self, **_params):
        opts = dict(width=560, height=460, xaxis=None, yaxis=None, framewise=True)
        state = self._state()
        if state is None:  # the same elements, empty: the figure is updated in place, never replaced
            return self._picture(np.zeros((0, 2)), np.zeros((0, 2), dtype=int), np.zeros(0, dtype=str), [], 1e-3,
                                 "loading …", opts)
        s = state["sampler"]
        batch = s.sample(torch.Generator().manual_seed(1000 * int(self.seed) + int(self.draw)))
        sub = drawn_subgraph(batch, MAX_OUTPUTS)
        nodes = sub["nodes"].tolist()
        where = {v: i for i, v in enumerate(nodes)}
        local = np.array([(where[a], where[b]) for a, b in sub["edges"].tolist()], dtype=int).reshape(-1, 2)
        pos = ring_layout(sub["role"], local)
        g = _graph(self.graph)
        train_pos = state["train_position"]
        p_all = np.asarray(state["p"])
        layer = np.where(sub["edge_layer"].numpy() == len(batch.blocks) - 1, "last layer", "first layer")
        rows = []
        for i, v in enumerate(nodes):
            t = int(train_pos[v])  # -1: not a training node
            size, marker = ROLE_STYLE[sub["role"][i]]
            rows.append((pos[i, 0], pos[i, 1], v, int(g.y[v]), sub["role"][i],
                         float(p_all[t]) if t >= 0 else np.nan, size, marker))
        floor = max(float(p_all[p_all > 0].min()) if (p_all > 0).any() else 1e-3, 1e-4)
        title = f"one drawn batch: {min(MAX_OUTPUTS, sub['outputs'])} of its {sub['outputs']} output nodes"
        return self._picture(pos, local, layer, rows, floor, title, opts)

    @staticmethod
    def _picture(pos, edges, layer, rows, floor, title, opts):
        """The drawn batch's edges and nodes (every node in one element: one renderer, one hover tool, one colour
        bar; the page draws it faster)."""
        src, dst = edges[:, 0], edges[:, 1]
        segments = hv.Segments((pos[src, 0], pos[src, 1], pos[dst, 0], pos[dst, 1], layer),
                               ["x0", "y0", "x1", "y1"], ["layer"]).opts(
            color="layer", cmap={"last layer": "#555555", "first layer": "#cccccc"}, line_width=1)
        columns = ["x", "y", "node", "class", "role", "p", "size", "marker"]
        data = {c: [r[i] for r in rows] for i, c in enumerate(columns)}
        points = hv.Points(data, ["x", "y"], columns[2:]).opts(
            color="p", cmap="viridis", logz=True, clim=(floor, 1.0), clipping_colors={"NaN": "#d9d9d9"},
            size="size", marker="marker", line_color="white", colorbar=True,
            tools=["hover"], hover_tooltips=[("node", "@node"), ("class", "@class"), ("role", "@role"),
                                             ("P(drawn)", "@p{0.0000}")])
        return (segments * points).opts(title=title, show_legend=False, **opts)

    def _probabilities(self, **_params):
        opts = dict(width=420, height=460, logx=True, logy=True, framewise=True, xlabel="gradient norm ḡ_i",
                    ylabel="P(node i is drawn)")
        state = self._state()
        if state is None:  # the same elements, empty: the figure is updated in place
            norms, p, b, title = np.ones(0), np.ones(0), 1, "loading …"
        else:
            norms, p, b = np.asarray(state["norms"]), np.asarray(state["p"]), state["sampler"].batch_size
            title = f"P(drawn) against ḡ (dotted: B/N = {b / len(norms):.3g})"
        keep = (norms > 0) & (p > 0)
        points = hv.Scatter((norms[keep], p[keep]), "gradient norm ḡ_i", "P(node i is drawn)").opts(
            color=SAMPLER_COLORS[self.sampler], size=4, alpha=0.5)
        g_sorted = np.sort(norms[keep])
        mu = _mvs_threshold(norms, b) if len(norms) else 1.0
        rule = hv.Curve((g_sorted, np.minimum(1.0, g_sorted / mu)), "gradient norm ḡ_i", "P(node i is drawn)",
                        label="MVS: min(1, ḡ/μ)").opts(color=SAMPLER_COLORS["mvs"], line_dash="dashed")
        flat = hv.HLine(b / len(norms) if len(norms) else 1.0).opts(color=SAMPLER_COLORS["uniform"],
                                                                      line_dash="dotted")
        return (points * rule * flat).opts(title=title, legend_position="bottom_right", **opts)

    def _shipped_rows(self):
        b = int(self.batch_size)
        rows = [r for r in shipped_results() if r["graph"] == self.graph]
        return [r for r in rows if r["sampler"] == "full" or r["batch_size"] == b]

    def _variance(self, **_params):
        opts = dict(width=760, height=360, logy=True, framewise=True, legend_position="right")
        curves, chosen_row = [], None
        for r in self._shipped_rows():
            if r["sampler"] == "full" or not r.get("variance_along"):
                continue
            chosen = r["sampler"] == self.sampler
            chosen_row = r if chosen else chosen_row
            pts = [(v["step"], v["total"]) for v in r["variance_along"] if v["total"] > 0]
            curves.append(hv.Curve(pts, "mini-batch", "E‖g̃ − ∇f‖²", label=SAMPLER_NAMES[r["sampler"]]).opts(
                color=SAMPLER_COLORS[r["sampler"]], line_width=4 if chosen else 1.5, tools=["hover"]))
        # the chosen sampler's two parts, always drawn (empty for full batch or a missing run): choosing another
        # sampler changes data and styles, not the figure's elements, so it is updated in place
        colour = SAMPLER_COLORS[self.sampler]
        for part, dash in (("stochastic", "dashed"), ("embedding", "dotted")):
            pts = [(v["step"], v[part]) for v in (chosen_row or {}).get("variance_along", []) if v[part] > 0]
            curves.append(hv.Curve(pts, "mini-batch", "E‖g̃ − ∇f‖²", label=f"  {part} part").opts(
                color=colour, line_dash=dash, line_width=2))
        live = [(r["step"], r["variance"]["total"]["mean"]) for r in self._live_records() if "variance" in r]
        # always there (empty before a Train): a Train's updates change data, not the figure's elements
        curves.append(hv.Scatter([p for p in live if p[1] > 0], "mini-batch", "E‖g̃ − ∇f‖²",
                                 label="your run (total)").opts(color="black", marker="star", size=12))
        title = (f"variance at batch {int(self.batch_size)}; bold: {SAMPLER_NAMES[self.sampler]}, with its parts"
                 if shipped_results() else "gradient variance: no shipped run in this checkout (Train measures it)")
        return hv.Overlay(curves).opts(title=title, **opts)

    def _live_records(self) -> list[dict]:
        return self._run if self._run_key == self._key() else []

    def _convergence(self, x: str, metric: str = "val_f1", **_params):
        """Every sampler's shipped curve and the live Train's: ``metric`` (``"val_f1"`` or ``"train_loss"``, the
        full-batch training loss, on a log axis) against ``x`` (``"step"`` or ``"seconds"``)."""
        label = "mini-batch" if x == "step" else "training seconds"
        ylabel = {"val_f1": "validation F1", "train_loss": "training loss (all training nodes)"}[metric]
        opts = dict(width=760, height=360, framewise=True, legend_position="right",
                    **({"ylim": (0, 1)} if metric == "val_f1" else {"logy": True}))
        curves = []
        for r in self._shipped_rows():
            if r.get("curve") and metric in r["curve"][0]:
                chosen = r["sampler"] == self.sampler
                curves.append(hv.Curve([(c[x], c[metric]) for c in r["curve"]], label, ylabel,
                                       label=SAMPLER_NAMES[r["sampler"]]).opts(
                    color=SAMPLER_COLORS[r["sampler"]], line_width=4 if chosen else 1.5, tools=["hover"]))
        live = self._live_records()  # always there (empty before a Train): updates change data, not elements
        curves.append(hv.Curve([(c[x], c[metric]) for c in live], label, ylabel,
                               label="your run").opts(color="black", line_dash="dashed", line_width=3))
        against = "mini-batches" if x == "step" else "seconds"
        if metric == "val_f1":
            curves.append(hv.HLine(TARGETS[self.graph]).opts(color="grey", line_dash="dotted"))
            title = f"validation F1 against {against} (dotted: the target {TARGETS[self.graph]:.2f})"
        else:
            title = f"training loss against {against}, every training node, exact (the paper's Fig. 4)"
        return hv.Overlay(curves).opts(title=title, **opts)

    # ---------- training (in the server's job pool; each evaluation comes back to the page) ----------
    def _on_train(self):
        if self._buttons.running:
            return
        self._error.clear()
        key = self._key()
        graph, sampler, batch_size, seed = key
        steps = int(self.steps)
        self._run, self._run_key = [], key
        checkpoints = tuple(sorted({max(1, round(steps * f)) for f in (0.05, 0.25, 0.5, 0.75, 1.0)}))

        def work(report, cancelled):
            g = _graph(graph)
            batch = len(g.train_idx) if sampler == "full" else min(batch_size, len(g.train_idx))
            s = make_sampler(sampler, g, batch, **sampler_options(graph, sampler))
            model = GCN(g.X.shape[1], g.num_classes, hidden=64, layers=2, dropout=0.1, seed=seed)
            for record in iter_train(g, s, steps, eval_every=max(1, steps // 40), seed=seed, model=model,
                                     variance_at=checkpoints, draws=TRAIN_DRAWS, variance_window=s.cycle):
                report(record)
                if cancelled.is_set():
                    break
            state = _state_at(graph, model, sampler, batch_size, f"your trained model ({record['step']} steps)")
            return state, cancelled.is_set()

        def progress(record):
            if self._run_key != key or self._key() != key:
                return
            self._run.append(record)
            v = record.get("variance")
            extra = (f"; gradient variance {v['total']['mean']:.3g} ± {v['total']['se']:.2g} (stochastic "
                     f"{v['stochastic']['mean']:.3g}, embedding {v['embedding']['mean']:.3g})" if v else "")
            self._status.object = (f"Training **{SAMPLER_NAMES[sampler]}** on **{graph}**: step {record['step']} of "
                                   f"{steps}, validation F1 {record['val_f1']:.3f}{extra}")
            self._curves += 1

        def done(result, error):
            if self._key() != key:  # stopped by a change of setting: the page has moved on
                return
            if error is not None:
                self._error.append(error_message(error))
                return
            state, stopped = result
            self._live = {**state, "key": key}
            self._status.object += " — stopped." if stopped else " — done."
            self._version += 1

        self._status.object = f"Training **{SAMPLER_NAMES[sampler]}** on **{graph}** for {steps} mini-batches …"
        refused = self._buttons.start(f"gnn_sampling training {key}", work, on_progress=progress, on_done=done)
        if refused:
            self._status.object = refused

    # ---------- layout ----------
    def controls(self):
        w = pn.Param(self.param, parameters=["graph", "sampler"], show_name=False, sizing_mode="stretch_width")
        batch = pn.widgets.RadioButtonGroup.from_param(self.param.batch_size, name="Batch size")
        draw = pn.widgets.IntSlider.from_param(self.param.draw, name="Drawn batch", throttled=True)
        train = pn.Param(self.param, parameters=["steps", "seed"], show_name=False, sizing_mode="stretch_width",
                         widgets={"steps": {"type": pn.widgets.IntSlider, "throttled": True}})
        return pn.Column("### Setting", w, "Batch size", batch, draw, "### Train", train,
                         self._buttons.row(), sizing_mode="stretch_width")

    def main_view(self):
        # one of the four drawn at a time (opened when chosen): the page loads in under 1.5 s
        training = pn.Tabs(("Gradient variance: both parts", self._variance_pane),
                           ("Validation F1 against mini-batches", self._steps_pane),
                           ("… against seconds", self._seconds_pane),
                           ("Training loss against mini-batches", self._loss_pane), dynamic=True,
                           sizing_mode="stretch_width")
        return pn.Column(
            self._status, self._error,
            "## Which nodes a batch draws, and why", CAPTION, pn.Row(self._subgraph_pane, self._probability_pane),
            "## Over training: every sampler (shipped full run) and your Train", training,
            sizing_mode="stretch_width")


def _mvs_threshold(norms: np.ndarray, b: int) -> float:
    """``μ`` with ``Σ min(1, ḡ_i / μ) = b`` (for the rule's curve; see :mod:`workbench.gnn_sampling.mvs`)."""
    from workbench.gnn_sampling.mvs import mvs_probabilities

    g = torch.as_tensor(norms, dtype=torch.float64)
    p = mvs_probabilities(g, b)
    inside = (p < 1) & (p > 0)
    return float((g[inside] / p[inside]).mean()) if inside.any() else float(g.max())


RING = {"batch": 0, "hop 1": 1, "history": 1, "hop 2": 2}  # which ring of the picture a role is drawn on


def ring_layout(roles: list, edges: np.ndarray) -> np.ndarray:
    """``(k, 2)`` positions: the batch's output nodes evenly on an inner ring, what the last layer reads on a second
    ring, what only the layers below read on an outer ring; each node sits near the mean angle of the nodes it
    feeds, and each ring is spread evenly in that order (no overlaps; ``O(k log k)``, fast enough for a slider).
    ``roles``: :data:`~workbench.gnn_sampling.inspect.ROLES` per node; ``edges`` ``(e, 2)`` local (row, input)."""
    ring = np.array([RING[r] for r in roles], dtype=int)
    angle = np.zeros(len(roles))
    pos = np.zeros((len(roles), 2))
    for level in range(3):
        members = np.flatnonzero(ring == level)
        if not len(members):
            continue
        if level == 0:
            order = members
        else:  # the circular mean of the angles of the inner nodes each feeds (its rows)
            fed = edges[(ring[edges[:, 1]] == level) & (ring[edges[:, 0]] < level)] if len(edges) else edges
            sx, sy = np.zeros(len(roles)), np.zeros(len(roles))
            np.add.at(sx, fed[:, 1], np.cos(angle[fed[:, 0]]))
            np.add.at(sy, fed[:, 1], np.sin(angle[fed[:, 0]]))
            mean_angle = np.mod(np.arctan2(sy[members], sx[members]), 2 * np.pi)  # in [0, 2π), as the rings
            order = members[np.argsort(mean_angle, kind="stable")]
        angle[order] = 2 * np.pi * np.arange(len(order)) / len(order) + (0.5 * np.pi / len(order) if level else 0)
        radius = (0.35, 0.7, 1.0)[level]
        pos[order] = radius * np.stack([np.cos(angle[order]), np.sin(angle[order])], 1)
    return pos
