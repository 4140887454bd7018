"""Dashboard "reconstructions and derivative maps": pick an image, a network, λ and the derivative filter; see the
image's centred crop, the pixels a fit trains on (every 4th in each direction) and the filter's x and y derivatives;
Train fits a value-only and a Sobolev network one after the other (same seed, same steps) off the server's event
loop and streams, after every evaluation, the reconstruction of the fit in progress, its own x / y derivatives
beside the filter's, the error map, and the two fits' PSNR curves side by side. Below, the shipped full run's
value-only against Sobolev test PSNR per image and network (``docs/results/sobolev_inr.json``).

The page trains on a crop (64, 96 or 128 pixels a side) so that a Train takes seconds to a minute on a laptop CPU;
the full run fits the whole images."""

from __future__ import annotations

import functools
import json

import holoviews as hv
import numpy as np
import panel as pn
import param

from kernels.image_gradients import GRADIENT_KINDS
from workbench.results_pages import DOCS, grid_status
from workbench.sobolev_inr.images import IMAGES, SET5
from workbench.sobolev_inr.networks import NETWORK_NAMES, NETWORKS
from workbench.sobolev_inr.page_data import (CROPS, STRIDE, fit_with_frames, page_image, page_images,
                                             shipped_pairs, target_maps, training_pixels)
from workbench.sobolev_inr.training import LOSSES, FitSettings
from workbench.ui import ExplorerBase, error_message, load_extensions
from workbench.ui.jobs import jobs
from workbench.ui.memo import memo
from workbench.ui.train_buttons import TrainButtons

__all__ = ["Explorer", "RESULTS_JSON", "shipped", "available", "starting_image", "page_picture"]

RESULTS_JSON = DOCS / "results" / "sobolev_inr.json"
DEFAULT_IMAGE, DEFAULT_CROP, DEFAULT_KERNEL = "camera", 96, "sobel"
LOSS_NAMES = {"value": "value-only", "sobolev": "Sobolev"}
COLORS = {"value": "#ff7f0e", "sobolev": "#1f77b4"}
NET_COLORS = {"siren": "#1f77b4", "relu": "#d62728", "relu_pe": "#2ca02c"}
SIDE = 215  # pixels of one picture
ERROR_MAX = 0.2  # the error map's colour scale: |ΔY| from 0 to this (above: the top colour)
PRESS_TRAIN = ("*Press **Train**: the reconstruction of the fit in progress, its error and its own derivatives appear "
               "below the image's while it trains, with the test PSNR of both fits.*")
HELP = ("Every map is on the luma (Y, what PSNR is measured on). A derivative map is red where the image gets brighter "
        "to the right (∂x) or downwards (∂y), blue where it gets darker, in intensity per pixel; the network's are "
        "exact (forward-mode tangents of its output), the filter's are what Sobolev training fits them to at the "
        "training pixels, with weight λ beside the values. The error map runs from black (0) to yellow (0.2 or "
        "more). Value-only training never sees a derivative: between the training pixels a SIREN is free to "
        "oscillate, and its derivative maps show it. The pictures share their axes: zoom into one and all follow.")


def available() -> tuple[str, ...]:
    """The images this machine has: the bundled three always, Set5 (the paper's) when its files are here
    (``workbench.data``, no download: a page must not wait on the network)."""
    from workbench import data

    return page_images(data.on_this_machine("set5"))


@memo(max_items=24)
def page_picture(name: str, size: int, kernel: str) -> dict:
    """What the page shows of a setting before any Train: the crop, its training pixels and the filter's maps."""
    image = page_image(name, size)
    dx, dy = target_maps(name, size, kernel)
    return {"image": image, "train": training_pixels(image, STRIDE), "dx": dx, "dy": dy}


def starting_image() -> np.ndarray:
    """The crop the page starts from (camera, 96 × 96), its training pixels and Sobel maps computed. Cached."""
    return page_picture(DEFAULT_IMAGE, DEFAULT_CROP, DEFAULT_KERNEL)["image"]


