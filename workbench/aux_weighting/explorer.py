"""Dashboard "which auxiliary task helps": choose a graph, the labels per class (Planetoid's 20 or the full run's
few-label setting), a weighting method and which auxiliary tasks take part;
see each task's weight over training (the mean over its examples, and their spread), each task's gradient cosine
with the target's, and every method's validation accuracy over training, from the shipped full run
(``docs/results/aux_weighting.json``). Dropping a task shows the meta-learned weights of the run without it (shipped
for one task left out; Train computes any other choice live, off the server's event loop)."""

from __future__ import annotations

import functools
import json
from dataclasses import replace

import holoviews as hv
import panel as pn
import param

from workbench.aux_weighting.experiments import FULL, METHOD_NAMES, load_graph
from workbench.aux_weighting.tasks import AUXILIARY, TASKS
from workbench.aux_weighting.training import METHODS, iter_train
from workbench.results_pages import DOCS
from workbench.ui import ExplorerBase, error_message, load_extensions
from workbench.ui.train_buttons import TrainButtons

__all__ = ["Explorer", "RESULTS_JSON", "shipped", "shipped_row", "TASK_COLORS", "METHOD_COLORS"]

RESULTS_JSON = DOCS / "results" / "aux_weighting.json"
TASK_COLORS = {"target": "black", "link": "#1f77b4", "attribute": "#2ca02c", "degree": "#ff7f0e",
               "random_labels": "#d62728"}
METHOD_COLORS = {"target_only": "black", "equal": "#7f7f7f", "finetune": "#9467bd", "cosine": "#1f77b4",
                 "uncertainty": "#8c564b", "meta": "#d62728"}
TASK_NAMES = {"target": "target (node classes)", "link": "link prediction", "attribute": "masked attributes",
              "degree": "degree", "random_labels": "random labels (harmful)"}


@functools.lru_cache(maxsize=1)
def shipped() -> dict:
    """The shipped full run's data (``{}`` when absent)."""
    return json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.is_file() else {}


def shipped_row(graph: str, method: str, tasks: tuple[str, ...], labels_per_class: int | None = None) -> dict | None:
    """The shipped row of ``method`` on ``graph`` trained with the auxiliary ``tasks`` (every task, or ``meta``
    with one left out) and ``labels_per_class`` labelled nodes per class (None: Planetoid's split), or None."""
    data = shipped()
    for r in data.get("results", []) + data.get("dropped", []):
        if (r["graph"] == graph and r["method"] == method and tuple(r["tasks"]) == tuple(tasks)
                and r.get("labels_per_class") == labels_per_class):
            return r
    return None


#: the page's label settings, as the runs record them: Planetoid's split (20 per class: None) and the full run's
#: few-label setting
LABELS = {"20 per class (Planetoid's split)": None, f"{FULL.few_labels} per class": FULL.few_labels}


