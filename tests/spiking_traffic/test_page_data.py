"""The spiking_traffic page's data (no UI): its two encodings and their shipped networks, where a packet sits on the
encoding's axes (the same bins as the encoding, for any values), the flows of each class, a Train's subset, one flow
traced through a network, the shipped run's rows; bad input refused naming the argument; and, with the shared ISCX
flows, the shipped gap network's accuracy on the validation flows."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import assert_names, floats
from workbench.spiking_traffic import page_data as D
from workbench.spiking_traffic.encoding import Encoding, encode
from workbench.spiking_traffic.flows import CLASSES, from_lists, synthetic_flows
from workbench.spiking_traffic.network import SpikingNetwork
from workbench.spiking_traffic.pretrained import info, load_pretrained, pretrained_encoding

pytestmark = pytest.mark.timeout(600)

# flows of 1-8 packets: sizes up to jumbo frames, gaps from nothing to hours (sorted cumulative times)
flows_st = st.lists(st.lists(st.tuples(floats(0, 9000), floats(0, 5e3)), min_size=1, max_size=8), min_size=1,
                    max_size=4)


def _flows(packets, labels=None):
    times = [list(np.cumsum([g for _, g in f])) for f in packets]
    return from_lists([[s for s, _ in f] for f in packets], times, labels)


def test_the_two_encodings_are_the_shipped_networks():
    """Size bins: 150 inputs (one direction; the paper's 300 are two); with gaps 150 + 50 = 200."""
    for gaps, width in ((False, 150), (True, 200)):
        enc = D.page_encoding(gaps)
        assert enc == pretrained_encoding(gaps) and enc.n_inputs == width == load_pretrained(gaps).n_inputs
        assert (enc.time_scale, enc.n_bins, enc.t_min, enc.t_max) == ("log", 100, 1e-3, 1e4)
    assert D.page_encoding(True).gap_bins == 50 and D.page_encoding(False).gap_bins == 0
    assert D.INPUTS == {"size bins (paper)": False, "size + gap bins": True}
    g = info(gaps=True)
    assert g["n_inputs"] == 200 and g["hidden"] == 100 and g["settings"]["epochs"] == 8 and g["n_train"] == 12922


@settings(max_examples=200, deadline=None)
@given(st.lists(floats(-1e3, 1e3), min_size=2, max_size=12, unique=True), st.lists(floats(-2e3, 2e3), max_size=30))
def test_the_coordinate_of_a_value_is_in_its_bin_and_grows_with_it(edges, values):
    e = np.sort(edges)
    v = np.sort(values)
    c = D.bin_coordinate(v, e)
    expected = np.clip(np.searchsorted(e, v, side="right") - 1, 0, len(e) - 2)
    assert np.array_equal(np.floor(c).astype(int), expected)
    assert np.all(np.diff(c) >= 0)
    assert c.shape == v.shape and np.all(c <= len(e) - 1.5)  # the last bin's overflow stays inside the picture


@settings(max_examples=60, deadline=None)
@given(flows_st)
def test_the_marks_fall_on_the_cells_the_encoding_counts(packets):
    """Circles on (time step, size bin), diamonds on (time step, gap bin): the same bins as ``encode``, for packets
    at any size and gap, and the picture's rows take them all in."""
    f = _flows(packets)
    for gaps in (False, True):
        enc = D.page_encoding(gaps)
        for k in range(len(f)):
            one = f.subset([k])
            x = encode(one, enc)[0].numpy()
            n = int(one.lengths[0])
            t, s, g = one.relative_times()[0, :n], one.sizes[0, :n], one.inter_arrival()[0, :n]
            m = D.packet_marks(x, t, s, g, enc)
            rows = m["rows"]
            cells = {(int(a), int(b)) for a, b in zip(*np.nonzero(x))}
            marks = list(zip(*m["circles"])) + list(zip(*m["diamonds"]))
            assert {(math.floor(a), int(rows[math.floor(b)])) for a, b in marks} == cells
            assert len(m["diamonds"][0]) == (n if gaps else 0)
            assert all(m["ylim"][0] <= b < m["ylim"][1] for _, b in marks)  # every mark in the picture
            assert np.all(np.diff(rows) > 0) and set(rows) >= {b for _, b in cells}
            if gaps:  # two bands: the size bins below the line, the gap bins above it; ticks on them
                assert all(m["ylim"][0] <= y <= m["ylim"][1] for y, _ in m["yticks"])
                below = rows[:int(m["separator"])]
                assert np.all(below < enc.n_sizes) and np.all(rows[int(m["separator"]):] >= enc.n_sizes)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, len(CLASSES) - 1), min_size=1, max_size=40))