@functools.lru_cache(maxsize=1)
def shipped() -> dict:
    """The shipped full run's data (``{}`` when absent or unreadable)."""
    try:
        data = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.is_file() else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _rgb(a: np.ndarray) -> np.ndarray:
    a = np.clip(a, 0.0, 1.0)
    return np.repeat(a, 3, axis=2) if a.shape[2] == 1 else a


class Explorer(ExplorerBase):
    """Sobolev training of implicit neural representations (Yuan et al., ECCV 2022)."""

    image = param.Selector(default=DEFAULT_IMAGE, objects=list(IMAGES), label="Image",
                           doc="The image whose centred crop is fitted (Set5 when its files are on this machine)")
    crop = param.Selector(default=DEFAULT_CROP, objects=list(CROPS), label="Crop (pixels a side)",
                          doc="Side of the centred square crop the page fits: small, so that a Train takes seconds")
    network = param.Selector(default="siren", objects={NETWORK_NAMES[n]: n for n in NETWORKS}, label="Network",
                             doc="The implicit representation (x, y) ↦ colour; 256 wide, 4 hidden layers")
    lam = param.Number(default=1.0, bounds=(0.0, 10.0), step=0.1, label="Derivative weight λ",
                       doc="λ of the Sobolev loss: value MSE + λ · derivative MSE (the value-only fit ignores it)")
    kernel = param.Selector(default=DEFAULT_KERNEL, objects=list(GRADIENT_KINDS), label="Derivative filter",
                            doc="Finite differences the derivative targets come from: normalised Sobel or central")
    steps = param.Integer(default=200, bounds=(10, 2000), step=10, label="Steps",
                          doc="Full-batch Adam steps (lr 1e-4) of each of the two fits")
    shown = param.Selector(default="sobolev", objects={"value-only": "value", "Sobolev": "sobolev"},
                           label="Maps of", doc="Whose reconstruction, derivatives and error the maps show")
    hidden = param.Integer(default=256, bounds=(4, 512), precedence=-1, doc="Width of the networks (the paper's 256)")
    _frame = param.Integer(default=0, precedence=-1)  # a Train reported, or a picture was loaded

    def __init__(self, **params):
        load_extensions()
        here = available()
        wanted = params.pop("image", DEFAULT_IMAGE)
        if wanted not in IMAGES:
            raise ValueError(f"image: expected one of {IMAGES}, got {wanted!r}")
        self._set5 = set(SET5) <= set(here)
        super().__init__(**params)
        self.param.image.objects = list(here)  # this page's list (an instance parameter: the class keeps all)
        with param.parameterized.discard_events(self):
            self.image = wanted if wanted in here else DEFAULT_IMAGE
        self._buttons = TrainButtons()
        self._buttons.on_click(self._on_train)
        self._live: dict | None = None  # the last Train: key, history and last frame per loss
        self._load_job = None
        self._failed: Exception | None = None  # the current picture's loading error
        self._status = pn.pane.Markdown("", sizing_mode="stretch_width")
        self._train_status = pn.pane.Markdown("", sizing_mode="stretch_width")
        self._error = pn.Column(sizing_mode="stretch_width")
        setting = hv.streams.Params(self, ["image", "crop", "kernel", "_frame"])
        live = hv.streams.Params(self, ["image", "crop", "network", "lam", "kernel", "shown", "_frame"])
        x, y = (functools.partial(self._target, a) for a in (0, 1))
        nx, ny = (functools.partial(self._network, a) for a in (0, 1))
        # what the setting shows (top row) and, from the first Train on, the fit (bottom row): every figure costs
        # load time, so a page that has not trained draws only the four it has something to show in
        self._setting_maps = [hv.DynamicMap(f, streams=[setting]) for f in (self._image, self._train_pixels, x, y)]
        self._fit_maps = [hv.DynamicMap(f, streams=[live]) for f in (self._recon, self._error_map, nx, ny)]
        self._maps = pn.pane.HoloViews(hv.Layout(self._setting_maps).cols(4))
        self._curves = pn.pane.HoloViews(hv.Layout([hv.DynamicMap(functools.partial(self._psnr, loss), streams=[live])
                                                    for loss in LOSSES]).cols(2))
        self._fit_area = pn.Column("### Test PSNR while training: value-only and Sobolev",
                                   pn.pane.Markdown(PRESS_TRAIN, sizing_mode="stretch_width"),
                                   sizing_mode="stretch_width")
        self._shipped = self._shipped_view()
        self._request_picture()

    # ---------- what is shown ----------
    def _key(self) -> tuple:
        return (self.image, int(self.crop), self.network, round(float(self.lam), 4), self.kernel)

    def _picture(self) -> dict | None:
        """The current setting's picture when it is computed (else None: the views draw empty figures)."""
        key = (self.image, int(self.crop), self.kernel)
        return page_picture(*key) if page_picture.cached(*key) else None

    def _request_picture(self) -> None:
        """Show the current setting: at once when computed, else loaded in the job pool (off the event loop)."""
        if self._load_job is not None:
            self._load_job.cancel()
        self._load_job, self._failed = None, None
        key = (self.image, int(self.crop), self.kernel)
        if page_picture.cached(*key):
            self._describe()
            return
        self._status.object = f"Loading **{self.image}** …"

        def done(_result, error):
            if (self.image, int(self.crop), self.kernel) != key:
                return  # superseded by newer settings
            self._failed = error
            self._describe()
            self._frame += 1

        self._load_job = jobs().load(f"sobolev_inr picture {key}", lambda _cancelled: page_picture(*key), done)

    def _live_now(self) -> dict | None:
        return self._live if self._live is not None and self._live["key"] == self._key() else None

    def _describe(self) -> None:
        if self._failed is not None:
            self._status.object = f"Could not load **{self.image}**."
            self._error.clear()
            self._error.append(error_message(self._failed))
            return
        pic = self._picture()
        if pic is None:
            return
        n, m = pic["image"].shape[0], pic["train"].shape[0]
        colour = "grey" if pic["image"].shape[2] == 1 else "colour"
        text = (f"**{self.image}**, the centred {n}×{n} crop ({colour}): a fit sees every {STRIDE}th pixel in each "
                f"direction ({m}×{m} = {m * m:,} values) and is scored on the other {n * n - m * m:,}. "
                f"**{NETWORK_NAMES[self.network]}**; Sobolev loss = value MSE + λ · derivative MSE with "
                f"**λ = {self.lam:g}**, derivatives by the **{self.kernel}** filter.")
        if not self._set5:
            text += ("\n\n*Set5 (the paper's images) is not on this machine: put baby, bird, butterfly, head and "
                     "woman .png in a folder set5/ under WORKBENCH_DATA (see `workbench data`) to pick them.*")
        self._status.object = text

    @param.depends("image", "crop", "network", "lam", "kernel", watch=True)
    def _settings_changed(self):
        """New settings: a Train of the old ones is stopped (its pictures belong to the setting it started with)."""
        self._buttons.abandon()
        self._error.clear()
        try:
            self._request_picture()
        except Exception as exc:  # noqa: BLE001 - shown, not raised
            self._error.append(error_message(exc))

    # ---------- the maps (the same elements whatever is shown: figures are updated in place) ----------
    def _size(self) -> int:
        pic = self._picture()
        return pic["image"].shape[0] if pic is not None else int(self.crop)

    def _opts(self, title: str, colorbar: bool | None = None) -> dict:
        """A picture's options (``colorbar``: for a scalar map, whether it has one)."""
        extra = {} if colorbar is None else {"colorbar": colorbar}
        return dict(title=title, frame_width=SIDE, frame_height=SIDE, xaxis=None, yaxis=None, framewise=True,
                    fontsize={"title": 9}, toolbar="above", **extra)

    # every picture spans the unit square whatever the crop: the shared axes never need a new range
    def _rgb(self, a: np.ndarray | None, title: str):
        n = self._size()
        a = np.zeros((n, n, 3)) if a is None else _rgb(a)
        return hv.RGB(a, ["x", "y"], bounds=(0, 0, 1, 1)).opts(**self._opts(title))

    def _scalar(self, a: np.ndarray | None, dim: hv.Dimension, cmap: str, title: str, colorbar: bool = False):
        n = self._size()
        a = np.zeros((n, n)) if a is None else a
        return hv.Image(a, ["x", "y"], dim, bounds=(0, 0, 1, 1)).opts(cmap=cmap, **self._opts(title, colorbar))

    def _image(self, **_params):
        pic = self._picture()
        return self._rgb(None if pic is None else pic["image"], f"{self.image}, {self._size()}×{self._size()}")

    def _train_pixels(self, **_params):
        pic = self._picture()
        return self._rgb(None if pic is None else pic["train"], f"what a fit sees: every {STRIDE}th pixel")

    def _frame_shown(self) -> tuple[dict | None, str]:
        """The shown fit's last frame (None before a Train) and a title's words for it."""
        live, loss = self._live_now(), self.shown
        entry = live["last"].get(loss) if live is not None else None
        if entry is None:
            return None, f"{LOSS_NAMES[loss]}: press Train"
        return entry["frame"], f"{LOSS_NAMES[loss]}, step {entry['step']}"

    def _recon(self, **_params):
        f, words = self._frame_shown()
        return self._rgb(None if f is None else f["recon"], f"reconstruction — {words}")

    def _error_map(self, **_params):
        f, words = self._frame_shown()
        dim = hv.Dimension("|ΔY|", range=(0.0, ERROR_MAX))
        return self._scalar(None if f is None else f["error"], dim, "inferno",
                            f"|error| (0…{ERROR_MAX:g}) — {words}")

    def _derivative_dim(self) -> hv.Dimension:
        """The derivative maps' colour scale: ± the 99th percentile of the filter's |∂x|, |∂y| (the same for all)."""
        pic = self._picture()
        c = max(float(np.percentile(np.abs(np.stack([pic["dx"], pic["dy"]])), 99)), 1e-3) if pic else 1.0
        return hv.Dimension("∂Y per pixel", range=(-c, c))

    def _target(self, axis: int, **_params):
        pic = self._picture()
        a = None if pic is None else pic["dx" if axis == 0 else "dy"]
        return self._scalar(a, self._derivative_dim(), "RdBu_r", f"{self.kernel} filter: ∂/∂{'xy'[axis]}",
                            colorbar=axis == 1)

    def _network(self, axis: int, **_params):
        f, words = self._frame_shown()
        a = None if f is None else f["dx" if axis == 0 else "dy"]
        return self._scalar(a, self._derivative_dim(), "RdBu_r", f"network ∂/∂{'xy'[axis]} — {words}",
                            colorbar=axis == 1)

    def _psnr(self, loss: str, **_params):
        """``loss``'s test and training-pixel PSNR over the steps, and (thin, grey) the other fit's test PSNR."""
        live = self._live_now()
        other = LOSSES[1 - LOSSES.index(loss)]
        layers = []
        for fit, key, label, style in ((loss, "psnr_test", "test pixels", dict(color=COLORS[loss], line_width=2.5)),
                                       (loss, "psnr_train", "training pixels",
                                        dict(color=COLORS[loss], line_dash="dashed", line_width=1.5)),
                                       (other, "psnr_test", f"{LOSS_NAMES[other]}: test",
                                        dict(color="#999999", line_width=1))):
            hist = live["history"][fit] if live is not None else []
            # framewise on each layer: an Overlay's does not reach its layers' ranges
            layers.append(hv.Curve(([h["step"] for h in hist], [h[key] for h in hist]), "step", "PSNR (dB)",
                                   label=label).opts(framewise=True, **style))
        hist = live["history"][loss] if live is not None else []
        last = f": test {hist[-1]['psnr_test']:.2f} dB at step {hist[-1]['step']}" if hist else " — press Train"
        name = LOSS_NAMES[loss] + (f" (λ = {live['key'][3]:g})" if loss == "sobolev" and live else "")
        return hv.Overlay(layers).opts(title=f"{name}{last}", width=430, height=260, framewise=True,
                                       legend_position="top_left", fontsize={"title": 9, "legend": 8})

    def _show_fit(self) -> None:
        """From the first Train on: the fit's maps below the setting's (one figure, axes shared) and the curves."""
        if len(self._maps.object) == len(self._setting_maps):
            self._maps.object = hv.Layout(self._setting_maps + self._fit_maps).cols(4)
            self._fit_area[1] = self._curves

    # ---------- the shipped full run ----------
    def _shipped_view(self) -> pn.Column:
        data = shipped()
        pairs = shipped_pairs(data)
        if not pairs:
            return pn.Column(pn.pane.Markdown(
                "*No full run in this checkout yet* (`workbench reproduce sobolev_inr --json > "
                "docs/results/sobolev_inr.json` makes one): the Train above is the comparison.",
                sizing_mode="stretch_width"), sizing_mode="stretch_width")
        how = "quick run (64×64 crops)" if data.get("quick") else "full run"
        s = data.get("settings", {}) if isinstance(data.get("settings"), dict) else {}
        head = (f"Shipped {how}: test PSNR (dB, luma, pixels off the training grid) after {s.get('steps', '?')} "
                f"steps, λ = {s.get('lam', '?')}, {s.get('kernel', '?')} derivatives. ")
        if "tasks" in data:
            head += grid_status(data)
        for n in NETWORKS:
            gains = [p["gain"] for p in pairs if p["network"] == n]
            if gains:
                head += (f"\n- **{NETWORK_NAMES[n]}**: Sobolev better on {sum(g > 0 for g in gains)} of {len(gains)} "
                         f"image{'s' if len(gains) > 1 else ''}, mean gain {np.mean(gains):+.2f} dB")
        lines = ["| network | image | value-only | Sobolev | gain |", "|---|---|---|---|---|"]
        lines += [f"| {NETWORK_NAMES.get(p['network'], p['network'])} | {p['image']} | {p['value']:.2f} | "
                  f"{p['sobolev']:.2f} | {p['gain']:+.2f} |" for p in pairs]
        lo = min(min(p["value"], p["sobolev"]) for p in pairs) - 1
        hi = max(max(p["value"], p["sobolev"]) for p in pairs) + 1
        layers = [hv.Curve([(lo, lo), (hi, hi)], "value-only PSNR (dB)", "Sobolev PSNR (dB)").opts(
            color="grey", line_dash="dashed")]
        for n in NETWORKS:
            mine = [p for p in pairs if p["network"] == n]
            if mine:
                layers.append(hv.Scatter([(p["value"], p["sobolev"], p["image"]) for p in mine],
                                         "value-only PSNR (dB)", ["Sobolev PSNR (dB)", "image"],
                                         label=NETWORK_NAMES[n]).opts(color=NET_COLORS[n], size=9, tools=["hover"]))
        plot = hv.Overlay(layers).opts(title="above the diagonal: Sobolev training wins", width=430, height=340,
                                       legend_position="bottom_right", fontsize={"title": 9})
        # the plot in a second tab: a figure costs load time, a table hardly any
        return pn.Column(pn.pane.Markdown(head, sizing_mode="stretch_width"),
                         pn.Tabs(("Table", pn.pane.Markdown("\n".join(lines))),
                                 ("Value-only against Sobolev", pn.pane.HoloViews(plot)), dynamic=True),
                         sizing_mode="stretch_width")

    # ---------- training (in the server's job pool; frames come back to the page) ----------
    def _on_train(self):
        if self._buttons.running:
            return
        self._error.clear()
        key = self._key()
        name, size, network, lam, kernel = key
        steps, hidden = int(self.steps), int(self.hidden)
        every = max(1, steps // 8)
        self._live = {"key": key, "history": {loss: [] for loss in LOSSES}, "last": {}}
        self._show_fit()
        label = f"{NETWORK_NAMES[network]}, {steps} steps"

        def work(report, cancelled):
            image = page_image(name, size)
            fits = {}
            for loss in LOSSES:  # value-only first, then Sobolev: the same seed and steps
                if cancelled.is_set():
                    break
                report({"fit": loss, "start": True})
                s = FitSettings(network=network, loss=loss, lam=lam, kernel=kernel, stride=STRIDE, steps=steps,
                                hidden=hidden, eval_every=every, seed=0)
                fit = fit_with_frames(image, s, lambda entry, loss=loss: report({**entry, "fit": loss}),
                                      cancelled.is_set)
                fits[loss] = {k: fit[k] for k in ("psnr_test", "psnr_train", "ssim_test", "steps", "seconds")}
            return {"fits": fits, "stopped": cancelled.is_set()}

        def progress(item):
            live = self._live
            if live is None or live["key"] != key or self._key() != key:
                return
            loss = item["fit"]
            i = LOSSES.index(loss) + 1
            if item.get("start"):
                self.shown = loss
                self._train_status.object = f"Training ({label}): fit {i}/2, {LOSS_NAMES[loss]} …"
                return
            live["history"][loss].append({k: item[k] for k in ("step", "loss", "psnr_test", "psnr_train")})
            live["last"][loss] = {"step": item["step"], "frame": item["frame"]}
            self._train_status.object = (f"Training ({label}): fit {i}/2, {LOSS_NAMES[loss]}, step "
                                         f"{item['step']}/{steps}, test PSNR {item['psnr_test']:.2f} dB")
            self._frame += 1

        def done(result, error):
            if self._live is None or self._live["key"] != key or self._key() != key:
                return
            if error is not None:
                self._error.append(error_message(error))
                self._train_status.object += " — failed."
                return
            fits = result["fits"]
            text = "; ".join(f"{LOSS_NAMES[loss]} {f['psnr_test']:.2f} dB after {f['steps']} steps "
                             f"({f['seconds']:.1f} s)" for loss, f in fits.items())
            if len(fits) == 2:
                text += f"; Sobolev − value-only: {fits['sobolev']['psnr_test'] - fits['value']['psnr_test']:+.2f} dB"
            end = "stopped" if result["stopped"] else "done"
            self._train_status.object = (f"Training ({label}) — {end}. Test PSNR: {text}." if fits else
                                         f"Training ({label}) — {end} before the first evaluation.")
            self._frame += 1

        self._train_status.object = f"Training ({label}) …"
        refused = self._buttons.start(f"sobolev_inr training {key}", work, on_progress=progress, on_done=done)
        if refused:
            self._train_status.object = refused

    # ---------- layout ----------
    def controls(self):
        setting = pn.Param(self.param, parameters=["image", "crop", "network", "lam", "kernel"], show_name=False,
                           sizing_mode="stretch_width",
                           widgets={"lam": {"type": pn.widgets.FloatSlider, "throttled": True}})
        train = pn.Param(self.param, parameters=["steps"], show_name=False, sizing_mode="stretch_width",
                         widgets={"steps": {"type": pn.widgets.IntSlider, "throttled": True}})
        shown = pn.Param(self.param, parameters=["shown"], show_name=False, sizing_mode="stretch_width",
                         widgets={"shown": pn.widgets.RadioButtonGroup})
        note = pn.pane.Markdown(
            "Train fits a value-only and then a Sobolev network (same seed, same steps) on the centred crop, so "
            "that it takes seconds to a minute on a laptop CPU; the full run fits the whole images, 1,000 steps.",
            styles={"font-size": "0.85em"})
        return pn.Column("### Setting", setting, "### Train", train, self._buttons.row(), note, "### Maps of", shown,
                         sizing_mode="stretch_width")

    def main_view(self):
        return pn.Column(
            self._status, self._train_status, self._error,
            "### The image, what a fit sees and the filter's derivatives; below them, after a Train, the fit's",
            self._maps, self._fit_area,
            "### Value-only against Sobolev training over the images (shipped run)",
            self._shipped,
            pn.pane.Markdown(HELP, styles={"font-size": "0.9em"}), sizing_mode="stretch_width")
