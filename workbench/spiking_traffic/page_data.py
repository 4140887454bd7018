"""What the spiking_traffic page shows, as plain arrays (no UI imports): the flows it starts from (the ISCX validation
flows, or synthetic ones without the data), its two encodings (the paper's size bins, or size and gap bins) and the
flows encoded with them, the shipped pre-trained networks' predictions on them, the shipped full run's data, the
flows of each class, what a Train of the page fits, and where a packet sits on the encoding's axes.

Everything that costs is cached per ``(real, gaps)``: ``real`` says whether the page shows the ISCX flows
(:func:`available`), ``gaps`` which encoding (and shipped network) it uses.
"""

from __future__ import annotations

import functools
import json

import numpy as np
import torch

from workbench.results_pages import DOCS
from workbench.spiking_traffic.encoding import SIZE_EDGES, Encoding, encode
from workbench.spiking_traffic.energy import snn_costs
from workbench.spiking_traffic.experiments import evaluate
from workbench.spiking_traffic.flows import CLASSES, Flows, load_iscx, synthetic_flows
from workbench.spiking_traffic.network import SpikingNetwork
from workbench.spiking_traffic.pretrained import GAP_BINS, load_pretrained
from workbench.spiking_traffic.training import predict_logits

__all__ = ["RESULTS_JSON", "PAGE_TRAIN", "SYNTHETIC_VAL", "SYNTHETIC_TRAIN", "INPUTS", "available", "page_encoding",
           "page_flows", "starting_flows", "encoded_page_flows", "pretrained_predictions", "shipped", "shipped_row",
           "shipped_confusion", "sweep_rows", "class_index", "page_index", "training_flows", "trace_flow",
           "score_on_page", "bin_coordinate", "packet_marks", "seconds_text"]

RESULTS_JSON = DOCS / "results" / "spiking_traffic.json"
#: training flows a Train of the page uses (a fixed random subset of the 12,922: seconds an epoch, and a few hundred
#: MB rather than 2 GB of encoded flows per training; the shipped run trains on them all)
PAGE_TRAIN = 6000
SYNTHETIC_VAL, SYNTHETIC_TRAIN = 500, 3000  # flows of the page without the data: shown, and trained on
#: the page's inputs, as its control names them: ``gaps`` False (the paper's 150 size bins) or True (and 50 gap bins)
INPUTS = {"size bins (paper)": False, "size + gap bins": True}
_ENCODINGS = {False: Encoding(), True: Encoding(gap_bins=GAP_BINS)}  # log time axis, 100 steps (the shipped nets')
TIME_TICKS = ((1e-3, "1 ms"), (0.1, "0.1 s"), (10.0, "10 s"), (1e3, "1000 s"))
GAP_TICKS = ((1e-5, "gap 10 µs"), (1e-4, "gap 0.1 ms"), (1e-3, "gap 1 ms"), (1e-2, "gap 10 ms"), (0.1, "gap 0.1 s"),
             (1.0, "gap 1 s"), (10.0, "gap 10 s"), (100.0, "gap 100 s"), (1e3, "gap 1000 s"))


def _check_bool(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name}: expected True or False, got {value!r}")
    return value


def available() -> bool:
    """Whether this machine has the ISCX flows (``workbench.data``, no download here: a page must not wait on the
    network)."""
    from workbench import data

    return data.on_this_machine("traffic")


def page_encoding(gaps: bool) -> Encoding:
    """The page's encoding, the shipped networks' (:func:`.pretrained.pretrained_encoding`): log time axis, 100 steps
    from 1 ms to 10⁴ s, the 150 size bins, then (``gaps``) 50 gap bins."""
    return _ENCODINGS[_check_bool("gaps", gaps)]


@functools.lru_cache(maxsize=2)
def _page_flows(real: bool) -> Flows:
    return load_iscx("val") if real else synthetic_flows(SYNTHETIC_VAL, seed=0)


def page_flows(real: bool) -> Flows:
    """The flows the page shows: the 1,291 ISCX validation flows (``real``; no download) or :data:`SYNTHETIC_VAL`
    synthetic flows (seed 0). Cached."""
    return _page_flows(_check_bool("real", real))


def starting_flows() -> Flows:
    """The flows the page starts from: the ISCX validation flows if this machine has them, else synthetic ones."""
    return page_flows(available())


@functools.lru_cache(maxsize=2)
def _encoded(real: bool, gaps: bool) -> torch.Tensor:
    return encode(_page_flows(real), _ENCODINGS[gaps])


