"""Dashboard "predictive distributions": pick a data set, an implicit prior and α; see the prior's function samples,
SIP's predictive density as a shaded 2-D picture (two modes show as two bands), the inducing inputs moving while a
Train streams, and the test scores of SIP against the exact GP, the SVGP and the VI BNN from the shipped full run
(``docs/results/implicit_processes.json``). Train fits SIP live on split 0, off the server's event loop."""

from __future__ import annotations

import functools
import json

import holoviews as hv
import numpy as np
import panel as pn
import param
import torch

from workbench.implicit_processes import datasets as D
from workbench.implicit_processes.assumed import AssumedOscillator
from workbench.implicit_processes.experiments import BIAS_METHODS, METHOD_NAMES, METHODS, density_grid
from workbench.implicit_processes.priors import make_prior
from workbench.implicit_processes.sip import N_INDUCING, SIP
from workbench.results_pages import DOCS
from workbench.ui import ExplorerBase, error_message, load_extensions
from workbench.ui.train_buttons import TrainButtons

__all__ = ["Explorer", "RESULTS_JSON", "shipped", "ONE_D"]

RESULTS_JSON = DOCS / "results" / "implicit_processes.json"
#: the data sets with one input, which the density picture can show
ONE_D = ("bimodal", "heteroscedastic", "oscillator", "engel")
PRIOR_NAMES = {"bnn": "BNN", "ns": "neural sampler", "gp": "GP (RBF)", "oscillator": "oscillator (physical model)"}
GRID = 80


def available() -> list[str]:
    """The 1-D data sets this machine has: the paper's two need their files (``workbench.data``, no download here:
    a page must not wait on the network; the server's warm-up downloads them when it can)."""
    from workbench import data

    if data.on_this_machine("sip"):
        return list(ONE_D)
    return [d for d in ONE_D if d not in ("bimodal", "heteroscedastic")]


@functools.lru_cache(maxsize=1)
def shipped() -> dict:
    """The shipped full run's data (``{}`` when absent)."""
    return json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.is_file() else {}


