"""Images, the every-stride-th-pixel split, the luma, and the scores against scikit-image on known pairs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from tests.strategies import assert_names, floats
from workbench.sobolev_inr.images import (BUNDLED, check_image, check_stride, crop, load_image, luma, to_gray,
                                          train_mask)
from workbench.sobolev_inr.metrics import psnr, scores, ssim


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_images_load_in_unit_range_with_sides_divisible_by_4(name):
    img = load_image(name)
    assert img.ndim == 3 and img.shape[2] in (1, 3) and img.shape[0] % 4 == 0 and img.shape[1] % 4 == 0
    assert 0 <= img.min() and img.max() <= 1 and img.max() > 0.5  # an 8-bit image scaled by 1/255
    assert not img.flags.writeable  # cached: a caller cannot alter what the next one gets


def test_set5_images_have_the_published_sizes(set5):
    sizes = {"baby": (512, 512), "bird": (288, 288), "butterfly": (256, 256), "head": (280, 280),
             "woman": (344, 228)}
    for name, (h, w) in sizes.items():
        assert load_image(name).shape == (h, w, 3)


@given(h=st.integers(1, 12), w=st.integers(1, 12), stride=st.integers(1, 4))
@settings(max_examples=60, deadline=None)
def test_train_mask_takes_one_pixel_per_stride_block(h, w, stride):
    shape = (h * stride, w * stride)
    mask = train_mask(shape, stride)
    assert mask.sum() == h * w and mask[0, 0]
    # every stride x stride block holds exactly one training pixel, at its top-left corner
    blocks = mask.reshape(h, stride, w, stride).sum(axis=(1, 3))
    assert (blocks == 1).all()


@given(h=st.integers(2, 40), w=st.integers(2, 40), stride=st.integers(2, 5))
@settings(max_examples=60, deadline=None)
def test_a_stride_that_does_not_divide_is_refused_by_name(h, w, stride):
    if h % stride == 0 and w % stride == 0:
        assert check_stride((h, w), stride) == stride
    else:
        with pytest.raises(ValueError) as e:
            check_stride((h, w), stride)
        assert_names(e.value, "stride")


@pytest.mark.parametrize("bad, error", [
    ([[0.1, 0.2], [0.3, 0.4]], TypeError),  # a list, not an array
    (np.zeros(5), ValueError),  # 1-D
    (np.zeros((4, 4, 2)), ValueError),  # two channels
    (np.zeros((1, 4)), ValueError),  # one row
    (np.full((4, 4), 1.5), ValueError),  # outside [0, 1]: an unscaled 8-bit image
    (np.full((4, 4), np.nan), ValueError),
    (np.array([["a", "b"], ["c", "d"]]), TypeError),
])
def test_non_images_are_refused_by_name(bad, error):
    with pytest.raises(error) as e:
        check_image(bad)
    assert_names(e.value, "image")


def test_unknown_image_and_bad_crop_are_refused():
    with pytest.raises(ValueError) as e:
        load_image("lena")
    assert_names(e.value, "name")
    with pytest.raises(ValueError) as e:
        crop(np.zeros((8, 8)), (10, 4))
    assert_names(e.value, "size")


def test_luma_is_the_papers_weights_and_grey_is_the_mean():
    rgb = np.zeros((2, 2, 3))
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 1.0, 0.5, 0.25
    assert np.allclose(luma(rgb), 0.257 + 0.504 * 0.5 + 0.098 * 0.25)
    assert np.allclose(to_gray(rgb)[..., 0], (1.0 + 0.5 + 0.25) / 3)
    assert crop(rgb, (2, 2)).shape == (2, 2, 3)


def test_psnr_known_answer_and_against_scikit_image():
    """A uniform error of 0.1 is an MSE of 0.01, i.e. 20 dB at a peak of 1; on a random pair our luma PSNR equals
    scikit-image's on the same lumas (the same formula: agreement to float rounding)."""
    ref = np.full((8, 8), 0.5)
    assert psnr(ref, ref + 0.1) == pytest.approx(20.0, abs=1e-9)
    rng = np.random.default_rng(0)
    a, b = rng.random((16, 16, 3)), rng.random((16, 16, 3))
    ya, yb = a @ [0.257, 0.504, 0.098], b @ [0.257, 0.504, 0.098]
    assert psnr(a, b) == pytest.approx(peak_signal_noise_ratio(ya, yb, data_range=1.0), rel=1e-12)
    mask = rng.random((16, 16)) < 0.5
    assert psnr(a, b, mask) == pytest.approx(peak_signal_noise_ratio(ya[mask], yb[mask], data_range=1.0), rel=1e-12)


def test_ssim_known_answers():
    """SSIM is 1 for identical images and equals scikit-image's Gaussian-window SSIM on the cropped lumas."""
    rng = np.random.default_rng(1)
    a = rng.random((32, 32))
    b = np.clip(a + 0.1 * rng.standard_normal((32, 32)), 0, 1)
    assert ssim(a, a) == pytest.approx(1.0)
    expected = structural_similarity(a[4:-4, 4:-4], b[4:-4, 4:-4], data_range=1.0, gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False)
    assert ssim(a, b, border=4) == pytest.approx(expected, rel=1e-12)


def test_scores_split_train_and_test_pixels():
    """An estimate exact on the training grid and off by 0.1 elsewhere: infinite train PSNR, 20 dB test PSNR."""
    ref = np.full((32, 32), 0.5)
    est = ref + 0.1
    est[train_mask((32, 32), 4)] = 0.5
    s = scores(ref, est, 4)
    assert s["psnr_test"] == pytest.approx(20.0) and np.isinf(s["psnr_train"])


def test_a_mismatched_or_nan_estimate_is_refused():
    with pytest.raises(ValueError) as e:
        psnr(np.zeros((4, 4)), np.zeros((4, 5)))
    assert_names(e.value, "estimate")
    with pytest.raises(ValueError) as e:
        psnr(np.zeros((4, 4)), np.full((4, 4), np.nan))
    assert_names(e.value, "estimate")


@given(err=floats(1e-3, 0.5), grey=st.booleans())
@settings(max_examples=40, deadline=None)
def test_psnr_of_a_uniform_error_is_minus_twenty_log_of_it(err, grey):
    """A uniform error e on every channel: the luma's error is e·Σw (colour) or e (grey), so PSNR = −20 log₁₀ of
    it exactly (float64 rounding)."""
    shape = (6, 6) if grey else (6, 6, 3)
    ref = np.full(shape, 0.25)
    scale = 1.0 if grey else 0.257 + 0.504 + 0.098
    assert psnr(ref, ref + err) == pytest.approx(-20 * np.log10(err * scale), rel=1e-9)
