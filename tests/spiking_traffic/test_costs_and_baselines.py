"""The cost counts, the baselines' shapes and sizes, and the training loop's bookkeeping."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.spiking_traffic.baselines import (RateMLP, SequenceCNN, fit_trees, raw_features, raw_sequence,
                                                 tree_comparisons, tree_nodes)
from workbench.spiking_traffic.energy import snn_costs
from workbench.spiking_traffic.flows import from_lists, synthetic_flows
from workbench.spiking_traffic.network import SpikingNetwork
from workbench.spiking_traffic.training import TrainSettings, holdout_split, train


def test_snn_costs_count_events_and_spikes():
    """ops = (non-empty input bins) · H + (hidden spikes) · C, per flow, from the trace itself."""
    net = SpikingNetwork(20, 16, 3, seed=0)
    x = torch.poisson(torch.full((6, 30, 20), 0.2))
    tr = net.trace(x)
    c = snn_costs(net, x, batch_size=4)  # two batches: the sums must add up across them
    spikes = tr["spikes"].sum().item() / 6
    events = (x > 0).sum().item() / 6
    assert c["spikes_per_sample"] == pytest.approx(spikes) and c["input_events"] == pytest.approx(events)
    assert c["ops_per_sample"] == pytest.approx(events * 16 + spikes * 3)
    assert sum(c["spikes_per_neuron"]) == pytest.approx(spikes, rel=1e-5)


def test_the_mlp_is_the_snn_s_size_and_counts_dense_macs():
    snn, mlp = SpikingNetwork(150, 100, 5), RateMLP(150, 100, 5)
    # the same weights and biases; the SNN has its two leaks in place of nothing
    assert snn.n_parameters() - mlp.n_parameters() == 2
    assert mlp.macs_per_sample(100) == 100 * 150 * 100 + 100 * 5
    assert mlp(torch.zeros(3, 100, 150)).shape == (3, 5)


def test_the_cnn_reads_the_raw_sequence():
    f = from_lists([[100, 1500, 40], [60]], [[0.0, 0.001, 1.0], [2.0]])
    seq = raw_sequence(f)
    assert seq.shape == (2, 3, 3)
    assert seq[0, 0].tolist() == pytest.approx([100 / 1500, 1.0, 40 / 1500])
    assert seq[0, 1, 1].item() == pytest.approx(np.log10(0.001 + 1e-6))
    assert (seq[1, :, 1:] == 0).all()  # padding
    cnn = SequenceCNN(5)
    assert cnn(seq).shape == (2, 5)
    assert cnn.macs_per_sample(20) == 20 * (3 * 3 * 32 + 3 * 32 * 64) + 64 * 5


def test_raw_features_mark_missing_packets_and_trees_count_nodes():
    f = from_lists([[100, 200], [50]], [[1.0, 1.5], [3.0]], labels=[0, 1])
    feats = raw_features(f)
    assert feats.shape == (2, 6) and np.isnan(feats[1, 1]) and feats[0].tolist() == [100, 200, 0, 0.5, 0, 0.5]
    trees = fit_trees(synthetic_flows(200, seed=0), max_iter=10)
    nodes, depth = tree_nodes(trees), tree_comparisons(trees)
    # a tree of n nodes has (n + 1) / 2 leaves, each at depth >= 1; 5 classes x <= 10 rounds of <= 31 leaves
    assert 5 * 3 <= nodes <= 5 * 10 * 61 and 5 <= depth <= nodes


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=20, max_size=200), st.floats(0.05, 0.45), st.integers(0, 100))
def test_holdout_split_is_a_stratified_partition(labels, fraction, seed):
    y = np.array(labels)
    fit, held = holdout_split(y, fraction, seed)
    assert sorted(np.concatenate([fit, held]).tolist()) == list(range(len(y)))
    for c in np.unique(y):
        n = (y == c).sum()
        assert (y[fit] == c).sum() >= 1  # every class keeps a training example
        if n > 1:
            assert (y[held] == c).sum() >= 1


def test_training_keeps_the_best_held_out_epoch_and_stops_when_asked():
    f = synthetic_flows(100, seed=0)
    x = raw_sequence(f)
    net = SequenceCNN(5)
    seen = []
    history = train(net, x, f.labels, TrainSettings(epochs=3, batch_size=16), progress=seen.append,
                    should_stop=lambda: len(seen) >= 1)
    assert len(history) == 2 and seen == history  # stopped during the second epoch
    assert {"epoch", "loss", "valid_accuracy", "lr", "seconds"} <= set(history[0])
    with pytest.raises(ValueError, match="y: expected 100 labels"):
        train(net, x, f.labels[:5])
    with pytest.raises(TypeError, match="x: expected a float tensor"):
        train(net, np.zeros((100, 3, 20)), f.labels)
    with pytest.raises(ValueError, match="valid_fraction"):
        TrainSettings(valid_fraction=0.7)
