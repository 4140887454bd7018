"""The multilevel derivative loss: level 0 is the per-pixel loss, a slow residual keeps its weight at every level and
a pixel-to-pixel one only at the finest; random blocks stay inside the image; bad input."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.strategies import assert_names
from workbench.sobolev_inr.gradient_domain import reconstruct_from_gradients
from workbench.sobolev_inr.multilevel import bilinear, multilevel_gradient_loss, random_blocks, train_multilevel
from workbench.sobolev_inr.networks import INR
from workbench.sobolev_inr.training import sobolev_loss

FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(blocks=st.integers(1, 4), side=st.sampled_from([1, 2, 4, 8]), channels=st.integers(1, 3),
       seed=st.integers(0, 2 ** 16))
def test_level_zero_is_the_per_pixel_loss(blocks, side, channels, seed):
    """With no coarser level the loss is :func:`sobolev_loss`'s derivative term on the same pixels (float32
    round-off: a relative 1e-5)."""
    gen = torch.Generator().manual_seed(seed)
    pred = torch.randn(blocks, side, side, channels, 2, generator=gen)
    target = torch.randn(blocks, side, side, channels, 2, generator=gen)
    ours = multilevel_gradient_loss((pred - target).reshape(blocks, side, side, 2 * channels), 0)
    n = blocks * side * side
    theirs = sobolev_loss(torch.zeros(n, channels), None, pred.reshape(n, channels, 2), target.reshape(n, channels, 2))
    assert torch.allclose(ours, theirs, rtol=1e-5)


@FAST
@given(levels=st.integers(0, 4), value=st.floats(-3, 3, allow_subnormal=False, allow_nan=False),
       components=st.integers(1, 4))
def test_a_constant_residual_keeps_its_weight_and_a_checkerboard_is_seen_by_level_zero_only(levels, value,
                                                                                              components):
    """The normalised weights sum to one: a residual constant over the block survives every block mean, so the
    loss is its per-pixel value ``K·v²`` at any depth; a residual that alternates in sign from pixel to pixel
    averages to zero on every 2×2 cell, so only level 0 sees it and the loss is ``K·v² / Σ 4^l``. (Exact in
    float32 up to round-off: a relative 1e-5.)"""
    side = 2 ** levels
    constant = torch.full((2, side, side, components), value)
    signs = torch.from_numpy((-1.0) ** np.add.outer(np.arange(side), np.arange(side))).float()
    checker = value * signs[None, :, :, None].expand(2, side, side, components)
    per_pixel = components * value ** 2
    assert multilevel_gradient_loss(constant, levels).item() == pytest.approx(per_pixel, rel=1e-5, abs=1e-6)
    expected = per_pixel / sum(4 ** level for level in range(levels + 1)) if levels else per_pixel
    assert multilevel_gradient_loss(checker, levels).item() == pytest.approx(expected, rel=1e-5, abs=1e-6)


@FAST
@given(h=st.integers(1, 40), w=st.integers(1, 40), size=st.integers(1, 40), count=st.integers(1, 6),
       seed=st.integers(0, 2 ** 16))
def test_random_blocks_are_whole_squares_inside_the_image(h, w, size, count, seed):
    gen = torch.Generator().manual_seed(seed)
    if size > min(h, w):
        with pytest.raises(ValueError, match="size"):
            random_blocks((h, w), size, count, gen)
        return
    rows, cols = random_blocks((h, w), size, count, gen)
    assert rows.shape == cols.shape == (count, size, size)
    assert rows.min() >= 0 and cols.min() >= 0 and rows.max() < h and cols.max() < w
    # each block is the square grid below and right of its corner
    assert torch.equal(rows - rows[:, :1, :1], torch.arange(size)[None, :, None].expand(count, size, size))
    assert torch.equal(cols - cols[:, :1, :1], torch.arange(size)[None, None, :].expand(count, size, size))


@FAST
@given(h=st.integers(2, 12), w=st.integers(2, 12), count=st.integers(1, 4), seed=st.integers(0, 2 ** 16),
       a=st.floats(-2, 2, allow_subnormal=False), b=st.floats(-2, 2, allow_subnormal=False))
def test_bilinear_reproduces_an_affine_field_between_the_pixels(h, w, count, seed, a, b):
    """Bilinear interpolation is exact on ``a·row + b·col + 1`` (float32 round-off on values below 50: 1e-4),
    and at a zero shift it returns the pixels themselves."""
    gen = torch.Generator().manual_seed(seed)
    r, c = np.mgrid[:h, :w]
    field = torch.from_numpy(np.stack([a * r + b * c + 1, -r + 0.0 * c], axis=-1)).float()[:, :, None, :]  # (H,W,1,2)
    rows, cols = random_blocks((h - 1, w - 1), 1, count, gen)
    shift = torch.rand(count, 2, generator=gen)
    got = bilinear(field, rows, cols, shift)
    y = rows.float() + shift[:, 1, None, None]
    x = cols.float() + shift[:, 0, None, None]
    assert got.shape == (count, 1, 1, 1, 2)
    assert torch.allclose(got[..., 0, 0], a * y + b * x + 1, atol=1e-4)
    assert torch.allclose(got[..., 0, 1], -y, atol=1e-4)
    assert torch.equal(bilinear(field, rows, cols, torch.zeros(count, 2)), field[rows, cols])


def test_the_multilevel_fit_recovers_a_smooth_image_from_its_gradients():
    """A 32×32 smooth image (two Gaussian blobs) from its central differences and the centre value, through 16
    random 8×8 blocks a step (levels 3), ω₀ = 10 (what 32-pixel images need: ``reconstruct_from_gradients``).
    300 steps give 22.7 dB here (the per-pixel loss 22.9: on so small an image the levels neither help nor hurt);
    20 dB is far above a free constant (the right image shifted by 0.3: 5.8 dB) or transposed derivatives."""
    y, x = np.mgrid[:32, :32] / 31
    image = (0.2 + 0.5 * np.exp(-((x - 0.3) ** 2 + (y - 0.6) ** 2) / 0.03)
             + 0.2 * np.exp(-((x - 0.7) ** 2 + (y - 0.3) ** 2) / 0.08))[:, :, None]
    fit = reconstruct_from_gradients(image, kernel="central", steps=300, batch=1024, hidden=64, omega0=10.0,
                                     levels=3, eval_every=100, method="pointwise")
    assert fit.psnr > 20
    assert fit.reconstruction.shape == image.shape and [h["step"] for h in fit.history] == [100, 200, 300]


def test_bad_input_names_the_argument():
    image = np.full((16, 16, 1), 0.5)
    with pytest.raises(ValueError) as e:
        reconstruct_from_gradients(image, levels=5, method="pointwise")  # 32-pixel blocks in a 16-pixel image
    assert_names(e.value, "levels")
    assert "16" in str(e.value) and "got 5" in str(e.value)
    with pytest.raises(ValueError) as e:
        multilevel_gradient_loss(torch.zeros(1, 6, 6, 2), 2)  # 4 does not divide 6
    assert_names(e.value, "levels", "6")
    for huge in (10 ** 12, 2 ** 40):  # refused at once: 2**levels is never built
        with pytest.raises(ValueError) as e:
            reconstruct_from_gradients(image, levels=huge, method="pointwise")
        assert_names(e.value, "levels")
        with pytest.raises(ValueError) as e:
            multilevel_gradient_loss(torch.zeros(1, 8, 8, 2), huge)
        assert_names(e.value, "levels")
    with pytest.raises(ValueError) as e:
        multilevel_gradient_loss(torch.zeros(6, 6, 2), 1)
    assert_names(e.value, "residual", "(6, 6, 2)")
    rows, cols = random_blocks((4, 4), 2, 3, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError) as e:
        bilinear(torch.zeros(5, 5, 1, 2), rows, cols, torch.zeros(2, 2))  # 3 blocks, 2 shifts
    assert_names(e.value, "shift")
    with pytest.raises(ValueError) as e:
        bilinear(torch.zeros(5), rows, cols, torch.zeros(3, 2))
    assert_names(e.value, "field")
    net = INR("siren", (8, 8), 1, hidden=8, layers=1)
    with pytest.raises(ValueError) as e:
        train_multilevel(net, torch.zeros(8, 8, 2), levels=1, blocks=1, steps=1, lr=1e-4)
    assert_names(e.value, "grads", "(8, 8, 2)")
    with pytest.raises((ValueError, TypeError)) as e:
        train_multilevel(net, torch.zeros(8, 8, 1, 2), levels=-1, blocks=1, steps=1, lr=1e-4)
    assert_names(e.value, "levels")
    with pytest.raises(ValueError) as e:
        train_multilevel(net, torch.zeros(8, 8, 1, 2), levels=10 ** 12, blocks=1, steps=1, lr=1e-4)
    assert_names(e.value, "levels")