def encoded_page_flows(real: bool, gaps: bool) -> torch.Tensor:
    """The page's flows encoded, ``(N, 100, 150)``, or ``(N, 100, 200)`` with ``gaps`` (77 MB, 103 MB for the ISCX
    validation flows; two kept)."""
    return _encoded(_check_bool("real", real), _check_bool("gaps", gaps))


@functools.lru_cache(maxsize=4)
def _predictions(real: bool, gaps: bool) -> np.ndarray:
    out = predict_logits(load_pretrained(gaps), encoded_page_flows(real, gaps)).argmax(1).numpy()
    out.setflags(write=False)
    return out


def pretrained_predictions(real: bool, gaps: bool) -> np.ndarray:
    """The class the shipped network (``gaps``: the one with gap inputs) predicts for each of the page's flows,
    ``(N,)`` int64, read-only. Cached."""
    return _predictions(_check_bool("real", real), _check_bool("gaps", gaps))


@functools.lru_cache(maxsize=1)
def shipped() -> dict:
    """The shipped full run's data (``{}`` when absent or unreadable; :data:`RESULTS_JSON`)."""
    try:
        return json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.is_file() else {}
    except (OSError, ValueError):
        return {}


def shipped_row(model: str, gaps: bool = False) -> dict | None:
    """The shipped run's result of ``model`` (``"snn"``, ``"mlp"``, ``"cnn"``, ``"trees"``); for the SNN with
    ``gaps``, its variant with gap inputs at the main hidden size. None when the run has none."""
    if not isinstance(model, str):
        raise TypeError(f"model: expected a model's name, got {model!r}")
    if _check_bool("gaps", gaps):
        hidden = shipped().get("settings", {}).get("hidden", 100)
        return next((r for r in shipped().get("sweep", []) if r.get("model") == model and r.get("gap_bins")
                     and r.get("hidden") == hidden), None)
    return next((r for r in shipped().get("results", []) if r.get("model") == model), None)


def shipped_confusion(gaps: bool) -> list | None:
    """The shipped run's SNN confusion matrix for these inputs (rows: the true class), None when it has none: its
    JSON holds the main SNN's (size bins, seeds summed), not the gap variant's."""
    conf = shipped().get("confusion") or []
    return conf if not _check_bool("gaps", gaps) and len(conf) == len(CLASSES) else None


def sweep_rows(gaps: bool) -> list[dict]:
    """The shipped run's SNN variants on these inputs (the main surrogate and time axis; with ``gaps``, its gap
    variants), by hidden size."""
    s = shipped()
    main = s.get("settings", {})
    variants = ("gaps",) if _check_bool("gaps", gaps) else ("main", "hidden")
    rows = [r for r in s.get("sweep", []) if r.get("variant") in variants
            and r.get("surrogate") == main.get("surrogate", "sigmoid")
            and r.get("time_scale") == main.get("time_scale", "log")]
    return sorted(rows, key=lambda r: r["hidden"])


def class_index(flows: Flows) -> dict[str, np.ndarray]:
    """The flows of each class: ``{class: indices into flows}``, every class of :data:`CLASSES` (empty when none)."""
    if not isinstance(flows, Flows):
        raise TypeError(f"flows: expected a Flows, got {type(flows).__name__}")
    return {c: np.flatnonzero(flows.labels == k) for k, c in enumerate(CLASSES)}


@functools.lru_cache(maxsize=2)
def _page_index(real: bool) -> dict[str, np.ndarray]:
    return class_index(_page_flows(real))


def page_index(real: bool) -> dict[str, np.ndarray]:
    """:func:`class_index` of the page's flows. Cached."""
    return _page_index(_check_bool("real", real))


def training_flows(real: bool, limit: int | None) -> Flows:
    """What a Train fits: at most ``limit`` (None: all) of the ISCX training flows (``real``) or of
    :data:`SYNTHETIC_TRAIN` synthetic flows (seed 1), a fixed random subset (seed 0) in their order."""
    _check_bool("real", real)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1):
        raise ValueError(f"limit: expected None or an integer >= 1, got {limit!r}")
    flows = load_iscx("train") if real else synthetic_flows(SYNTHETIC_TRAIN, seed=1)
    if limit is not None and limit < len(flows):
        flows = flows.subset(np.sort(np.random.default_rng(0).permutation(len(flows))[:limit]))
    return flows


