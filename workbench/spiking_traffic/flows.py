"""Flows: the first packets of a unidirectional session as packet sizes and arrival times, with their class.

Where they come from:

* :func:`load_iscx`: the real ISCX VPN-nonVPN flows of the shared data (``traffic/``: 20 consecutive packets of one
  direction, 12,922 training and 1,291 validation flows, five classes), as processed by the FlowPic / ODE-Flow
  authors;
* :func:`read_packets_csv`: a per-packet CSV of your own (``flow,time,size,label``);
* :func:`read_pcap`: a capture of your own (``dpkt``), one flow per 5-tuple and direction, all of one class;
* :func:`synthetic_flows`: a teaching generator with the same format and five traffic-like classes.

Shapes: ``sizes``, ``times`` ``(N, P)`` float64, padded with zeros after ``lengths[i]`` packets; ``labels`` ``(N,)``
int64 in ``0 .. len(CLASSES) - 1``. Times are seconds, non-decreasing within a flow; sizes are bytes, >= 0.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench import data as wdata
from workbench.checks import check_int

__all__ = ["CLASSES", "Flows", "check_flows", "from_lists", "load_iscx", "read_packets_csv", "read_pcap",
           "synthetic_flows", "SPLITS"]

#: the ISCX classes in the order of the data set's labels (ODE-Flow's ``CLASS_LABELS``)
CLASSES = ("VoIP", "video", "file transfer", "chat", "browsing")
SPLITS = ("train", "val")


@dataclass(frozen=True)
class Flows:
    """``N`` flows of at most ``P`` packets: ``sizes``, ``times`` ``(N, P)``, ``lengths`` ``(N,)``, ``labels``
    ``(N,)`` (or ``None`` when unknown)."""

    sizes: np.ndarray
    times: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray | None
    source: str = ""

    def __len__(self) -> int:
        return len(self.lengths)

    def __post_init__(self):
        check_flows(self.sizes, self.times, self.lengths, self.labels)

    def subset(self, index) -> "Flows":
        """The flows at ``index`` (an int array, a slice or a boolean mask)."""
        return Flows(self.sizes[index], self.times[index], self.lengths[index],
                     None if self.labels is None else self.labels[index], self.source)

    def relative_times(self) -> np.ndarray:
        """Arrival times minus each flow's first arrival, ``(N, P)`` (padding stays 0)."""
        t = self.times - self.times[:, :1]
        return np.where(np.arange(t.shape[1]) < self.lengths[:, None], t, 0.0)

    def inter_arrival(self) -> np.ndarray:
        """Gaps to the previous packet, ``(N, P)`` (0 for the first packet and the padding)."""
        gaps = np.diff(self.times, axis=1, prepend=self.times[:, :1])
        return np.where(np.arange(gaps.shape[1]) < self.lengths[:, None], gaps, 0.0)


def check_flows(sizes, times, lengths, labels=None) -> None:
    """Refuse what no flow can be: empty flows, negative sizes, negative or decreasing times, unknown labels."""
    for name, a in (("sizes", sizes), ("times", times), ("lengths", lengths)):
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{name}: expected a numpy array, got {type(a).__name__}")
    if sizes.ndim != 2 or times.shape != sizes.shape or lengths.shape != sizes.shape[:1]:
        raise ValueError(f"sizes, times, lengths: expected shapes (N, P), (N, P), (N,), got {sizes.shape}, "
                         f"{times.shape}, {lengths.shape}")
    if len(lengths) == 0:
        raise ValueError("flows: expected at least one flow, got none")
    if not (np.isfinite(sizes).all() and np.isfinite(times).all()):
        raise ValueError("sizes, times: expected finite numbers, got NaN or infinity")
    bad = np.flatnonzero(lengths < 1)
    if bad.size:
        raise ValueError(f"lengths: expected every flow to hold at least one packet, flow {int(bad[0])} is empty")
    if (lengths > sizes.shape[1]).any():
        raise ValueError(f"lengths: expected at most P = {sizes.shape[1]} packets, got {int(lengths.max())}")
    valid = np.arange(sizes.shape[1]) < lengths[:, None]
    bad = np.argwhere(valid & (sizes < 0))
    if bad.size:
        i, j = bad[0]
        raise ValueError(f"sizes: expected sizes >= 0 bytes, got {sizes[i, j]:g} (flow {i}, packet {j})")
    bad = np.argwhere(valid & (times < 0))
    if bad.size:
        i, j = bad[0]
        raise ValueError(f"times: expected arrival times >= 0 s, got {times[i, j]:g} (flow {i}, packet {j})")
    step = np.diff(times, axis=1) < 0
    bad = np.argwhere(step & valid[:, 1:])
    if bad.size:
        i, j = bad[0]
        raise ValueError(f"times: expected non-decreasing arrival times within a flow, flow {i} goes from "
                         f"{times[i, j]:g} to {times[i, j + 1]:g} s at packet {j + 1}")
    if labels is not None:
        if not isinstance(labels, np.ndarray) or labels.shape != lengths.shape:
            raise ValueError(f"labels: expected an array of shape {lengths.shape}, got "
                             f"{getattr(labels, 'shape', type(labels).__name__)}")
        unknown = labels[(labels < 0) | (labels >= len(CLASSES))]
        if unknown.size:
            raise ValueError(f"labels: expected class numbers 0..{len(CLASSES) - 1} ({', '.join(CLASSES)}), got "
                             f"{int(unknown[0])}")


