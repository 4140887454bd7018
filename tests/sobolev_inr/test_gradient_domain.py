"""Gradient-domain tasks: an image from its gradients and one value, the guidance field of seamless cloning, and
bad input."""

import numpy as np
import pytest
import torch

from tests.strategies import assert_names
from workbench.sobolev_inr.gradient_domain import (disk_mask, guidance_field, paste, reconstruct_from_gradients,
                                                   seamless_clone)
from workbench.sobolev_inr.training import derivative_targets


def _blob(n=24, cy=0.4, cx=0.6):
    y, x = np.mgrid[:n, :n] / (n - 1)
    return (0.2 + 0.6 * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 0.05))[:, :, None]


def test_a_smooth_image_comes_back_from_its_gradients_and_one_value():
    """Pointwise (autograd derivatives at the pixels, Adam): a Gaussian blob on 24×24 pixels from its central
    differences and the centre pixel's value, ω₀ = 10 (see ``reconstruct_from_gradients``): the anchor fixes the
    constant, so the PSNR (no mean matching) measures the whole reconstruction. 300 steps reach 32.8 dB here; 25 dB
    is far above what a missing anchor (a free constant), transposed derivatives or ω₀ = 30's drift between pixels
    (13.4 dB) give."""
    image = _blob()
    fit = reconstruct_from_gradients(image, kernel="central", steps=300, batch=None, hidden=64, omega0=10.0,
                                     eval_every=100, method="pointwise")
    assert fit.psnr > 25
    assert fit.reconstruction.shape == image.shape and len(fit.history) == 3


def test_guidance_field_takes_the_source_inside_and_the_target_outside():
    target, source = _blob(16, 0.3, 0.3), _blob(16, 0.7, 0.7)
    region = disk_mask((16, 16), (8, 8), 4)
    v = guidance_field(target, source, region, "central")
    gt, gs = derivative_targets(target, "central"), derivative_targets(source, "central")
    inside = torch.from_numpy(region)
    assert torch.equal(v[inside], gs[inside]) and torch.equal(v[~inside], gt[~inside])
    mixed = guidance_field(target, source, region, "central", mixed=True)
    bigger = torch.where(gs.norm(dim=3, keepdim=True) >= gt.norm(dim=3, keepdim=True), gs, gt)
    assert torch.equal(mixed[inside], bigger[inside])
    assert np.array_equal(paste(target, source, region)[region], source[region])


def test_seamless_clone_keeps_the_surroundings():
    """The values outside the region are supervised: after 200 steps they are within ~30 dB of the target; 20 dB
    is a bound a clone that ignored them (a free constant) cannot meet."""
    target, source = _blob(24, 0.3, 0.3), _blob(24, 0.6, 0.6)
    region = disk_mask((24, 24), (14, 14), 5)
    fit = seamless_clone(target, source, region, steps=200, batch=None, hidden=64, omega0=10.0, eval_every=100)
    assert fit.psnr > 20


@pytest.mark.parametrize("region, name", [
    (np.zeros((16, 16), bool), "region"), (np.ones((16, 16), bool), "region"), (np.zeros((8, 8), bool), "region"),
    (np.zeros((16, 16)), "region"),
])
def test_bad_regions_are_refused_by_name(region, name):
    with pytest.raises(ValueError) as e:
        guidance_field(_blob(16), _blob(16), region)
    assert_names(e.value, name)


def test_bad_gradient_fits_are_refused_by_name():
    with pytest.raises(ValueError) as e:
        guidance_field(_blob(16), _blob(12), disk_mask((16, 16), (8, 8), 3))
    assert_names(e.value, "source")
    with pytest.raises(ValueError) as e:
        reconstruct_from_gradients(_blob(16), kernel="laplace", steps=1)
    assert_names(e.value, "kernel")
    with pytest.raises(ValueError) as e:
        reconstruct_from_gradients(_blob(16), network="cnn", steps=1)
    assert_names(e.value, "network")
    with pytest.raises(TypeError) as e:
        reconstruct_from_gradients(np.zeros((16, 16), dtype=object), steps=1)
    assert_names(e.value, "image")