def trace_flow(flows: Flows, i: int, model: SpikingNetwork, encoding: Encoding, n_traces: int = 5) -> dict:
    """Flow ``i`` of ``flows`` through ``model`` on ``encoding``: its packets (``sizes``, ``times`` since the first,
    ``gaps`` to the previous, ``(n,)`` each), ``x`` ``(T, inputs)``, ``spikes`` and ``membrane`` (over each neuron's
    threshold) ``(T, H)``, ``top`` (the ``n_traces`` most active neurons: most spikes, then highest membrane),
    ``readout`` ``(T, C)``, ``predicted``, ``label``, ``hidden``, ``encoding``."""
    if not isinstance(flows, Flows):
        raise TypeError(f"flows: expected a Flows, got {type(flows).__name__}")
    if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < len(flows):
        raise ValueError(f"i: expected a flow number in 0..{len(flows) - 1}, got {i!r}")
    if not isinstance(encoding, Encoding) or encoding.n_inputs != getattr(model, "n_inputs", None):
        raise ValueError(f"encoding: expected an Encoding of the model's {getattr(model, 'n_inputs', '?')} inputs, "
                         f"got {encoding!r}")
    one = flows.subset([int(i)])
    x = encode(one, encoding)
    with torch.no_grad():
        t = model.trace(x)
    n = int(one.lengths[0])
    spikes, membrane = t["spikes"][0].numpy(), t["membrane"][0].numpy()
    threshold = model.b.detach().clamp(min=1e-3).numpy()
    top = np.lexsort((-membrane.max(0), -spikes.sum(0)))[:n_traces]  # most spikes first, then highest membrane
    return {"number": int(i), "label": int(one.labels[0]), "sizes": one.sizes[0, :n],
            "times": one.relative_times()[0, :n], "gaps": one.inter_arrival()[0, :n], "encoding": encoding,
            "x": x[0].numpy(), "spikes": spikes, "membrane": membrane / threshold, "top": top,
            "readout": t["readout"][0].numpy(), "predicted": int(t["logits"][0].argmax()), "hidden": model.hidden}


def score_on_page(model: SpikingNetwork, real: bool, gaps: bool) -> dict:
    """``model`` on the page's flows encoded with these inputs: ``confusion`` (rows: true class), ``accuracy``,
    ``spikes`` (hidden spikes per flow)."""
    x = encoded_page_flows(real, gaps)
    if getattr(model, "n_inputs", None) != x.shape[2]:
        raise ValueError(f"model: expected a network of {x.shape[2]} inputs, got {getattr(model, 'n_inputs', model)!r}")
    scores = evaluate(predict_logits(model, x).argmax(1).numpy(), page_flows(real).labels)
    return {"confusion": scores["confusion"], "accuracy": scores["test_accuracy"],
            "spikes": snn_costs(model, x)["spikes_per_sample"]}