def test_class_index_splits_the_flows_by_class(labels):
    f = _flows([[(100.0, 0.0)]] * len(labels), labels)
    index = D.class_index(f)
    assert list(index) == list(CLASSES)
    assert sorted(np.concatenate(list(index.values())).tolist()) == list(range(len(labels)))
    for k, c in enumerate(CLASSES):
        assert np.all(f.labels[index[c]] == k)


@settings(max_examples=8, deadline=None)
@given(st.one_of(st.none(), st.integers(1, 4000)))
def test_a_train_fits_a_fixed_subset(limit):
    f = D.training_flows(False, limit)
    assert len(f) == min(limit or D.SYNTHETIC_TRAIN, D.SYNTHETIC_TRAIN) and f.source.startswith("synthetic")
    again = D.training_flows(False, limit)
    assert np.array_equal(f.sizes, again.sizes) and np.array_equal(f.labels, again.labels)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 59), st.integers(1, 12), st.booleans(), st.integers(0, 99))
def test_a_traced_flow_is_what_the_network_does(i, hidden, gaps, seed):
    flows = synthetic_flows(60, seed=3)
    enc = D.page_encoding(gaps)
    net = SpikingNetwork(enc.n_inputs, hidden, len(CLASSES), seed=seed)
    cur = D.trace_flow(flows, i, net, enc, n_traces=5)
    assert cur["spikes"].shape == cur["membrane"].shape == (enc.n_bins, hidden)
    assert cur["x"].shape == (enc.n_bins, enc.n_inputs) and cur["x"].sum() == len(cur["sizes"]) * (1 + gaps)
    assert set(np.unique(cur["spikes"]).tolist()) <= {0.0, 1.0}
    assert cur["predicted"] == int(net(encode(flows.subset([i]), enc)).argmax()) == int(cur["readout"][-1].argmax())
    per = cur["spikes"].sum(0)[cur["top"]]
    assert len(cur["top"]) == min(5, hidden) and np.all(np.diff(per) <= 0)  # the most active first
    assert cur["label"] == int(flows.labels[i]) and cur["number"] == i


@settings(max_examples=50, deadline=None)
@given(floats(0, 1e6))
def test_seconds_read_in_the_right_unit(t):
    text = D.seconds_text(t)
    unit = "µs" if t < 1e-3 else "ms" if t < 1 else "s" if t < 120 else "min" if t < 7200 else "h"
    assert text.endswith(" " + unit)


def test_bad_input_is_refused_naming_the_argument():
    flows = synthetic_flows(10, seed=0)
    net = SpikingNetwork(150, 4, len(CLASSES))
    cases = [(lambda: D.page_encoding("yes"), "gaps"), (lambda: D.page_flows(1), "real"),
             (lambda: D.encoded_page_flows(False, 0), "gaps"), (lambda: D.pretrained_predictions(None, False), "real"),
             (lambda: D.page_index("x"), "real"), (lambda: D.training_flows(False, 0), "limit"),
             (lambda: D.training_flows(False, 2.5), "limit"), (lambda: D.class_index([1, 2]), "flows"),
             (lambda: D.bin_coordinate([1.0], [2.0, 1.0]), "edges"), (lambda: D.bin_coordinate([math.nan], [0, 1]),
                                                                      "values"),
             (lambda: D.bin_coordinate([1.0], [-1.0, 1.0], log=True), "edges"),
             (lambda: D.trace_flow(flows, 10, net, Encoding()), "i"),
             (lambda: D.trace_flow(flows, 0, net, Encoding(gap_bins=50)), "encoding"),
             (lambda: D.trace_flow("flows", 0, net, Encoding()), "flows"),
             (lambda: D.packet_marks(np.zeros((3, 3)), [], [], [], Encoding()), "x"),
             (lambda: D.packet_marks(np.zeros((100, 150)), [0.0], [], [], Encoding()), "times"),
             (lambda: D.packet_marks(np.zeros((10, 150)), [], [], [], Encoding("flow", 10)), "encoding"),
             (lambda: D.shipped_row(3), "model"), (lambda: D.shipped_confusion("no"), "gaps"),
             (lambda: D.sweep_rows(1), "gaps"), (lambda: D.score_on_page(net, False, True), "model")]
    for call, name in cases:
        with pytest.raises((TypeError, ValueError)) as e:
            call()
        assert_names(e.value, name)


