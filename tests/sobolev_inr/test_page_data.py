"""Properties of the page's plain-array helpers (workbench.sobolev_inr.page_data) on any input: crops, luma,
training pixels, filter maps, a network's frame and the shipped run's pairs."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.sobolev_inr import page_data as P
from workbench.sobolev_inr.images import BUNDLED, IMAGES, LUMA
from workbench.sobolev_inr.networks import INR

pytestmark = pytest.mark.timeout(300)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(BUNDLED), size=st.sampled_from(P.CROPS))
def test_page_image_is_a_read_only_unit_crop(name, size):
    image = P.page_image(name, size)
    assert image.shape[:2] == (size, size) and image.shape[2] in (1, 3)
    assert image.min() >= 0 and image.max() <= 1 and not image.flags.writeable


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.text(max_size=12), size=st.integers(-10, 1000))
def test_page_image_refuses_what_it_does_not_offer(name, size):
    if name in IMAGES and size in P.CROPS:
        return
    with pytest.raises(ValueError, match="^(image|crop): expected one of"):
        P.page_image(name, size)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(h=st.integers(1, 9), w=st.integers(1, 9), c=st.sampled_from([1, 3]), a=st.floats(-3, 3, allow_subnormal=False),
       b=st.floats(-3, 3, allow_subnormal=False), seed=st.integers(0, 2**16))
def test_to_luma_is_linear_and_keeps_a_grey_channel(h, w, c, a, b, seed):
    rng = np.random.default_rng(seed)
    u, v = rng.normal(size=(h, w, c)), rng.normal(size=(h, w, c))
    # linear in the values (so it maps per-channel derivatives to the luma's); float64 sums of a few terms
    np.testing.assert_allclose(P.to_luma(a * u + b * v), a * P.to_luma(u) + b * P.to_luma(v), atol=1e-12)
    expected = u[:, :, 0] if c == 1 else np.einsum("hwc,c->hw", u, LUMA)
    np.testing.assert_allclose(P.to_luma(u), expected, atol=1e-12)


@pytest.mark.parametrize("bad", [np.zeros((4, 4)), np.zeros((4, 4, 2)), [[0.0]]])
def test_to_luma_refuses_other_shapes(bad):
    with pytest.raises(ValueError, match="^values: expected an"):
        P.to_luma(bad)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(k=st.integers(1, 6), stride=st.sampled_from([1, 2, 4]), c=st.sampled_from([1, 3]), seed=st.integers(0, 99))
def test_training_pixels_are_every_strideth_pixel(k, stride, c, seed):
    image = np.random.default_rng(seed).random((k * stride, 2 * k * stride, c))
    seen = P.training_pixels(image, stride)
    assert seen.shape == (k, 2 * k, c)
    np.testing.assert_array_equal(seen, image[::stride, ::stride])
    if stride > 1:
        with pytest.raises(ValueError, match="^stride: expected a divisor"):
            P.training_pixels(image[:-1], stride)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(BUNDLED), kernel=st.sampled_from(["sobel", "central"]))
def test_target_maps_are_bounded_read_only_float32(name, kernel):
    dx, dy = P.target_maps(name, 64, kernel)
    for d in (dx, dy):
        assert d.shape == (64, 64) and d.dtype == np.float32 and not d.flags.writeable
        # both filters are normalised to a unit step: a derivative of a [0, 1] image is at most 1/2 per pixel for
        # the central difference and for Sobel, times the luma weights' sum (0.859 <= 1); float32 rounding
        assert np.abs(d).max() <= 0.5 + 1e-6


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(c=st.sampled_from([1, 3]), seed=st.integers(0, 50))
def test_frame_is_the_networks_picture(c, seed):
    image = np.random.default_rng(seed).random((8, 8, c))
    net = INR("siren", (8, 8), c, hidden=8, layers=1, stride=4, seed=seed)
    pic = P.frame(net, image)
    assert pic["recon"].shape == (8, 8, c) and pic["dx"].shape == pic["dy"].shape == pic["error"].shape == (8, 8)
    np.testing.assert_allclose(pic["error"], np.abs(P.to_luma(pic["recon"]) - P.to_luma(image)), atol=1e-6)


_names = st.sampled_from(["camera", "baby", "bird", 3, None])
_record = st.fixed_dictionaries({}, optional={
    "image": _names, "network": st.sampled_from(["siren", "relu", None]),
    "loss": st.sampled_from(["value", "sobolev", "other", 1]),
    "psnr_test": st.one_of(st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=False), st.text(max_size=4),
                           st.none())})


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(results=st.one_of(st.lists(_record, max_size=12), st.none(), st.text(max_size=5)),
       extra=st.one_of(st.none(), st.integers()))
def test_shipped_pairs_never_raise_and_keep_only_finite_pairs(results, extra):
    data = {"results": results} if extra is None else extra
    if not isinstance(results, list):
        data = {"results": []} if results is None else results  # a string or a None: no pairs
    pairs = P.shipped_pairs(data)
    keys = [(p["image"], p["network"]) for p in pairs]
    assert len(keys) == len(set(keys))
    for p in pairs:
        assert math.isfinite(p["value"]) and math.isfinite(p["sobolev"]) and p["gain"] == p["sobolev"] - p["value"]


def test_shipped_pairs_finds_a_pair_among_noise():
    results = [{"image": "bird", "network": "relu", "loss": "value", "psnr_test": "21.5"},
               {"image": "bird", "network": "relu", "loss": "sobolev", "psnr_test": 23.0},
               {"image": "bird", "network": "siren", "loss": "value", "psnr_test": float("nan")},
               {"image": "bird", "network": "siren", "loss": "sobolev", "psnr_test": 25.0}, "junk", {"image": 1}]
    assert P.shipped_pairs({"results": results}) == [
        {"image": "bird", "network": "relu", "value": 21.5, "sobolev": 23.0, "gain": 1.5}]