@functools.lru_cache(maxsize=8)
def _split0(dataset: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return D.split(D.load(dataset), 0)


def _shipped_density(dataset: str, method: str) -> dict | None:
    for d in shipped().get("densities", []):
        if d["dataset"] == dataset and d["method"] == method:
            return d
    return None


def _grid(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    x_tr, y_tr, _, _ = _split0(dataset)
    return density_grid(x_tr, y_tr, GRID)


class Explorer(ExplorerBase):
    """Sparse Implicit Processes (Santana, Zaldívar, Hernández-Lobato, ICML 2022)."""

    dataset = param.Selector(default="bimodal", objects=list(ONE_D), label="Data set",
                             doc="Data set (split 0, 90 % for training)")
    prior = param.Selector(default="ns", objects={v: k for k, v in PRIOR_NAMES.items()},
                           doc="Implicit prior of SIP")
    alpha = param.Number(default=1.0, bounds=(0.05, 1.0), step=0.05, label="α",
                         doc="α of the energy: → 0 is variational inference (mode-seeking), 1 covers every mode")
    epochs = param.Integer(default=150, bounds=(10, 600), step=10, doc="Epochs a Train runs (100 points a step)")
    seed = param.Integer(default=0, bounds=(0, 10_000), doc="Seed of the prior samples and of a Train")
    _frame = param.Integer(default=0, precedence=-1)  # a Train reported

    def __init__(self, **params):
        load_extensions()
        here = available()
        wanted = params.pop("dataset", self.param.dataset.default)
        self._missing = [d for d in ONE_D if d not in here]
        super().__init__(**params)
        self.param.dataset.objects = here  # this page's list (an instance parameter: the class keeps all four)
        self._buttons = TrainButtons()
        self._buttons.on_click(self._on_train)
        self._live: dict | None = None  # {"key", "density", "inducing", "prior", "energy": [...]}
        self._status = pn.pane.Markdown("")
        self._scores = pn.pane.Markdown("")
        self._error = pn.Column()
        streams = [hv.streams.Params(self, ["dataset", "prior", "alpha", "seed", "_frame"])]
        self._density_pane = pn.pane.HoloViews(hv.DynamicMap(self._density, streams=streams))
        self._prior_pane = pn.pane.HoloViews(hv.DynamicMap(self._prior_samples, streams=streams))
        self._energy_pane = pn.pane.HoloViews(hv.DynamicMap(self._energy, streams=streams))
        with param.parameterized.discard_events(self):
            self.dataset = wanted if wanted in here else here[0]
        self._describe()

    # ---------- what is shown ----------
    def _key(self) -> tuple:
        return (self.dataset, self.prior, round(float(self.alpha), 3), int(self.seed))

    def _live_now(self) -> dict | None:
        return self._live if self._live is not None and self._live["key"] == self._key() else None

    def _picture(self) -> tuple[dict | None, str]:
        """The density shown (a Train of this setting, else the shipped SIP run's) and where it comes from."""
        live = self._live_now()
        if live is not None and live["density"] is not None:
            return live["density"], f"your run, epoch {live['epoch']}"
        method = {"bnn": "sip_bnn", "ns": "sip_ns", "oscillator": "sip_oscillator"}.get(self.prior)
        d = _shipped_density(self.dataset, method) if method else None
        if d is None or abs(self.alpha - shipped().get("settings", {}).get("alpha", 1.0)) > 1e-9:
            return None, "not in the shipped run: press Train"
        return d, f"shipped full run ({METHOD_NAMES[method]}, α = {self.alpha:g}, split 0)"

    def _describe(self) -> None:
        if self.prior == "oscillator" and self.dataset != "oscillator":
            self._status.object = "The oscillator prior is the physical model of the *oscillator* data set."
        else:
            _, source = self._picture()
            self._status.object = (f"**SIP with a {PRIOR_NAMES[self.prior]} prior** on **{self.dataset}**, "
                                   f"α = {self.alpha:g}: {source}.")
        if self._missing:
            self._status.object += (f" (The paper's {' and '.join(self._missing)} sets are not on this machine: "
                                    "point WORKBENCH_DATA at a folder holding sip/, see `workbench data`.)")
        rows = [r for r in shipped().get("results", []) if r["dataset"] == self.dataset]
        if not rows:
            self._scores.object = "*No shipped full run in this checkout: Train fits SIP live.*"
            return
        order = list(METHODS + BIAS_METHODS)
        lines = ["| method | test NLL (↓) | RMSE | CRPS | splits |", "|---|---|---|---|---|"]
        best = min(r["test_nll_mean"] for r in rows)
        for r in sorted(rows, key=lambda r: order.index(r["method"])):
            nll = f"{r['test_nll_mean']:.3f} ± {r['test_nll_std']:.3f}"
            lines.append(f"| {METHOD_NAMES[r['method']]} | {'**' + nll + '**' if r['test_nll_mean'] == best else nll}"
                         f" | {r['test_rmse_mean']:.3f} | {r['test_crps_mean']:.3f} | {len(r['splits'])} |")
        self._scores.object = "\n".join(lines)

    @param.depends("dataset", "prior", "alpha", "seed", watch=True)
    def _settings_changed(self):
        """New settings: a Train of the old ones is stopped (its pictures belong to the setting it started with)."""
        self._buttons.abandon()
        self._error.clear()
        self._describe()

    # ---------- views (the same elements whatever is shown: figures are updated in place) ----------
    def _shown_points(self) -> tuple[np.ndarray, np.ndarray]:
        """Up to 600 training points of split 0 (what the pictures scatter)."""
        x_tr, y_tr, _, _ = _split0(self.dataset)
        keep = np.random.default_rng(0).permutation(len(y_tr))[:600]
        return x_tr[keep, 0], y_tr[keep]

    def _points(self) -> hv.Scatter:
        return hv.Scatter(self._shown_points(), "x", "y").opts(color="white", alpha=0.35, size=2)

    def _density(self, **_params):
        pic, source = self._picture()
        xs, ys = _grid(self.dataset)
        if pic is not None:  # the shipped grids are rounded to 4 decimals: the even grids they came from again
            xs, ys = (np.linspace(pic[k][0], pic[k][-1], len(pic[k])) for k in ("x", "y"))
            dens = np.asarray(pic["density"])
        else:
            dens = np.zeros((len(ys), len(xs)))
        dx, dy = (xs[1] - xs[0]) / 2, (ys[1] - ys[0]) / 2
        image = hv.Image((xs, ys, dens), ["x", "y"], "density",
                         bounds=(xs[0] - dx, ys[0] - dy, xs[-1] + dx, ys[-1] + dy)).opts(
            cmap="viridis", colorbar=True, tools=["hover"])
        z = np.asarray(pic.get("inducing", []) if pic is not None else [], dtype=float)
        inducing = hv.Scatter((z, np.full(len(z), ys[0] + 2 * dy)), "x", "y", label="inducing inputs").opts(
            color="red", marker="triangle", size=8)
        return hv.Overlay([image, self._points(), inducing]).opts(
            title=f"predictive density p(y | x) — {source}", width=860, height=420, framewise=True,
            legend_position="top_right", xlim=(xs[0], xs[-1]), ylim=(ys[0], ys[-1]))

    def _prior_samples(self, **_params):
        """Function samples of the prior: as trained (your run) or freshly initialised."""
        xs, _ = _grid(self.dataset)
        x_tr, y_tr, _, _ = _split0(self.dataset)
        live = self._live_now()
        curves = []
        if live is not None and live.get("prior") is not None:
            samples, label = live["prior"], "tuned by your run"
        elif self.prior == "oscillator" and self.dataset != "oscillator":
            samples, label = np.zeros((0, len(xs))), "n/a"
        else:
            gen = torch.Generator().manual_seed(int(self.seed))
            p = make_prior(self.prior, 1, gen)
            p.eval()
            xm, xsd = x_tr.mean(), x_tr.std()
            with torch.no_grad():
                f = p.sample(torch.tensor((xs - xm) / xsd, dtype=torch.float32)[:, None], 12, gen).numpy()
            samples, label = f * y_tr.std() + y_tr.mean(), "at initialisation (standardised data, then rescaled)"
        for s in samples[:12]:
            curves.append(hv.Curve((xs, s), "x", "f(x)").opts(alpha=0.8, line_width=1.5))
        scatter = hv.Scatter(self._shown_points(), "x", "f(x)").opts(color="black", alpha=0.25, size=2)
        return hv.Overlay([scatter, *curves] if curves else [scatter]).opts(
            title=f"prior function samples — {label}", width=860, height=320, framewise=True)

    def _energy(self, **_params):
        live = self._live_now()
        pts = [(r["epoch"], r["energy"]) for r in (live["records"] if live else [])]
        return hv.Curve(pts, "epoch", "α-energy per point (standardised)").opts(
            width=860, height=260, framewise=True, color="#d62728", line_width=2,
            title="training: the data term over epochs (your run)")

    # ---------- training (in the server's job pool; progress comes back to the page) ----------
    def _on_train(self):
        if self._buttons.running:
            return
        self._error.clear()
        if self.prior == "oscillator" and self.dataset != "oscillator":
            self._status.object = "Choose the oscillator data set for the oscillator prior."
            return
        key = self._key()
        dataset, prior, alpha, seed = key
        epochs = int(self.epochs)
        self._live = {"key": key, "density": None, "records": [], "epoch": 0, "prior": None}
        every = max(1, epochs // 15)

        def work(report, cancelled):
            x_tr, y_tr, _, _ = _split0(dataset)
            if prior == "oscillator":  # the assumed physical model, fitted exactly, as the prior
                model = SIP(prior=AssumedOscillator().fit(x_tr, y_tr).as_prior(x_tr, y_tr), alpha=alpha,
                            epochs=epochs, seed=seed)
            else:
                model = SIP(prior=prior, alpha=alpha, epochs=epochs, n_inducing=N_INDUCING.get(prior, 50),
                            seed=seed)
            xs, ys = _grid(dataset)
            for record in model.iter_fit(x_tr, y_tr):
                frame = {"record": {k: record[k] for k in ("epoch", "energy", "kl", "noise_std")},
                         "inducing": record["inducing"][:, 0].tolist()}
                if record["epoch"] % every == 0 or record["epoch"] == epochs or cancelled.is_set():
                    frame["density"] = model.predict(xs[:, None], n_samples=200, seed=seed).density_grid(ys).numpy()
                    frame["prior"] = model.prior_samples(xs[:, None], 12, seed=seed)
                report(frame)
                if cancelled.is_set():
                    break
            return cancelled.is_set()

        def progress(frame):
            live = self._live
            if live is None or live["key"] != key or self._key() != key:
                return
            r = frame["record"]
            live["records"].append(r)
            live["epoch"] = r["epoch"]
            if "density" in frame:
                xs, ys = _grid(dataset)
                live["density"] = {"x": xs, "y": ys, "density": frame["density"], "inducing": frame["inducing"]}
                live["prior"] = frame["prior"]
            elif live["density"] is not None:
                live["density"]["inducing"] = frame["inducing"]
            self._status.object = (f"Training SIP ({PRIOR_NAMES[prior]} prior, α = {alpha:g}) on **{dataset}**: "
                                   f"epoch {r['epoch']}/{epochs}, energy {r['energy']:.3f}, KL {r['kl']:.2f}, "
                                   f"noise σ {r['noise_std']:.3f}")
            self._frame += 1

        def done(stopped, error):
            if self._key() != key:
                return
            if error is not None:
                self._error.append(error_message(error))
                return
            self._status.object += " — stopped." if stopped else " — done."

        self._status.object = f"Training SIP on **{dataset}** for {epochs} epochs …"
        refused = self._buttons.start(f"implicit_processes training {key}", work, on_progress=progress,
                                      on_done=done)
        if refused:
            self._status.object = refused

    # ---------- layout ----------
    def controls(self):
        setting = pn.Param(self.param, parameters=["dataset", "prior", "alpha"], show_name=False,
                           sizing_mode="stretch_width",
                           widgets={"alpha": {"type": pn.widgets.FloatSlider, "throttled": True}})
        train = pn.Param(self.param, parameters=["epochs", "seed"], show_name=False, sizing_mode="stretch_width",
                         widgets={"epochs": {"type": pn.widgets.IntSlider, "throttled": True}})
        return pn.Column("### Setting", setting, "### Train", train, self._buttons.row(), sizing_mode="stretch_width")

    def main_view(self):
        return pn.Column(
            self._status, self._error,
            "## The predictive distribution",
            "SIP's predictive is a mixture over samples of q(u): where the data have two branches it can put a band "
            "on each. A GP's predictive is one Gaussian per x: one band, as wide as both branches.",
            self._density_pane,
            pn.Tabs(("Prior function samples", self._prior_pane), ("Training", self._energy_pane),
                    dynamic=True, sizing_mode="stretch_width"),
            "### Test scores on this data set (shipped full run: mean ± std over splits)",
            self._scores, sizing_mode="stretch_width")