class Explorer(ExplorerBase):
    """Meta-learned weights for auxiliary tasks (AUX-TS; Han, Huang, An, Bai, KDD 2021)."""

    graph = param.Selector(default="cora", objects=["cora", "citeseer"], doc="Graph")
    labels = param.Selector(default=None, objects=LABELS, label="Labelled training nodes",
                            doc="Planetoid's 20 per class, or the full run's few-label setting")
    method = param.Selector(default="meta", objects={v: k for k, v in METHOD_NAMES.items()},
                            doc="Weighting whose weights and cosines are shown (and trained)")
    tasks = param.ListSelector(default=list(AUXILIARY), objects=list(AUXILIARY),
                               doc="Auxiliary tasks that take part")
    epochs = param.Integer(default=200, bounds=(20, 400), step=20, doc="Epochs a Train runs")
    seed = param.Integer(default=0, bounds=(0, 10_000), doc="Seed of a Train")
    _curves = param.Integer(default=0, precedence=-1)  # a Train reported

    def __init__(self, **params):
        load_extensions()
        super().__init__(**params)
        self._buttons = TrainButtons()
        self._buttons.on_click(self._on_train)
        self._run: list[dict] = []
        self._run_key = None
        self._status = pn.pane.Markdown("")
        self._summary = pn.pane.Markdown("")
        self._error = pn.Column()
        streams = [hv.streams.Params(self, ["graph", "labels", "method", "tasks", "_curves"])]
        self._weights_pane = pn.pane.HoloViews(hv.DynamicMap(self._weights, streams=streams))
        self._cosines_pane = pn.pane.HoloViews(hv.DynamicMap(self._cosines, streams=streams))
        self._accuracy_pane = pn.pane.HoloViews(hv.DynamicMap(self._accuracy, streams=streams))
        self._describe()

    # ---------- what is shown ----------
    def _key(self) -> tuple:
        """``(graph, labels_per_class, method, kept tasks, seed)``; ``labels_per_class`` None for Planetoid's
        split."""
        return (self.graph, self.labels, self.method, tuple(t for t in AUXILIARY if t in self.tasks), int(self.seed))

    def _live_run(self) -> list[dict]:
        """The records of the last Train if it trained the setting shown (any seed), else none."""
        same = self._run_key is not None and self._run_key[:4] == self._key()[:4]
        return self._run if same else []

    def _records(self) -> tuple[list[dict], str]:
        """The records the weight and cosine views draw (a Train of this setting, else the shipped row's means
        over seeds) and where they come from."""
        graph, labels, method, kept, _seed = self._key()
        if self._live_run():
            return self._run, "your run"
        row = shipped_row(graph, method, kept, labels) if kept else None
        if row is None:
            return [], "not in the shipped run: press Train"
        return row["along"], f"shipped run, mean over {len(row['seeds'])} seeds"

    def _describe(self) -> None:
        graph, labels, method, kept, _ = self._key()
        data = shipped()
        if not kept:
            self._status.object = "Choose at least one auxiliary task."
        else:
            _, source = self._records()
            dropped = [t for t in AUXILIARY if t not in kept]
            setting = "Planetoid's split" if labels is None else f"{labels} labels per class"
            self._status.object = (f"**{METHOD_NAMES[method]}** on **{graph}** ({setting}) with "
                                   f"{', '.join(TASK_NAMES[t] for t in kept)}"
                                   + (f" (left out: {', '.join(dropped)})" if dropped else "") + f": {source}.")
        rows = [r for r in data.get("results", []) if r["graph"] == graph and r.get("labels_per_class") == labels]
        if not rows:
            self._summary.object = "*No shipped full run in this checkout: Train measures a method live.*"
            return
        lines = ["| method | test accuracy (%) | seeds |", "|---|---|---|"]
        for r in sorted(rows, key=lambda r: METHODS.index(r["method"])):
            se = r.get("test_accuracy_se")
            lines.append(f"| {METHOD_NAMES[r['method']]} | {100 * r['test_accuracy_mean']:.1f}"
                         + (f" ± {100 * se:.1f}" if se else "") + f" | {len(r['seeds'])} |")
        self._summary.object = "\n".join(lines)

    @param.depends("graph", "labels", "method", "tasks", "seed", watch=True)
    def _settings_changed(self):
        """New settings: a Train of the old ones is stopped (its curves belong to the setting it started with)."""
        self._buttons.abandon()
        self._error.clear()
        self._describe()

    # ---------- views (the same elements whatever is shown: figures are updated in place) ----------
    def _weights(self, **_params):
        records, source = self._records()
        layers = []
        for t in TASKS:
            pts = [(r["epoch"], r["weights"][t][0], r["weights"][t][1]) for r in records if t in r["weights"]]
            layers.append(hv.Spread(pts, "epoch", ["weight", "spread"]).opts(color=TASK_COLORS[t], alpha=0.15))
            layers.append(hv.Curve([p[:2] for p in pts], "epoch", "weight", label=TASK_NAMES[t]).opts(
                color=TASK_COLORS[t], line_width=3 if t == "random_labels" else 2, tools=["hover"]))
        top = max([1.0] + [r["weights"][t][0] + r["weights"][t][1] for r in records for t in r["weights"]])
        return hv.Overlay(layers).opts(
            title=f"each task's weight (band: ± spread over its examples) — {source}", width=860, height=380,
            framewise=True, legend_position="right", ylim=(-0.05, 1.05 * top))

    def _cosines(self, **_params):
        records, source = self._records()
        layers = [hv.HLine(0).opts(color="grey", line_dash="dotted")]
        for t in AUXILIARY:
            pts = [(r["epoch"], r["cosines"][t]) for r in records if t in r["cosines"]]
            layers.append(hv.Curve(pts, "epoch", "cos(∇ task, ∇ target)", label=TASK_NAMES[t]).opts(
                color=TASK_COLORS[t], line_width=2, tools=["hover"]))
        return hv.Overlay(layers).opts(
            title=f"gradient cosine with the target's (shared parameters) — {source}", width=860, height=360,
            framewise=True, legend_position="right", ylim=(-1.05, 1.05))

    def _accuracy(self, **_params):
        graph, labels, method, _kept, _seed = self._key()
        layers = []
        for m in METHODS:
            row = shipped_row(graph, m, tuple(AUXILIARY), labels)
            pts = [(r["epoch"], r["val_accuracy"]) for r in (row["along"] if row else [])]
            layers.append(hv.Curve(pts, "epoch", "validation accuracy", label=METHOD_NAMES[m]).opts(
                color=METHOD_COLORS[m], line_width=4 if m == method else 1.5, tools=["hover"]))
        live = self._live_run()
        layers.append(hv.Curve([(r["epoch"], r["val_accuracy"]) for r in live], "epoch", "validation accuracy",
                               label="your run").opts(color="black", line_dash="dashed", line_width=3))
        return hv.Overlay(layers).opts(
            title="validation accuracy over training, every method with every task (bold: chosen)",
            width=860, height=360, framewise=True, legend_position="right", ylim=(0, 1))

    # ---------- training (in the server's job pool; each evaluation comes back to the page) ----------
    def _on_train(self):
        if self._buttons.running:
            return
        self._error.clear()
        key = self._key()
        graph, labels, method, kept, seed = key
        if not kept:
            self._status.object = "Choose at least one auxiliary task to train with."
            return
        epochs = int(self.epochs)
        config = replace(FULL.config(), epochs=epochs, pretrain_epochs=epochs // 2, eval_every=max(1, epochs // 40))
        self._run, self._run_key = [], key

        def work(report, cancelled):
            g = load_graph(graph, labels, seed if labels is not None else 0)  # as the full run draws them
            for record in iter_train(g, method, kept, config, seed=seed):
                report(record)
                if cancelled.is_set():
                    break
            return cancelled.is_set()

        def progress(record):
            if self._run_key != key or self._key() != key:
                return
            self._run.append(record)
            w = ", ".join(f"{t} {record['weights'][t][0]:.2f}" for t in kept)
            self._status.object = (f"Training **{METHOD_NAMES[method]}** on **{graph}**: epoch {record['epoch']}, "
                                   f"validation accuracy {record['val_accuracy']:.3f}, test at the best validation "
                                   f"{record['test_at_best_val']:.3f}; weights: {w}")
            self._curves += 1

        def done(stopped, error):
            if self._key() != key:  # stopped by a change of setting: the page has moved on
                return
            if error is not None:
                self._error.append(error_message(error))
                return
            self._status.object += " — stopped." if stopped else " — done."

        self._status.object = f"Training **{METHOD_NAMES[method]}** on **{graph}** for {epochs} epochs …"
        refused = self._buttons.start(f"aux_weighting training {key}", work, on_progress=progress, on_done=done)
        if refused:
            self._status.object = refused

    # ---------- layout ----------
    def controls(self):
        setting = pn.Param(self.param, parameters=["graph", "labels", "method"], show_name=False,
                           sizing_mode="stretch_width")
        tasks = pn.widgets.CheckBoxGroup.from_param(self.param.tasks, name="Auxiliary tasks", inline=False)
        train = pn.Param(self.param, parameters=["epochs", "seed"], show_name=False, sizing_mode="stretch_width",
                         widgets={"epochs": {"type": pn.widgets.IntSlider, "throttled": True}})
        return pn.Column("### Setting", setting, "Auxiliary tasks (untick one to drop it)", tasks, "### Train",
                         train, self._buttons.row(), sizing_mode="stretch_width")

    def main_view(self):
        over_training = pn.Tabs(("Gradient cosines", self._cosines_pane),
                                ("Validation accuracy, every method", self._accuracy_pane),
                                dynamic=True, sizing_mode="stretch_width")
        return pn.Column(
            self._status, self._error,
            "## How much each task counts",
            "A meta-learned weight falls for a task whose gradient steps hurt the target on held-out nodes: random "
            "labels (label noise) should end lowest. Untick a task to see the others re-balance.",
            self._weights_pane,
            "## Why: each task's gradient against the target's, and what each weighting gives", over_training,
            "### Test accuracy (shipped run: at the epoch of best validation accuracy, mean ± s.e. over seeds)",
            self._summary, sizing_mode="stretch_width")
