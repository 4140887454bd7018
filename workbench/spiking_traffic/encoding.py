"""A flow as a (time bins × size bins) image of packet counts: the network's input, one time bin per simulation step.

Size axis (the paper's calibrated layout, released code ``utils.calibration_bins_size`` with ``gaps=[1, 10, 20]``,
``min_value=40``, 150 bins per direction): one bin below 40 bytes, then 1-byte bins up to 90, 10-byte bins up to 590
and 20-byte bins up to 1570; larger packets fall in the last bin. Our flows hold one direction, so 150 inputs
(the paper feeds 300: two directions side by side).

Time axis, ``time_scale``:

* ``"log"`` (default): ``n_bins`` bins of time since the flow's first packet, geometric between ``t_min`` and
  ``t_max`` seconds (everything before ``t_min`` in bin 0, after ``t_max`` in the last). Our adaptation: the
  20-packet flows last from 60 ms to 1.6 hours (median 170 s), so no one bin width serves them all;
* ``"flow"``: ``n_bins`` equal bins over each flow's own span, as the released code's ``np.histogram2d(Time, Size,
  bins=[300, edges])`` (its 60 s windows gave ~200 ms bins). Over flows of very different lengths it loses the
  duration;
* ``"linear"``: ``n_bins`` bins of ``t_max / n_bins`` seconds from the first packet (the paper's 200 ms bins with
  ``n_bins=300, t_max=60``); later packets are dropped.

Gaps (``gap_bins > 0``, not in the paper): a second group of ``gap_bins`` inputs after the size bins. A packet also
counts, at its time step, in the bin of its gap to the previous packet (geometric from ``gap_min`` to ``gap_max``
seconds; the first packet's gap is 0, in bin 0). Where the paper feeds the second direction, our one-direction flows
can feed the gaps, which the count image otherwise keeps only as "same or neighbouring step".

``encode(flows) -> (N, T, S + gap_bins)`` float32 counts, fed to the network as input currents (no Poisson coding).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from workbench.checks import check_int, check_real
from workbench.spiking_traffic.flows import Flows

__all__ = ["SIZE_EDGES", "TIME_SCALES", "Encoding", "calibrated_size_edges", "encode"]

TIME_SCALES = ("log", "flow", "linear")


def calibrated_size_edges(n_bins: int = 150, gaps=(1, 10, 20), min_value: int = 40) -> np.ndarray:
    """Left edges of the paper's size bins for one direction: ``[0, min_value, ...]`` then ``n_bins / len(gaps)``
    bins of each gap in turn; ``n_bins + 1`` edges (the last is the lower end of the top bin's overflow)."""
    edges, low = [0], min_value
    per = n_bins // len(gaps)
    for gap in gaps:
        edges += list(range(low, low + gap * per, gap))
        low += gap * per
    return np.array(edges[:n_bins + 1], dtype=float)


#: 151 edges: [0, 40, 41, ..., 89, 90, 100, ..., 580, 590, 610, ..., 1570]; bin k is [edge k, edge k+1)
SIZE_EDGES = calibrated_size_edges()


@dataclass(frozen=True)
class Encoding:
    """How flows become count images: ``n_bins`` time steps on ``time_scale`` (``t_min``, ``t_max`` seconds)."""

    time_scale: str = "log"
    n_bins: int = 100
    t_min: float = 1e-3
    t_max: float = 1e4
    gap_bins: int = 0
    gap_min: float = 1e-5
    gap_max: float = 1e3

    def __post_init__(self):
        if self.time_scale not in TIME_SCALES:
            raise ValueError(f"time_scale: expected one of {TIME_SCALES}, got {self.time_scale!r}")
        check_int("n_bins", self.n_bins, 2)
        check_real("t_min", self.t_min)
        check_real("t_max", self.t_max, self.t_min)
        check_int("gap_bins", self.gap_bins, 0)
        check_real("gap_min", self.gap_min)
        check_real("gap_max", self.gap_max, self.gap_min)

    @property
    def n_sizes(self) -> int:
        return len(SIZE_EDGES) - 1

    @property
    def n_inputs(self) -> int:
        """Input neurons: the size bins, then the gap bins."""
        return self.n_sizes + self.gap_bins

    def gap_edges(self) -> np.ndarray:
        """The ``gap_bins + 1`` gap edges in seconds: 0, then geometric from ``gap_min`` to ``gap_max``."""
        return np.concatenate([[0.0], np.geomspace(self.gap_min, self.gap_max, self.gap_bins)])

    def gap_bins_of(self, flows: Flows) -> np.ndarray:
        """Each packet's gap input, ``(N, P)`` int64 in ``n_sizes .. n_inputs - 1``."""
        gaps = np.clip(np.searchsorted(self.gap_edges(), flows.inter_arrival(), side="right") - 1, 0,
                       self.gap_bins - 1)
        return self.n_sizes + gaps

    def time_edges(self) -> np.ndarray | None:
        """The ``n_bins + 1`` time edges in seconds (``None`` for ``"flow"``, whose edges differ per flow)."""
        if self.time_scale == "log":
            return np.concatenate([[0.0], np.geomspace(self.t_min, self.t_max, self.n_bins)])
        if self.time_scale == "linear":
            return np.linspace(0.0, self.t_max, self.n_bins + 1)
        return None

    def time_bins(self, flows: Flows) -> np.ndarray:
        """Each packet's time step, ``(N, P)`` int64; ``-1`` for padding and dropped packets."""
        t = flows.relative_times()
        if self.time_scale == "flow":
            span = np.maximum(t.max(axis=1, keepdims=True), 1e-12)
            bins = np.minimum((t / span * self.n_bins).astype(np.int64), self.n_bins - 1)
        elif self.time_scale == "log":
            bins = np.clip(np.searchsorted(self.time_edges(), t, side="right") - 1, 0, self.n_bins - 1)
        else:
            bins = np.floor(t / (self.t_max / self.n_bins)).astype(np.int64)
            bins[bins >= self.n_bins] = -1
        valid = np.arange(t.shape[1]) < flows.lengths[:, None]
        return np.where(valid, bins, -1)

    def size_bins(self, flows: Flows) -> np.ndarray:
        """Each packet's input neuron, ``(N, P)`` int64 in ``0 .. n_sizes - 1``."""
        return np.clip(np.searchsorted(SIZE_EDGES, flows.sizes, side="right") - 1, 0, self.n_sizes - 1)


def encode(flows: Flows, encoding: Encoding | None = None) -> torch.Tensor:
    """Packet counts per (time step, input): ``(N, n_bins, 150 + gap_bins)`` float32."""
    if not isinstance(flows, Flows):
        raise TypeError(f"flows: expected a Flows, got {type(flows).__name__}")
    enc = encoding or Encoding()
    if not isinstance(enc, Encoding):
        raise TypeError(f"encoding: expected an Encoding, got {type(enc).__name__}")
    tb = enc.time_bins(flows)
    keep = tb >= 0
    n, width = len(flows), enc.n_inputs
    inputs = [enc.size_bins(flows)] + ([enc.gap_bins_of(flows)] if enc.gap_bins else [])
    counts = torch.zeros(n * enc.n_bins * width)  # float32 from the start: no int64 copy of the image
    for column in inputs:
        flat = (np.arange(n)[:, None] * enc.n_bins + tb) * width + column
        index = torch.from_numpy(flat[keep])
        counts.index_add_(0, index, torch.ones(len(index)))
    return counts.reshape(n, enc.n_bins, width)
