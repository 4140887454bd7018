"""The count image: the paper's size bins, the three time axes, and what is conserved."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import floats
from workbench.spiking_traffic.encoding import SIZE_EDGES, Encoding, calibrated_size_edges, encode
from workbench.spiking_traffic.flows import from_lists


def test_the_paper_size_bins():
    """The released code's calibration (gaps 1, 10, 20 bytes; 150 bins from 40 bytes) for one direction."""
    assert len(SIZE_EDGES) == 151
    assert SIZE_EDGES[:3].tolist() == [0, 40, 41] and SIZE_EDGES[50:53].tolist() == [89, 90, 100]
    assert SIZE_EDGES[100:103].tolist() == [580, 590, 610] and SIZE_EDGES[-1] == 1570
    assert (np.diff(SIZE_EDGES) > 0).all()
    assert np.array_equal(calibrated_size_edges(), SIZE_EDGES)


@pytest.mark.parametrize("size, bin_", [(0, 0), (39, 0), (40, 1), (89, 50), (90, 51), (99, 51), (589, 100),
                                        (590, 101), (1500, 146), (1570, 149), (65212, 149)])
def test_sizes_fall_in_their_bin(size, bin_):
    f = from_lists([[size]], [[0.0]])
    assert Encoding().size_bins(f)[0, 0] == bin_


def test_time_axes():
    f = from_lists([[100, 100, 100, 100]], [[5.0, 5.0005, 5.2, 65.0]])  # starts at 5 s: times are relative
    log = Encoding("log", 100, 1e-3, 1e4)
    edges = log.time_edges()
    tb = log.time_bins(f)[0]
    assert tb[0] == 0 and tb[1] == 0  # before 1 ms: the first bin
    assert edges[tb[2]] <= 0.2 < edges[tb[2] + 1] and edges[tb[3]] <= 60.0 < edges[tb[3] + 1]
    lin = Encoding("linear", 300, t_max=60.0)
    assert lin.time_bins(f)[0].tolist() == [0, 0, 1, -1]  # 200 ms bins; 60 s after the start is past the window
    flow = Encoding("flow", 10)
    assert flow.time_bins(f)[0].tolist() == [0, 0, 0, 9]  # the flow's own span, the last packet in the last bin
    counts = encode(f, lin)
    assert counts.shape == (1, 300, 150) and counts.sum() == 3  # the packet past the window is dropped


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="time_scale"):
        Encoding("hours")
    with pytest.raises(ValueError, match="t_max"):
        Encoding(t_min=1.0, t_max=0.5)
    with pytest.raises(TypeError, match="flows"):
        encode(np.zeros((2, 20)))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.tuples(floats(0, 1e4), floats(0, 3000)), min_size=1, max_size=10), min_size=1,
                max_size=5), st.sampled_from(["log", "flow"]), st.integers(2, 40))
def test_every_packet_is_counted_once(packets, scale, n_bins):
    """On the log and the flow axes no packet is dropped: each flow's image sums to its packet count."""
    f = from_lists([[s for _, s in sorted(p)] for p in packets], [[t for t, _ in sorted(p)] for p in packets])
    x = encode(f, Encoding(scale, n_bins))
    assert x.shape == (len(packets), n_bins, 150) and (x >= 0).all()
    assert x.sum((1, 2)).tolist() == [float(len(p)) for p in packets]


def test_gap_inputs_follow_the_size_bins():
    """Each packet counts twice at its time step: in its size bin and in the bin of its gap to the previous packet
    (the first packet's gap is 0: bin 0 of the gaps)."""
    f = from_lists([[100, 1500, 60]], [[0.0, 0.002, 3.0]])
    enc = Encoding("log", 100, gap_bins=50)
    x = encode(f, enc)
    assert x.shape == (1, 100, 200) and enc.n_inputs == 200
    assert x[..., :150].sum() == 3 and x[..., 150:].sum() == 3
    edges = enc.gap_edges()
    gap_inputs = enc.gap_bins_of(f)[0] - 150
    assert gap_inputs[0] == 0
    for k, gap in zip(gap_inputs[1:], [0.002, 2.998]):
        assert edges[k] <= gap < edges[k + 1]
    tb = enc.time_bins(f)[0]
    for j in range(3):  # the gap event sits at the packet's own time step
        assert x[0, tb[j], 150 + gap_inputs[j]] >= 1
    # without gaps the image is the size image alone
    assert torch.equal(encode(f, Encoding("log", 100)), x[..., :150])
    with pytest.raises(ValueError, match="gap_max"):
        Encoding(gap_bins=5, gap_min=1.0, gap_max=0.1)
