"""The network against the released code's formulation, its readout's closed form, and training."""

import math

import numpy as np
import pytest
import torch

from workbench.spiking_traffic.network import SpikingNetwork


def released_hidden_layer(net: SpikingNetwork, x: torch.Tensor, eps: float = 1e-8):
    """The released ``SpikingDenseLayer.forward`` (leaky, soft reset, no lateral connections), in unnormalised
    membrane units: ``rst = spk * b * norm``, ``mem = (mem - rst) beta + h (1 - beta)``, spike when
    ``mem / (norm + eps) - b > 0``."""
    h = x @ net.w
    norm = (net.w ** 2).sum(0)
    mem = torch.zeros(x.shape[0], net.hidden)
    spk = torch.zeros_like(mem)
    out = []
    for t in range(x.shape[1]):
        rst = spk * net.b * norm
        mem = (mem - rst) * net.beta + h[:, t] * (1 - net.beta)
        spk = (mem / (norm + eps) - net.b > 0).float()
        out.append(spk)
    return torch.stack(out, 1)


def test_hidden_spikes_are_the_released_code_s():
    """Our membrane is the released one divided by ``||W_j||²``; the spikes agree except where a membrane sits
    within rounding of the threshold (none here: a mismatch would mean different dynamics)."""
    torch.manual_seed(0)
    net = SpikingNetwork(20, 16, 3, seed=1)
    x = torch.poisson(torch.full((8, 30, 20), 0.3))
    with torch.no_grad():
        ours, _ = net.hidden_layer(x)
        theirs = released_hidden_layer(net, x)
    assert ours.sum() > 0 and torch.equal(ours, theirs)


def test_readout_closed_form_equals_the_leaky_loop():
    """``mean_t m_t`` with ``m_t = β m_{t-1} + (1-β) d_t`` is ``Σ_k d_k (1 - β^{T-k}) / T``: the trace's loop and the
    closed form agree to float32 rounding."""
    net = SpikingNetwork(20, 16, 3, seed=2)
    with torch.no_grad():
        net.beta_out.fill_(0.83)
    x = torch.poisson(torch.full((5, 25, 20), 0.5))
    tr = net.trace(x)
    assert torch.allclose(tr["readout"][:, -1], tr["logits"], atol=1e-5)
    assert tr["spikes"].shape == tr["membrane"].shape == (5, 25, 16) and tr["readout"].shape == (5, 25, 3)


def test_gradients_reach_every_parameter_through_the_spikes():
    net = SpikingNetwork(20, 16, 3, seed=3)
    x = torch.poisson(torch.full((8, 30, 20), 0.5))
    torch.nn.functional.cross_entropy(net(x), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])).backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_clamp_keeps_leaks_and_thresholds_in_range():
    net = SpikingNetwork(4, 3, 2, beta_per_neuron=True)
    with torch.no_grad():
        net.beta.copy_(torch.tensor([-0.5, 0.4, 1.7]))
        net.b.fill_(-2.0)
    net.clamp_()
    assert net.beta.tolist() == pytest.approx([0.0, 0.4, 1.0]) and (net.b == 0).all()


@pytest.mark.parametrize("x, error", [(np.zeros((2, 3, 4)), TypeError), (torch.zeros(2, 4), ValueError),
                                      (torch.zeros(2, 3, 5), ValueError), (torch.zeros(2, 3, 4, dtype=torch.long),
                                                                          TypeError)])
def test_bad_inputs_are_named(x, error):
    with pytest.raises(error, match="x: expected"):
        SpikingNetwork(4, 3, 2)(x)


@pytest.mark.parametrize("kwargs, name", [({"hidden": 0}, "hidden"), ({"surrogate": "relu"}, "surrogate"),
                                          ({"beta": 1.5}, "beta"), ({"slope": -1.0}, "slope")])
def test_bad_settings_are_named(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=f"^{name}:"):
        SpikingNetwork(**{"n_inputs": 4, "hidden": 3, "n_classes": 2, **kwargs})


def test_the_snn_learns_the_synthetic_classes():
    """Five caricatured applications (VoIP, video, file, chat, browsing): after 15 epochs on 400 flows the SNN
    classifies fresh flows far above chance (0.2); 0.98 here, 0.8 the bound (the trees reach 0.99 on them)."""
    from workbench.spiking_traffic.encoding import encode
    from workbench.spiking_traffic.flows import synthetic_flows
    from workbench.spiking_traffic.training import TrainSettings, predict_logits, train

    tr, te = synthetic_flows(400, seed=0), synthetic_flows(200, seed=1)
    net = SpikingNetwork(150, 32, 5, seed=0)
    history = train(net, encode(tr), tr.labels, TrainSettings(epochs=15, batch_size=32, lr=5e-3))
    acc = (predict_logits(net, encode(te)).argmax(1).numpy() == te.labels).mean()
    assert acc > 0.8, (acc, history[-1])
    assert math.isclose(net.beta.item(), min(max(net.beta.item(), 0), 1))
