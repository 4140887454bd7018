"""Property-based tests of the spiking network and its trainer on any small shapes and labels: output shapes, spikes
in {0, 1}, the closed-form readout against its loop, the clamps, the stratified hold-out, batched prediction, and
that training keeps the best held-out epoch; bad input refused naming the argument."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernels import SURROGATES
from workbench.spiking_traffic.network import SpikingNetwork, check_inputs
from workbench.spiking_traffic.training import TrainSettings, holdout_split, predict_logits, train

pytestmark = pytest.mark.timeout(300)

shapes = st.fixed_dictionaries({"b": st.integers(1, 5), "t": st.integers(1, 12), "s": st.integers(1, 10),
                                "h": st.integers(1, 8), "c": st.integers(2, 5), "seed": st.integers(0, 999)})


def _net_and_input(d, **kwargs):
    net = SpikingNetwork(d["s"], d["h"], d["c"], seed=d["seed"], **kwargs)
    x = torch.poisson(torch.full((d["b"], d["t"], d["s"]), 1.5), generator=torch.Generator().manual_seed(d["seed"]))
    return net, x


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(d=shapes, per_neuron=st.booleans(), surrogate=st.sampled_from(SURROGATES))
def test_forward_and_trace_agree(d, per_neuron, surrogate):
    net, x = _net_and_input(d, beta_per_neuron=per_neuron, surrogate=surrogate)
    logits = net(x)
    assert logits.shape == (d["b"], d["c"]) and torch.isfinite(logits).all()
    tr = net.trace(x)
    assert tr["spikes"].shape == tr["membrane"].shape == (d["b"], d["t"], d["h"])
    assert set(tr["spikes"].unique().tolist()) <= {0.0, 1.0}
    # the closed-form mean of the leaky readout equals the step-by-step loop (float32, T <= 12 terms of size ~1)
    torch.testing.assert_close(tr["readout"][:, -1], logits, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(tr["logits"], logits.detach())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(d=shapes, beta=st.floats(-5, 5, allow_subnormal=False), b=st.floats(-5, 5, allow_subnormal=False))
def test_clamp_keeps_leaks_in_unit_interval_and_thresholds_non_negative(d, beta, b):
    net, _ = _net_and_input(d)
    with torch.no_grad():
        net.beta.fill_(beta)
        net.beta_out.fill_(beta)
        net.b.fill_(b)
    net.clamp_()
    leak, leak_out, thresholds = net.beta.detach(), net.beta_out.detach(), net.b.detach()
    assert 0.0 <= float(leak.min()) <= float(leak.max()) <= 1.0
    assert 0.0 <= float(leak_out) <= 1.0 and float(thresholds.min()) >= 0.0
    assert float(leak.max()) == float(np.float32(min(max(beta, 0.0), 1.0)))  # clamped, else kept (in float32)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(d=shapes, extra=st.integers(1, 3))
def test_inputs_of_the_wrong_shape_or_type_are_refused(d, extra):
    net, x = _net_and_input(d)
    with pytest.raises(ValueError, match="^x: expected shape"):
        net(torch.zeros(d["b"], d["t"], d["s"] + extra))
    with pytest.raises(ValueError, match="^x: expected shape"):
        check_inputs(x[0], d["s"])
    with pytest.raises(TypeError, match="^x: expected a float tensor"):
        net(x.long())


@pytest.mark.parametrize("kwargs,name", [({"hidden": 0}, "hidden"), ({"n_classes": 1}, "n_classes"),
                                         ({"surrogate": "relu"}, "surrogate"), ({"beta": 1.5}, "beta"),
                                         ({"threshold": -1.0}, "threshold")])
def test_bad_network_arguments_are_refused(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        SpikingNetwork(**kwargs)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counts=st.lists(st.integers(1, 30), min_size=1, max_size=6),
       fraction=st.floats(0.0, 0.49, allow_subnormal=False), seed=st.integers(0, 2**16))
def test_holdout_split_is_a_stratified_partition(counts, fraction, seed):
    y = np.repeat(np.arange(len(counts)), counts)
    np.random.default_rng(seed).shuffle(y)
    fit, held = holdout_split(y, fraction, seed)
    assert np.array_equal(np.sort(np.concatenate([fit, held])), np.arange(len(y)))  # disjoint and complete
    for c, n in enumerate(counts):
        k = int((y[held] == c).sum())
        assert int((y[fit] == c).sum()) >= 1  # every class keeps a training example
        want = min(max(int(round(fraction * n)), 1 if fraction > 0 else 0), n - 1)
        assert k == want


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(d=shapes, batch=st.integers(1, 7), training=st.booleans())
def test_predict_logits_in_batches_is_the_model_in_eval_mode(d, batch, training):
    net, x = _net_and_input(d)
    net.train(training)
    out = predict_logits(net, x, batch_size=batch)
    torch.testing.assert_close(out, net.eval()(x).detach())
    net.train(training)
    predict_logits(net, x, batch_size=batch)
    assert net.training == training  # the mode is restored


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 99), epochs=st.integers(1, 4))
def test_training_keeps_the_best_held_out_epoch(seed, epochs):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(60) % 3
    x = torch.poisson(1.0 + 2.0 * torch.nn.functional.one_hot(y, 3).float()[:, None, :].expand(60, 6, 3)
                      .repeat(1, 1, 2), generator=g)
    net = SpikingNetwork(6, 8, 3, seed=seed)
    s = TrainSettings(epochs=epochs, batch_size=16, warmup=1, valid_fraction=0.2, seed=seed)
    history = train(net, x, y.numpy(), s)
    assert [h["epoch"] for h in history] == list(range(1, epochs + 1))
    _, held = holdout_split(y.numpy(), s.valid_fraction, s.seed)
    acc = float((predict_logits(net, x[held]).argmax(1) == y[held]).float().mean())
    assert acc == max(h["valid_accuracy"] for h in history)  # the returned weights are the best epoch's


def test_train_refuses_mismatched_labels_and_settings():
    net = SpikingNetwork(4, 4, 2)
    with pytest.raises(ValueError, match="^y: expected 10 labels"):
        train(net, torch.zeros(10, 3, 4), np.zeros(9, dtype=int), TrainSettings(epochs=1))
    with pytest.raises(TypeError, match="^x: expected a float tensor"):
        train(net, np.zeros((10, 3, 4)), np.zeros(10, dtype=int))
    for name, value in [("epochs", 0), ("lr", -1.0), ("valid_fraction", 0.5), ("batch_size", 0)]:
        with pytest.raises(ValueError, match=f"^{name}"):
            TrainSettings(**{name: value})
