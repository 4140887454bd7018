"""Whole models compressed: the parametrized SQF layers reproduce their fit, train with their support fixed, and
the storage adds up."""

import torch

from workbench.compression.model import compress_model, fake_quantize


def _net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))


def test_fake_quantize_rounds_forward_and_passes_gradients_through():
    x = torch.tensor([0.26, -0.74, 5.0], requires_grad=True)
    y = fake_quantize(x, torch.tensor(0.5), 2)  # levels ±0.25, ±0.75
    assert torch.equal(y.detach(), torch.tensor([0.25, -0.75, 0.75]))
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones(3))


def test_sqf_layers_reproduce_their_fit_and_fine_tune_on_a_fixed_support():
    net = _net()
    cm = compress_model(net, "sqf", 3.0)
    assert cm.bits_per_weight <= 3.0 and not cm.fallbacks
    assert cm.storage.weights == sum(m.weight.numel() for m in net if isinstance(m, torch.nn.Linear))
    for name, est in cm.layers.items():
        layer = dict(cm.net.named_modules())[name]
        assert torch.allclose(layer.weight, est.reconstruct(), atol=1e-6)  # the same grid, the same product
    trainable = [n for n, p in cm.net.named_parameters() if p.requires_grad]
    assert not any(n.endswith("original") for n in trainable)  # the dense weight is not trained
    x, y = torch.randn(64, 16), torch.randint(0, 4, (64,))
    opt = torch.optim.SGD([p for p in cm.net.parameters() if p.requires_grad], lr=0.5)
    before = {n: p.detach().clone() for n, p in cm.net.named_parameters() if p.requires_grad}
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(cm.net(x), y).backward()
        opt.step()
    moved = [n for n, p in cm.net.named_parameters() if p.requires_grad and not torch.equal(p, before[n])]
    assert any(n.endswith(".z") for n in moved) and any(n.endswith(".c") for n in moved)
    for name, est in cm.layers.items():  # the trained layer is still a product of s-sparse rows and a dictionary
        p = dict(cm.net.named_modules())[name].parametrizations.weight[0]
        assert torch.equal(p.index, est.z_index_) and p.z.shape == est.z_index_.shape


def test_other_methods_hold_a_fixed_reconstruction():
    net = _net()
    cm = compress_model(net, "quant", 4.5)
    for name, est in cm.layers.items():
        layer = dict(cm.net.named_modules())[name]
        assert torch.equal(layer.weight, est.reconstruct()) and not layer.weight.requires_grad
    ref = cm.current_relative_error(net)
    assert abs(ref - cm.relative_error) < 1e-6


def test_a_layer_support_fine_tunes_its_kept_weights_and_nothing_else():
    from workbench.compression.model import QuantizedFactors
    from workbench.compression.sqf import SparseQuantizedFactorization

    W = torch.randn(6, 20, generator=torch.Generator().manual_seed(3)) * torch.linspace(0.3, 3.0, 6)[:, None]
    f = SparseQuantizedFactorization(20, 5.5, 4, dictionary="identity", support="layer").fit(W)
    p = QuantizedFactors(f)
    assert torch.allclose(p(None), f.reconstruct(), atol=1e-6)  # the padding of shorter rows adds nothing
    opt = torch.optim.SGD(p.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        ((p(None) - 2 * W) ** 2).sum().backward()
        opt.step()
    after = p(None).detach()
    assert not torch.allclose(after, f.reconstruct())  # the kept weights moved
    assert torch.equal(after != 0, f.Z_ != 0)  # and only they are non-zero (C = I: the weight is Z)
