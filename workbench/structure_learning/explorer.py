"""Dashboard "inspect learned graphs": learn a graph with LDS and look at it, what changed against the
starting graph, how homophilous it is, and which neighbours a node got, while theta evolves."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn
import param
import torch

from workbench.structure_learning.datasets import load_planetoid, load_table
from workbench.structure_learning.inspect_graph import edge_changes, homophily, layout, neighbours, top_edges
from workbench.structure_learning.lds import LDS, knn_graph
from workbench.structure_learning.sampler import symmetric
from workbench.ui import ExplorerBase, error_message, guarded, load_extensions
from workbench.ui.jobs import jobs
from workbench.ui.train_buttons import TrainButtons
from workbench.ui.memo import memo

__all__ = ["Explorer", "DATASETS"]

DATASETS = ["wine", "cancer", "digits", "cora", "citeseer"]
MAX_EDGES = 1500  # edges sent to the browser at most (never N^2)
KIND_COLORS = {"kept": "#7f7f7f", "added": "#2ca02c", "removed": "#d62728"}
QUICK = dict(max_inner_steps=200, max_outer=12, patience=5)  # the page's default schedule


TABLES = ("wine", "cancer", "digits")
FITTED = ("wine", "cancer")  # small enough to show a learned graph before any Train


@memo(max_items=4)  # bounded: Cora's and Citeseer's dense N x N graphs are 30-45 MB each
def _load(dataset: str, seed: int):
    return load_table(dataset, seed) if dataset in TABLES else load_planetoid(dataset)


def _data_seed(dataset: str, seed: int) -> int:
    return seed if dataset in TABLES else 0  # Planetoid's split is the same for every seed: cached once


def _data(dataset: str, seed: int):
    """The data set and its split for ``seed``."""
    return _load(dataset, _data_seed(dataset, seed))


def _prepared(dataset: str, k: int, tau: int, seed: int) -> bool:
    """Whether everything the page shows for these settings is cached (else it is loaded off the event loop)."""
    return (_load.cached(dataset, _data_seed(dataset, seed)) and _start_graph.cached(dataset, k, seed)
            and _layout.cached(dataset, k, seed)
            and (dataset not in FITTED or default_fit.cached(dataset, k, tau, seed)))


def _prepare(dataset: str, k: int, tau: int, seed: int) -> None:
    """Load and compute what the page shows for these settings (seconds for Cora and Citeseer: their layout; for
    Wine and Breast Cancer, the short LDS fit shown before any Train)."""
    _layout(dataset, k, seed)  # loads the data and the starting graph on the way
    if dataset in FITTED:
        default_fit(dataset, k, tau, seed)


@memo(max_items=8)
def _start_graph(dataset: str, k: int, seed: int) -> torch.Tensor:
    d = _data(dataset, seed)
    g = torch.as_tensor(d.graph) if d.graph is not None else knn_graph(d.X, k)
    return ((g + g.T) > 0).float()


@memo(max_items=8)
def _layout(dataset: str, k: int, seed: int) -> np.ndarray:
    return layout(_data(dataset, seed).X, _start_graph(dataset, k, seed), seed)


@memo(max_items=4)
def default_fit(dataset: str = "wine", k: int = 20, tau: int = 5, seed: int = 0) -> torch.Tensor:
    """Edge probabilities learned with the page's short schedule (cached; the app computes it at start)."""
    d = _data(dataset, seed)
    graph = d.graph if d.graph is not None else None
    return LDS(k=k, tau=tau, seed=seed, **QUICK).fit(d.X, d.y, d.train_idx, d.val_idx, graph=graph).edge_probs_