def from_lists(sizes: list, times: list, labels=None, source: str = "") -> Flows:
    """Flows from one list of sizes and one of times per flow (any lengths), padded to the longest."""
    if len(sizes) != len(times):
        raise ValueError(f"sizes, times: expected one list per flow in each, got {len(sizes)} and {len(times)}")
    n, p = len(sizes), max((len(s) for s in sizes), default=0)
    s_arr, t_arr = np.zeros((n, max(p, 1))), np.zeros((n, max(p, 1)))
    lengths = np.zeros(n, dtype=np.int64)
    for i, (s, t) in enumerate(zip(sizes, times)):
        if len(s) != len(t):
            raise ValueError(f"flow {i}: expected as many times as sizes, got {len(t)} and {len(s)}")
        s_arr[i, :len(s)], t_arr[i, :len(t)], lengths[i] = s, t, len(s)
    lab = None if labels is None else np.asarray(labels, dtype=np.int64)
    return Flows(s_arr, t_arr, lengths, lab, source)


@functools.lru_cache(maxsize=2)
def load_iscx(split: str = "train") -> Flows:
    """The shared ISCX VPN-nonVPN 20-packet flows: ``split`` ``"train"`` (12,922) or ``"val"`` (1,291)."""
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
    folder = wdata.find("traffic")
    x = np.load(folder / f"iscx_nonvpn_20pkt_x_{split}.npy")
    y = np.load(folder / f"iscx_nonvpn_20pkt_y_{split}.npy").astype(np.int64)
    lengths = np.full(len(x), x.shape[2], dtype=np.int64)
    return Flows(x[:, 0].copy(), x[:, 1].copy(), lengths, y, f"ISCX VPN-nonVPN ({split})")


def _label_number(text: str, where: str) -> int:
    key = text.strip().lower()
    names = {c.lower(): i for i, c in enumerate(CLASSES)}
    if key in names:
        return names[key]
    if key.isdigit() and int(key) < len(CLASSES):
        return int(key)
    raise ValueError(f"{where}: label: expected one of {list(CLASSES)} or 0..{len(CLASSES) - 1}, got {text!r}")


def read_packets_csv(path, max_packets: int = 20) -> Flows:
    """Flows from a per-packet CSV with the header ``flow,time,size,label`` (one row per packet; ``time`` in seconds,
    ``size`` in bytes, ``label`` a class name or number). Packets are grouped by ``flow`` in file order and each flow
    keeps its first ``max_packets``. A malformed line raises ``ValueError`` naming its line number."""
    check_int("max_packets", max_packets, 1)
    path = Path(path)
    flows: dict[str, dict] = {}
    with path.open(newline="") as f:
        reader = csv.reader(f)
        header = [h.strip().lower() for h in next(reader, [])]
        need = ["flow", "time", "size", "label"]
        if any(h not in header for h in need):
            raise ValueError(f"{path.name} line 1: expected a header with columns {need}, got {header}")
        col = {h: header.index(h) for h in need}
        for row in reader:
            line = reader.line_num
            if not row or not any(c.strip() for c in row):
                continue
            where = f"{path.name} line {line}"
            if len(row) != len(header):
                raise ValueError(f"{where}: expected {len(header)} fields, got {len(row)}: {','.join(row)!r}")
            try:
                t, s = float(row[col["time"]]), float(row[col["size"]])
            except ValueError:
                raise ValueError(f"{where}: expected numbers for time and size, got {row[col['time']]!r} and "
                                 f"{row[col['size']]!r}") from None
            if not (np.isfinite(t) and np.isfinite(s)) or s < 0 or t < 0:
                raise ValueError(f"{where}: expected time >= 0 s and size >= 0 bytes, got time {t:g}, size {s:g}")
            label = _label_number(row[col["label"]], where)
            flow = flows.setdefault(row[col["flow"]].strip(), {"sizes": [], "times": [], "label": label})
            if flow["label"] != label:
                raise ValueError(f"{where}: flow {row[col['flow']]!r} was labelled {CLASSES[flow['label']]!r} "
                                 f"before, got {CLASSES[label]!r}")
            if flow["times"] and t < flow["times"][-1]:
                raise ValueError(f"{where}: expected non-decreasing times within flow {row[col['flow']]!r}, "
                                 f"got {t:g} s after {flow['times'][-1]:g} s")
            if len(flow["sizes"]) < max_packets:
                flow["sizes"].append(s)
                flow["times"].append(t)
    if not flows:
        raise ValueError(f"{path.name}: expected at least one packet row, got none")
    fl = list(flows.values())
    return from_lists([f["sizes"] for f in fl], [f["times"] for f in fl], [f["label"] for f in fl], str(path))


