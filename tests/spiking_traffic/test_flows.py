"""Flows from every source, and the errors bad flows get."""

import csv

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import assert_names, floats
from workbench.spiking_traffic.flows import (CLASSES, Flows, check_flows, from_lists, read_packets_csv, read_pcap,
                                             synthetic_flows)


def test_the_shared_iscx_flows(iscx):
    train, val = iscx
    assert (len(train), len(val)) == (12922, 1291)
    assert train.sizes.shape == (12922, 20) and (train.lengths == 20).all()
    # the class counts the data's README gives (VoIP, video, file, chat, browsing)
    assert np.bincount(train.labels).tolist() == [3032, 2888, 2987, 947, 3068]


def _flows(n=3, p=4):
    sizes = np.full((n, p), 100.0)
    times = np.tile(np.arange(p, dtype=float), (n, 1))
    return sizes, times, np.full(n, p), np.zeros(n, dtype=np.int64)


@pytest.mark.parametrize("edit, names, text", [
    (lambda s, t, n, y: n.__setitem__(1, 0), ("lengths",), "flow 1 is empty"),
    (lambda s, t, n, y: s.__setitem__((0, 2), -5.0), ("sizes",), "got -5"),
    (lambda s, t, n, y: t.__setitem__((2, 0), -1.0), ("times",), ">= 0"),
    (lambda s, t, n, y: t.__setitem__((1, 3), 0.5), ("times",), "non-decreasing"),
    (lambda s, t, n, y: y.__setitem__(0, 7), ("labels",), "got 7"),
    (lambda s, t, n, y: s.__setitem__((0, 0), np.nan), ("sizes, times",), "NaN"),
])
def test_bad_flows_are_refused_by_name(edit, names, text):
    s, t, n, y = _flows()
    edit(s, t, n, y)
    with pytest.raises(ValueError) as e:
        check_flows(s, t, n, y)
    assert_names(e.value, *names[0].split(", "))
    assert text in str(e.value)


def test_no_flows_at_all_is_refused():
    with pytest.raises(ValueError, match="flows: expected at least one flow"):
        check_flows(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0, dtype=np.int64))


def test_padding_is_not_checked_and_derived_times_ignore_it():
    f = from_lists([[100, 200], [50]], [[1.0, 1.5], [3.0]], labels=[0, 1])
    assert f.lengths.tolist() == [2, 1]
    assert f.relative_times().tolist() == [[0.0, 0.5], [0.0, 0.0]]
    assert f.inter_arrival().tolist() == [[0.0, 0.5], [0.0, 0.0]]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.tuples(floats(0, 1e4), floats(0, 65535)), min_size=1, max_size=8), min_size=1,
                max_size=6))
def test_any_sorted_non_negative_flows_are_accepted(packets):
    sizes = [[s for _, s in sorted(p)] for p in packets]
    times = [[t for t, _ in sorted(p)] for p in packets]
    f = from_lists(sizes, times)
    assert len(f) == len(packets) and (f.relative_times() >= 0).all() and (f.inter_arrival() >= 0).all()


def _write_csv(path, rows):
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["flow", "time", "size", "label"])
        w.writerows(rows)


def test_csv_round_trip(tmp_path):
    flows = synthetic_flows(10, packets=6, seed=3)
    rows = [(f"f{i}", repr(float(flows.times[i, j])), repr(float(flows.sizes[i, j])), CLASSES[flows.labels[i]])
            for j in range(6) for i in range(10)]  # packets of different flows interleaved, as in a capture
    _write_csv(tmp_path / "p.csv", rows)
    back = read_packets_csv(tmp_path / "p.csv")
    np.testing.assert_array_equal(back.sizes, flows.sizes)
    np.testing.assert_array_equal(back.times, flows.times)
    np.testing.assert_array_equal(back.labels, flows.labels)
    assert read_packets_csv(tmp_path / "p.csv", max_packets=2).sizes.shape == (10, 2)


@pytest.mark.parametrize("bad, text", [
    (("f1", "abc", "100", "chat"), "line 3: expected numbers"),
    (("f1", "0.5", "-3", "chat"), "line 3: expected time >= 0 s and size >= 0"),
    (("f1", "0.5", "100"), "line 3: expected 4 fields"),
    (("f1", "0.5", "100", "gaming"), "line 3: label: expected one of"),
    (("f1", "0.05", "100", "chat"), "line 3: expected non-decreasing times"),
    (("f1", "0.5", "100", "video"), "line 3: flow 'f1' was labelled 'chat'"),
])
def test_a_malformed_csv_line_is_named_by_its_number(tmp_path, bad, text):
    _write_csv(tmp_path / "p.csv", [("f1", "0.1", "60", "chat"), bad])
    with pytest.raises(ValueError, match=text):
        read_packets_csv(tmp_path / "p.csv")


def test_a_csv_without_the_header_is_refused(tmp_path):
    (tmp_path / "p.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="line 1: expected a header"):
        read_packets_csv(tmp_path / "p.csv")


def test_pcap_flows_are_grouped_by_five_tuple_and_direction(tmp_path):
    import dpkt

    def packet(src, dst, sport, dport, payload):
        tcp = dpkt.tcp.TCP(sport=sport, dport=dport, data=b"x" * payload)
        ip = dpkt.ip.IP(src=bytes(src), dst=bytes(dst), p=dpkt.ip.IP_PROTO_TCP, data=tcp)
        ip.len = len(ip)
        return dpkt.ethernet.Ethernet(data=ip, type=dpkt.ethernet.ETH_TYPE_IP)

    a, b = [10, 0, 0, 1], [10, 0, 0, 2]
    with (tmp_path / "c.pcap").open("wb") as f:
        w = dpkt.pcap.Writer(f)
        w.writepkt(packet(a, b, 1000, 443, 100), ts=10.0)
        w.writepkt(packet(b, a, 443, 1000, 1400), ts=10.2)  # the other direction: another flow
        w.writepkt(packet(a, b, 1000, 443, 20), ts=10.5)
        w.writepkt(packet(a, b, 1001, 443, 5), ts=11.0)  # another port: a one-packet flow, dropped
    flows = read_pcap(tmp_path / "c.pcap", "browsing")
    assert len(flows) == 1  # the reverse direction and the other port have one packet each
    assert flows.sizes[0].tolist() == [20 + 20 + 100, 20 + 20 + 20]  # IP + TCP headers + payload
    assert flows.relative_times()[0].tolist() == pytest.approx([0.0, 0.5])
    assert flows.labels.tolist() == [CLASSES.index("browsing")]
    assert len(read_pcap(tmp_path / "c.pcap", 4, min_packets=1)) == 3


def test_not_a_pcap_is_refused(tmp_path):
    (tmp_path / "x.pcap").write_bytes(b"not a capture at all")
    with pytest.raises(ValueError, match="path: expected a pcap file"):
        read_pcap(tmp_path / "x.pcap", "chat")


def test_synthetic_flows_are_balanced_valid_and_learnable():
    """The generator's five classes are caricatures: trees on the raw sequences must tell them apart almost always
    (0.99 on this draw); 0.9 leaves room for another seed's draw."""
    from workbench.spiking_traffic.baselines import fit_trees, raw_features

    train, test = synthetic_flows(500, seed=0), synthetic_flows(250, seed=1)
    assert np.bincount(train.labels).tolist() == [100] * 5
    assert isinstance(train, Flows) and (np.diff(train.times, axis=1) >= 0).all()
    trees = fit_trees(train, max_iter=50)
    assert (trees.predict(raw_features(test)) == test.labels).mean() > 0.9