class Explorer(ExplorerBase):
    """Inspect graphs learned by LDS (Franceschi et al., ICML 2019)."""

    dataset = param.Selector(default="wine", objects=DATASETS,
                             doc="Data set (Cora/Citeseer start from their citation graph)")
    k = param.Integer(default=20, bounds=(2, 50), doc="Neighbours of the starting kNN graph")
    tau = param.Integer(default=5, bounds=(1, 20), doc="Inner steps per hypergradient (truncation)")
    threshold = param.Number(default=0.5, bounds=(0.05, 0.95), step=0.05,
                             doc="Probability above which an edge counts as present")
    show = param.ListSelector(default=["kept", "added", "removed"], objects=["kept", "added", "removed"],
                              doc="Edges drawn, relative to the starting graph")
    node = param.Integer(default=0, bounds=(0, None), doc="Node whose neighbours are listed (or click a node)")
    seed = param.Integer(default=0, bounds=(0, 10_000), doc="Seed of the split, the GCN and the samples")

    def __init__(self, **params):
        load_extensions()
        super().__init__(**params)
        self._probs: torch.Tensor | None = None
        self._learned_for: tuple | None = None
        self._history: list[dict] = []
        self._buttons = TrainButtons()  # the running training (workbench.ui.jobs), if any
        self._buttons.on_click(self._on_train)
        self._status = pn.pane.Markdown("")
        self._error = pn.Column()
        self._ready: tuple | None = None  # the settings whose data and graphs the views show
        self._prepare_job = self._prepare_token = None
        self._request_data()
        self._rows_key = None
        graph = hv.DynamicMap(self._graph_plot, streams=[hv.streams.Params(
            self, ["dataset", "k", "seed", "threshold", "show", "_trigger"])])
        self._graph_pane = pn.pane.HoloViews(graph, sizing_mode="fixed")
        self._tap = hv.streams.Tap(source=graph, x=None, y=None)
        self._tap.add_subscriber(self._on_tap)

    # ---------- state ----------
    def _key(self):
        return (self.dataset, self.k, self.tau, self.seed)

    def _request_data(self) -> None:
        """Show the current settings' data: at once when cached, else loaded in the job pool (off the event loop:
        Cora's and Citeseer's layouts and the Wine/Cancer default fits take seconds) while the page says so."""
        if self._prepare_job is not None:
            self._prepare_job.cancel()
        self._prepare_job = self._prepare_token = None
        key = self._key()
        if _prepared(*key):
            self._ready = key
            self._load_default()
            return
        self._ready, self._probs, self._history = None, None, []
        self._status.object = f"Loading **{self.dataset}** …"
        self._buttons.train.disabled = True
        token = self._prepare_token = object()

        def done(_result, error):
            if self._prepare_token is not token or self._key() != key:  # superseded by newer settings
                return
            self._prepare_job = self._prepare_token = None
            if error is not None:
                self._status.object = f"Could not load **{key[0]}**."
                self._error.append(error_message(error))
                return
            self._ready = key
            self._load_default()
            self._buttons.train.disabled = self._buttons.running
            self._trigger += 1

        self._prepare_job = jobs().load(f"LDS page data {key}", lambda _cancelled: _prepare(*key), done)

    def _is_ready(self) -> bool:
        return self._ready == self._key()

    def _loading(self):
        return pn.pane.Markdown(f"*Loading {self.dataset} …*")

    def _load_default(self):
        if self.dataset in FITTED:
            self._probs = default_fit(self.dataset, self.k, self.tau, self.seed)
            self._status.object = (f"Showing kNN-LDS learned on **{self.dataset}** (short schedule). "
                                   "Press **Train** to watch it learn.")
        else:
            self._probs = None
            self._status.object = (f"Showing the starting graph of **{self.dataset}**. "
                                   "Press **Train** to learn (slow: O(N²) per step).")
        self._learned_for = self._key()
        self._history = []

    @param.depends("dataset", "k", "tau", "seed", watch=True)
    def _settings_changed(self):
        """New settings: a training of the old ones is cancelled (its results are keyed to the settings it was
        started with and are no longer shown), and the page shows the new settings' graph."""
        self._buttons.abandon()
        self._error.clear()
        try:
            self._request_data()
        except Exception as exc:  # noqa: BLE001 - shown, not raised
            self._error.append(error_message(exc))

    def _current(self) -> torch.Tensor:
        start = _start_graph(self.dataset, self.k, self.seed)
        return self._probs if self._probs is not None else start

    # ---------- views ----------
    def _graph_rows(self):
        """The edges drawn (``(i, j, p, kind)``, at most ``MAX_EDGES`` per kind) and the count of each kind, computed
        once per setting (the figure and the text above it both read them)."""
        key = (self.dataset, self.k, self.seed, self.threshold, tuple(self.show), self._trigger, id(self._probs))
        if self._rows_key != key:
            self._rows_value, self._rows_key = self._compute_graph_rows(), key
        return self._rows_value

    def _compute_graph_rows(self):
        start = _start_graph(self.dataset, self.k, self.seed)
        probs = self._current()
        changes = edge_changes(start, probs, self.threshold)
        edges = top_edges(torch.where(changes["kept"] | changes["added"], probs, torch.zeros(())), MAX_EDGES,
                          self.threshold)
        rows = [(int(i), int(j), float(p), "added" if start[int(i), int(j)] == 0 else "kept") for i, j, p in edges]
        removed = changes["removed"].nonzero()[:MAX_EDGES]
        rows += [(int(i), int(j), float(probs[i, j]), "removed") for i, j in removed]
        return [r for r in rows if r[3] in self.show], {k: int(v.sum()) for k, v in changes.items()}

    def _graph_plot(self, **_params):
        """The graph as HoloViews elements; a DynamicMap re-runs this on every change of its parameters and sends
        only the new data to the page (the figure stays), which keeps the threshold slider fast."""
        try:
            if not self._is_ready():
                raise LookupError("still loading")  # the status above says so
            d = _data(self.dataset, self.seed)
            pos = _layout(self.dataset, self.k, self.seed)
            rows, _ = self._graph_rows()
        except Exception:  # noqa: BLE001 - the text above the figure says why
            d, pos, rows = None, np.zeros((0, 2)), []
        src = np.array([r[0] for r in rows], dtype=int)
        dst = np.array([r[1] for r in rows], dtype=int)
        segs = hv.Segments(
            (pos[src, 0], pos[src, 1], pos[dst, 0], pos[dst, 1], np.array([max(r[2], 0.15) for r in rows]),
             np.array([r[3] for r in rows], dtype=str)), kdims=["x0", "y0", "x1", "y1"], vdims=["p", "kind"],
        ).opts(color="kind", cmap=KIND_COLORS, alpha="p", line_width=1)
        labels = d.y.astype(str) if d is not None else np.zeros(0, dtype=str)
        points = hv.Points((pos[:, 0], pos[:, 1], np.arange(len(pos)), labels), vdims=["node", "class"]).opts(
            color="class", cmap="Category10", size=7, tools=["hover", "tap"], line_color="white")
        return (segs * points).opts(width=620, height=520, xaxis=None, yaxis=None, show_legend=False, framewise=True,
                                    title=f"{self.dataset}: {len(rows):,} edges drawn")

    @param.depends("dataset", "k", "seed", "threshold", "show", "_trigger")
    @guarded
    def graph_text(self):
        if not self._is_ready():
            return self._loading()
        _, n = self._graph_rows()
        return pn.pane.Markdown(
            f"Edges with p ≥ {self.threshold:.2f} vs the starting graph: **kept {n['kept']:,}**, **added "
            f"{n['added']:,}**, **removed {n['removed']:,}** (grey / green / red; at most {MAX_EDGES:,} per kind "
            "drawn). Colours: classes. Click a node to list its neighbours.", sizing_mode="stretch_width")

    def graph_view(self):
        return pn.Column(self.graph_text, self._graph_pane)

    _trigger = param.Integer(default=0, precedence=-1)

    @param.depends("dataset", "k", "seed", "_trigger")
    @guarded
    def histogram_view(self):
        if not self._is_ready():
            return self._loading()
        probs = self._current().triu(1)
        vals = probs[probs > 0.01].numpy()
        edges = np.linspace(0, 1, 41)
        freq, _ = np.histogram(vals, bins=edges)
        return pn.pane.HoloViews(hv.Histogram((edges, freq)).opts(
            width=420, height=260, xlabel="edge probability", ylabel="pairs (p > 0.01)", color="#2f6f4f",
            title="edge probabilities"))

    @param.depends("dataset", "k", "seed", "threshold", "_trigger")
    @guarded
    def homophily_view(self):
        if not self._is_ready():
            return self._loading()
        d = _data(self.dataset, self.seed)
        start = _start_graph(self.dataset, self.k, self.seed)
        probs = self._current()
        rows = [("starting graph", homophily(start, d.y)), ("learned, expected (weights p)", homophily(probs, d.y)),
                (f"learned, p ≥ {self.threshold:.2f}", homophily((probs >= self.threshold).float(), d.y))]
        table = "| graph | homophily |\n|---|---|\n" + "\n".join(f"| {a} | {b:.3f} |" for a, b in rows)
        return pn.pane.Markdown("Share of edge weight joining nodes of the same class:\n\n" + table)

    @param.depends("dataset", "k", "seed", "node", "_trigger")
    @guarded
    def neighbours_view(self):
        if not self._is_ready():
            return self._loading()
        d = _data(self.dataset, self.seed)
        start = _start_graph(self.dataset, self.k, self.seed)
        rows = neighbours(self._current(), self.node, top=12)
        lines = [f"| {j} | {d.y[j]} | {p:.3f} | {'yes' if start[self.node, j] > 0 else 'no'} |" for j, p in rows]
        return pn.pane.Markdown(
            f"**Node {self.node}** (class {d.y[self.node]}): most probable neighbours\n\n"
            "| node | class | probability | in starting graph |\n|---|---|---|---|\n" + "\n".join(lines))

    def _on_tap(self, x=None, y=None):
        if x is None or y is None or not self._is_ready():
            return
        pos = _layout(self.dataset, self.k, self.seed)
        self.node = int(np.argmin((pos[:, 0] - x) ** 2 + (pos[:, 1] - y) ** 2))

    @param.depends("_trigger")
    def curve_view(self):
        if not self._history:
            return pn.pane.Markdown("*Training curves appear here while LDS trains.*")
        acc = hv.Curve([(r["outer"], r["es_accuracy"]) for r in self._history], "outer iteration",
                       "early-stopping accuracy").opts(width=420, height=240, title="ES accuracy")
        edges = hv.Curve([(r["outer"], r["expected_edges"]) for r in self._history], "outer iteration",
                         "expected edges").opts(width=420, height=240, title="Σθ (expected edges)", color="#d62728")
        return pn.pane.HoloViews((acc + edges).cols(2))

    # ---------- training (in the server's job pool; each outer iteration's theta comes back to the page) ----------
    def _on_train(self):
        if self._buttons.running or not self._is_ready():
            return
        self._error.clear()
        key = self._key()  # the settings this run belongs to
        dataset, k, tau, seed = key
        self._history = []

        def work(report, cancelled):
            d = _data(dataset, seed)
            learner = LDS(k=k, tau=tau, seed=seed, **QUICK)

            def outer(record: dict):
                theta = record.pop("theta")
                report((record, symmetric(theta)))

            learner.fit(d.X, d.y, d.train_idx, d.val_idx, graph=d.graph, on_outer=outer, should_stop=cancelled.is_set)
            return "stopped" if cancelled.is_set() else "done", learner.edge_probs_

        def progress(item):
            if self._key() != key:  # the settings changed since: this run is not shown any more
                return
            record, probs = item
            self._history.append(record)
            self._probs = probs
            self._status.object = (f"**{dataset}** outer iteration {record.get('outer', 0) + 1}: ES accuracy "
                                   f"{100 * record.get('es_accuracy', 0):.1f} %, expected edges "
                                   f"{record.get('expected_edges', 0):,.0f}")
            self._trigger += 1

        def done(result, error):
            if self._key() != key:
                return
            if error is not None:
                self._error.append(error_message(error))
                return
            how, probs = result
            self._probs = probs
            self._status.object += " — done" + (" (stopped)" if how == "stopped" else "")
            self._trigger += 1

        self._status.object = f"Training LDS on **{dataset}** (k={k}, τ={tau}) …"
        refused = self._buttons.start(f"LDS training on {dataset}", work, on_progress=progress, on_done=done)
        if refused:
            self._status.object = refused

    # ---------- layout ----------
    def controls(self):
        w = pn.Param(self.param, parameters=["dataset", "k", "tau", "threshold", "show", "node", "seed"],
                     widgets={"threshold": {"type": pn.widgets.FloatSlider, "throttled": True},
                              "show": pn.widgets.CheckButtonGroup,
                              "k": {"type": pn.widgets.IntSlider, "throttled": True}},
                     show_name=False, sizing_mode="stretch_width")
        return pn.Column("### Graph", w, self._buttons.row(), sizing_mode="stretch_width")

    def main_view(self):
        return pn.Column(self._status, self._error, "## Learned graph", self.graph_view(),
                         pn.Row(pn.Column("## Homophily", self.homophily_view, "## Neighbours", self.neighbours_view),
                                pn.Column("## Edge probabilities", self.histogram_view)),
                         "## Training", self.curve_view, sizing_mode="stretch_width")