def read_pcap(path, label, max_packets: int = 20, min_packets: int = 2) -> Flows:
    """Unidirectional flows (one per source/destination address, port and protocol) of a pcap file, all of class
    ``label``: the IP length of the first ``max_packets`` packets and their times from the capture's clock.
    Flows with fewer than ``min_packets`` packets are dropped."""
    import dpkt

    check_int("max_packets", max_packets, 1)
    check_int("min_packets", min_packets, 1)
    number = _label_number(str(label), "read_pcap")
    flows: dict[tuple, tuple[list, list]] = {}
    with open(path, "rb") as f:
        try:
            reader = dpkt.pcap.Reader(f)
        except (ValueError, dpkt.dpkt.Error) as e:
            raise ValueError(f"path: expected a pcap file, {Path(path).name} is not one ({e})") from None
        for ts, buf in reader:
            try:
                ip = dpkt.ethernet.Ethernet(buf).data
            except (dpkt.dpkt.Error, IndexError):
                continue
            if not isinstance(ip, (dpkt.ip.IP, dpkt.ip6.IP6)):
                continue
            l4 = ip.data
            ports = (getattr(l4, "sport", 0), getattr(l4, "dport", 0))
            proto = ip.p if isinstance(ip, dpkt.ip.IP) else ip.nxt
            key = (bytes(ip.src), ports[0], bytes(ip.dst), ports[1], proto)
            sizes, times = flows.setdefault(key, ([], []))
            if len(sizes) < max_packets:
                sizes.append(float(len(ip)))
                times.append(float(ts))
    kept = [v for v in flows.values() if len(v[0]) >= min_packets]
    if not kept:
        raise ValueError(f"path: expected flows of at least {min_packets} IP packets in {Path(path).name}, got none")
    return from_lists([k[0] for k in kept], [k[1] for k in kept], [number] * len(kept), str(path))


def synthetic_flows(n: int = 500, packets: int = 20, seed: int = 0) -> Flows:
    """``n`` teaching flows of ``packets`` packets, balanced over :data:`CLASSES`, drawn from caricatures of the five
    applications: VoIP (small packets every 20 ms), video (bursts of near-MTU packets), file transfer (back-to-back
    1500-byte packets and 40-byte acknowledgements), chat (a few small messages seconds apart) and browsing (a
    request, then a burst of mixed sizes). Not the real traffic: the same format, for workshops."""
    check_int("n", n, 1)
    check_int("packets", packets, 2)
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(CLASSES)
    rng.shuffle(labels)
    sizes, times = np.zeros((n, packets)), np.zeros((n, packets))
    for i, c in enumerate(labels):
        if c == 0:  # VoIP: 60-200 B every ~20 ms with jitter
            s = rng.normal(rng.uniform(90, 180), 8, packets)
            gaps = rng.normal(0.02, 0.002, packets).clip(0.001)
        elif c == 1:  # video: bursts of large packets, ~1 s apart
            s = np.where(rng.random(packets) < 0.85, rng.normal(1350, 120, packets), rng.uniform(60, 400, packets))
            gaps = np.where(rng.random(packets) < 0.2, rng.exponential(0.8, packets), rng.exponential(0.002, packets))
        elif c == 2:  # file transfer: MTU packets back to back, with acks
            s = np.where(rng.random(packets) < 0.8, 1500.0, 40.0)
            gaps = rng.exponential(0.0005, packets) + np.where(rng.random(packets) < 0.05, rng.exponential(2.0), 0)
        elif c == 3:  # chat: small messages seconds apart
            s = rng.normal(rng.uniform(80, 300), 30, packets)
            gaps = rng.exponential(rng.uniform(2, 20), packets)
        else:  # browsing: a request, a response burst, idle, another
            s = np.where(rng.random(packets) < 0.5, rng.uniform(300, 1500, packets), rng.uniform(40, 120, packets))
            gaps = np.where(rng.random(packets) < 0.15, rng.exponential(5.0, packets),
                            rng.exponential(0.03, packets))
        gaps[0] = 0.0
        sizes[i] = np.round(s.clip(40, 1500))
        times[i] = np.cumsum(gaps)
    return Flows(sizes, times, np.full(n, packets, dtype=np.int64), labels.astype(np.int64), f"synthetic (seed {seed})")
