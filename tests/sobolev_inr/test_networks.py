"""The three networks: forward-mode derivatives against reverse-mode autograd and against finite differences of the
network, pixel units, SIREN's initialisation, the Nyquist rule, and bad input."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import assert_names
from workbench.sobolev_inr.networks import INR, NETWORKS, nyquist_frequencies, pixel_grid


def _points(shape, n, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 2, generator=g, dtype=torch.float64) * torch.tensor([shape[1] - 1, shape[0] - 1.0])


@pytest.mark.parametrize("network", NETWORKS)
def test_forward_tangents_equal_reverse_mode_autograd(network):
    """Two ways of computing the same Jacobian in float64: agreement to ~1e-12 relative (rounding only)."""
    net = INR(network, (40, 56), 3, hidden=32, layers=2, seed=3).double()
    xy = _points((40, 56), 64, 0)
    _, jac = net.value_and_gradient(xy)
    ref = net.gradient_autograd(xy)
    assert jac.shape == (64, 3, 2)
    assert torch.allclose(jac, ref, rtol=1e-10, atol=1e-12 * ref.abs().max().item())


@pytest.mark.parametrize("network", ["siren", "relu_pe"])
def test_derivatives_match_finite_differences_of_the_network_in_pixel_units(network):
    """Central differences of the network with a step of 1e-4 pixel: error O(h² f''') ≈ 1e-8 · ω₀³-scale terms, so
    1e-5 relative to the largest derivative is a safe bound in float64 for these smooth networks (ReLU is
    excluded: its kinks make finite differences wrong near a breakpoint)."""
    net = INR(network, (64, 48), 1, hidden=32, layers=2, seed=5).double()
    xy = _points((64, 48), 50, 1)
    _, jac = net.value_and_gradient(xy)
    h = 1e-4
    fd = torch.stack([(net(xy + torch.tensor([h, 0.0], dtype=torch.float64)) - net(xy - torch.tensor(
        [h, 0.0], dtype=torch.float64))) / (2 * h), (net(xy + torch.tensor([0.0, h], dtype=torch.float64))
                                                   - net(xy - torch.tensor([0.0, h], dtype=torch.float64))) / (2 * h)],
                     dim=2)
    assert torch.allclose(jac, fd, atol=1e-5 * jac.abs().max().item())


def test_relu_derivatives_are_piecewise_constant():
    """A ReLU MLP is piecewise linear: along a short segment inside one linear region its derivative does not
    change, which is why its derivative maps are blocky and its second derivatives zero."""
    net = INR("relu", (32, 32), 1, hidden=16, layers=1, seed=0).double()
    x0 = torch.tensor([[10.0, 10.0]], dtype=torch.float64)
    xs = x0 + torch.linspace(0, 1e-6, 5, dtype=torch.float64)[:, None] * torch.tensor([1.0, 0.0])
    _, jac = net.value_and_gradient(xs)
    assert torch.allclose(jac, jac[:1].expand_as(jac), atol=0)


def test_siren_initialisation_bounds():
    """First layer U(−1/2, 1/2) for two inputs, then U(−√(6/n)/ω₀, √(6/n)/ω₀) (Sitzmann et al.)."""
    net = INR("siren", (32, 32), 3, hidden=64, layers=3, seed=0)
    first, *rest = net.hidden_layers
    assert first.weight.abs().max() <= 0.5 and first.weight.abs().max() > 0.45  # 128 draws come close to the bound
    for lin in [*rest, net.output]:
        bound = math.sqrt(6 / 64) / 30
        assert lin.weight.abs().max() <= bound and lin.weight.abs().max() > 0.9 * bound


def test_the_network_sees_coordinates_normalised_inside():
    """``scale`` is d(normalised)/d(pixel) = 2/(W−1), 2/(H−1): corners of the image map to ±1."""
    net = INR("relu", (11, 21), 1)
    assert torch.allclose(net.scale, torch.tensor([2 / 20, 2 / 10]))
    corner = torch.tensor([[20.0, 10.0]]) * net.scale - 1
    assert torch.allclose(corner, torch.ones(1, 2))


@given(samples=st.integers(8, 4096))
@settings(max_examples=50, deadline=None)
def test_nyquist_frequencies_stay_below_the_grids_nyquist_rate(samples):
    """The highest band 2^(L−1)·π in normalised units has a period of 2^(2−L) (of the width 2), i.e.
    samples·2^(1−L)... at least 4 samples per period (the released rule, log₂(samples/4) rounded down)."""
    L = nyquist_frequencies(samples)
    assert 2 ** L <= samples / 4 < 2 ** (L + 1)


@given(h=st.integers(2, 9), w=st.integers(2, 9))
@settings(max_examples=30, deadline=None)
def test_pixel_grid_is_row_major_x_then_y(h, w):
    grid = pixel_grid((h, w)).numpy()
    assert grid.shape == (h * w, 2)
    assert np.array_equal(grid[w], [0, 1]) if h > 1 else True  # the second row starts at x = 0, y = 1
    assert np.array_equal(grid[-1], [w - 1, h - 1])
    mask = np.zeros((h, w), bool)
    mask[h - 1, 0] = True
    assert np.array_equal(pixel_grid((h, w), mask).numpy(), [[0, h - 1]])


def test_render_returns_the_image_and_its_derivatives():
    net = INR("siren", (6, 5), 3, hidden=16, layers=1)
    image, grads = net.render(with_gradient=True, chunk=7)  # chunks that do not divide the 30 pixels
    assert image.shape == (6, 5, 3) and grads.shape == (6, 5, 3, 2)
    v, g = net.value_and_gradient(pixel_grid((6, 5)))
    assert torch.allclose(image.reshape(-1, 3), v, atol=1e-6) and torch.allclose(grads.reshape(-1, 3, 2), g,
                                                                                 atol=1e-5)


@pytest.mark.parametrize("kwargs, name", [
    (dict(network="tanh"), "network"), (dict(shape=(1, 8)), "shape"), (dict(shape=64), "shape"),
    (dict(hidden=0), "hidden"), (dict(layers=-1), "layers"), (dict(omega0=-1.0), "omega0"),
    (dict(network="relu_pe", frequencies=0), "frequencies"), (dict(channels=1.5), "channels"),
])
def test_bad_network_arguments_are_refused_by_name(kwargs, name):
    with pytest.raises((ValueError, TypeError)) as e:
        INR(**kwargs)
    assert_names(e.value, name)


def test_bad_coordinates_are_refused():
    with pytest.raises(ValueError) as e:
        INR("siren", (8, 8), hidden=8)(torch.zeros(4, 3))
    assert_names(e.value, "xy")


@given(network=st.sampled_from(NETWORKS), h=st.integers(2, 40), w=st.integers(2, 40), channels=st.integers(1, 3),
       seed=st.integers(0, 1000))
@settings(max_examples=25, deadline=None)
def test_value_and_gradient_agree_with_the_plain_forward_and_autograd(network, h, w, channels, seed):
    """For any image size, channel count and seed: the values equal ``forward`` exactly and the Jacobian equals
    reverse-mode autograd to float64 rounding."""
    net = INR(network, (h, w), channels, hidden=8, layers=1, seed=seed).double()
    xy = _points((h, w), 7, seed)
    v, jac = net.value_and_gradient(xy)
    assert torch.equal(v, net(xy))
    ref = net.gradient_autograd(xy)
    assert torch.allclose(jac, ref, rtol=1e-9, atol=1e-12 * (1 + ref.abs().max().item()))