def bin_coordinate(values, edges, log: bool = False) -> np.ndarray:
    """Values as continuous positions on an encoding's axis, where bin ``k`` (``[edges[k], edges[k + 1])``) spans
    ``[k, k + 1)``: ``k`` plus the value's place within its bin, linear or (``log``) geometric (linear in a bin that
    starts at 0). As the encoding bins: a value below ``edges[0]`` is in bin 0, one at or above the last edge in the
    last bin; so ``floor`` of the coordinate is the value's bin. Within a bin the place is capped at 0.999, in the
    last bin at 0.5 (its overflow: a marker stays inside the picture).

    Shapes: ``values`` any, ``edges`` ``(B + 1,)`` increasing (``B >= 1`` bins) -> ``values``' shape, float64."""
    v = np.asarray(values, dtype=float)
    e = np.asarray(edges, dtype=float)
    if e.ndim != 1 or len(e) < 2 or not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0):
        raise ValueError(f"edges: expected at least 2 finite increasing edges, got {e.tolist()!r:.80}")
    if log and e[0] < 0:
        raise ValueError(f"edges: a log axis needs edges >= 0, got {e[0]!r} first")
    if not np.all(np.isfinite(v)):
        raise ValueError("values: expected finite numbers")
    n = len(e) - 1
    k = np.clip(np.searchsorted(e, v, side="right") - 1, 0, n - 1)
    low, high = e[k], e[k + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        if log:
            place = np.where(low > 0, np.log(np.maximum(v, 1e-300) / np.where(low > 0, low, 1.0))
                             / np.log(high / np.where(low > 0, low, 1.0)), (v - low) / (high - low))
        else:
            place = (v - low) / (high - low)
    place = np.clip(np.nan_to_num(place, nan=0.0), 0.0, 0.999)
    return k + np.where(k == n - 1, np.minimum(place, 0.5), place)


def _band(used: np.ndarray, lo: int, hi: int, span: int) -> tuple[int, int]:
    """Rows ``[a, b)`` of ``[lo, hi)`` around the ``used`` ones, padded to at least ``span`` (the whole of it when
    none is used)."""
    if not len(used):
        return lo, hi
    low, high = int(used.min()), int(used.max()) + 1
    pad = max(0, span - (high - low)) / 2 + 2
    return max(lo, int(np.floor(low - pad))), min(hi, int(np.ceil(high + pad)))


def packet_marks(x, times, sizes, gaps, encoding: Encoding, min_span: int = 30) -> dict:
    """How the page draws a flow's encoding ``x`` ``(T, inputs)``: time steps across, its ``rows`` up (the inputs
    drawn, bottom to top); ``circles`` (time, size) and, with gap inputs, ``diamonds`` (time, gap) at the packets in
    those coordinates (:func:`bin_coordinate`: a mark's cell is ``(floor(time), rows[floor(y)])``).

    On the size bins, ``rows`` are every input and ``ylim`` zooms on the flow's (at least ``min_span`` of them).
    With gap bins, ``rows`` are two bands, the flow's size bins and its gap bins (each padded to ``min_span / 2``),
    one above the other: ``separator`` is the height between them (None without gaps). ``xticks`` and ``yticks`` as
    ``(position, label)``."""
    if not isinstance(encoding, Encoding) or encoding.time_scale != "log":
        raise ValueError(f"encoding: expected an Encoding on the log time axis, got {encoding!r}")
    x, t, s, g = (np.asarray(a, dtype=float) for a in (x, times, sizes, gaps))
    if x.shape != (encoding.n_bins, encoding.n_inputs):
        raise ValueError(f"x: expected shape {(encoding.n_bins, encoding.n_inputs)}, got {x.shape}")
    if not t.shape == s.shape == g.shape or t.ndim != 1:
        raise ValueError(f"times, sizes, gaps: expected three (n,) arrays, got {t.shape}, {s.shape}, {g.shape}")
    edges, n_sizes, n_inputs = encoding.time_edges(), encoding.n_sizes, encoding.n_inputs
    used = np.flatnonzero(x.sum(0))
    tx, sy = bin_coordinate(t, edges, log=True), bin_coordinate(s, SIZE_EDGES)
    if not encoding.gap_bins:
        low, high = (int(used.min()), int(used.max()) + 1) if len(used) else (0, n_sizes)
        pad = max(0, min_span - (high - low)) / 2 + 2  # zoomed on the flow's inputs: a bin is a few pixels
        ylim = (max(0.0, low - pad), min(float(n_inputs), high + pad))
        every = 5 * max(1, round((ylim[1] - ylim[0]) / 6 / 5))  # about six ticks over the bins shown
        return {"rows": np.arange(n_inputs), "circles": (tx, sy), "diamonds": (tx[:0], tx[:0]), "ylim": ylim,
                "separator": None, "xticks": [(int(np.searchsorted(edges, v)), lab) for v, lab in TIME_TICKS],
                "yticks": [(float(k), f"{int(SIZE_EDGES[k])} B") for k in range(1, n_sizes, every)]}
    a1, b1 = _band(used[used < n_sizes], 0, n_sizes, min_span // 2)
    a2, b2 = _band(used[used >= n_sizes], n_sizes, n_inputs, min_span // 2)
    gy = n_sizes + bin_coordinate(g, encoding.gap_edges(), log=True)

    def shown(c):  # an input coordinate as a height in the picture
        c = np.asarray(c, dtype=float)
        return np.where(c < n_sizes, c - a1, (b1 - a1) + c - a2)

    every = 5 * max(1, round((b1 - a1) / 4 / 5))
    yticks = [(float(shown(k)), f"{int(SIZE_EDGES[k])} B") for k in range(0, n_sizes, every) if a1 <= k < b1]
    for v, lab in GAP_TICKS:
        c = n_sizes + float(bin_coordinate(v, encoding.gap_edges(), log=True))
        yticks += [(float(shown(c)), lab)] if a2 <= c < b2 else []
    return {"rows": np.r_[a1:b1, a2:b2], "circles": (tx, shown(sy)), "diamonds": (tx, shown(gy)),
            "ylim": (0.0, float(b1 - a1 + b2 - a2)), "separator": float(b1 - a1), "yticks": yticks,
            "xticks": [(int(np.searchsorted(edges, v)), lab) for v, lab in TIME_TICKS]}


def seconds_text(t: float) -> str:
    """A duration for a reader: µs below a millisecond, ms below a second, s below two minutes, min below two
    hours, else h."""
    if t < 1e-3:
        return f"{1e6 * t:.0f} µs"
    if t < 1:
        return f"{1000 * t:.0f} ms"
    if t < 120:
        return f"{t:.1f} s"
    if t < 7200:
        return f"{t / 60:.1f} min"
    return f"{t / 3600:.1f} h"