def test_the_shipped_run_rows_per_inputs(monkeypatch, tmp_path):
    assert D.shipped_confusion(True) is None  # the JSON holds the main SNN's confusion only
    sizes, gaps = D.sweep_rows(False), D.sweep_rows(True)
    if D.shipped():
        assert len(D.shipped_confusion(False)) == len(CLASSES)
        assert all(r["gap_bins"] == 0 for r in sizes) and gaps and all(r["gap_bins"] == 50 for r in gaps)
        assert [r["hidden"] for r in gaps] == sorted(r["hidden"] for r in gaps)
        assert D.shipped_row("snn", gaps=True)["variant"] == "gaps" and D.shipped_row("snn")["variant"] == "main"
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    monkeypatch.setattr(D, "RESULTS_JSON", path)
    D.shipped.cache_clear()
    try:
        assert D.shipped() == {} and D.sweep_rows(True) == [] and D.shipped_row("trees") is None
        assert D.shipped_confusion(False) is None
    finally:
        D.shipped.cache_clear()


def test_the_shipped_networks_predict_the_synthetic_flows(no_data):
    """Without the data the page's flows are synthetic; each shipped network reads them on its own inputs."""
    assert not D.available() and len(D.starting_flows()) == D.SYNTHETIC_VAL
    x = {gaps: D.encoded_page_flows(False, gaps) for gaps in (False, True)}
    assert x[False].shape == (D.SYNTHETIC_VAL, 100, 150) and x[True].shape == (D.SYNTHETIC_VAL, 100, 200)
    assert torch.equal(x[True][:, :, :150], x[False])  # the gap inputs come after the same size bins
    for gaps in (False, True):
        p = D.pretrained_predictions(False, gaps)
        assert p.shape == (D.SYNTHETIC_VAL,) and p.min() >= 0 and p.max() < len(CLASSES) and not p.flags.writeable
        scores = D.score_on_page(load_pretrained(gaps), False, gaps)
        assert np.asarray(scores["confusion"]).sum() == D.SYNTHETIC_VAL
        assert scores["accuracy"] == pytest.approx((p == D.page_flows(False).labels).mean())


def test_the_gap_network_on_the_iscx_validation_flows(iscx):
    """Its recorded figure (93.9 %, 1,212 of 1,291 flows), recomputed. The bound 0.93 is 11 flows below it: room for
    float32 sums that move a flow or two, or for a file retrained on another machine (the full run's gap SNN spreads
    over 94.3-95.5 % across 3 seeds), while it stays far above what the size bins reach (the full run:
    89.3 ± 0.2 %; the shipped size network: 88.5 %), so a gap network that lost its gaps would fail."""
    labels = iscx[1].labels
    acc = {gaps: float((D.pretrained_predictions(True, gaps) == labels).mean()) for gaps in (False, True)}
    assert acc[True] >= 0.93 and acc[True] > acc[False] + 0.03
    for gaps in (False, True):  # as recorded in the file (float32 sums may move a flow or two across a boundary)
        assert abs(acc[gaps] - info(gaps)["test_accuracy"]) <= 2 / len(labels)
