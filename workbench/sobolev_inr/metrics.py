"""The paper's scores of a reconstruction: PSNR on the luma of the test pixels, SSIM on the luma with a
``stride``-pixel border cropped (scikit-image's metrics, with the Gaussian 11×11 window of σ = 1.5 that kornia's
SSIM uses).
"""

from __future__ import annotations

import math

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from workbench.sobolev_inr.images import check_image, luma, train_mask

__all__ = ["psnr", "ssim", "scores"]


def _pair(reference, estimate) -> tuple[np.ndarray, np.ndarray]:
    reference = check_image(reference, "reference")
    if not isinstance(estimate, np.ndarray):
        raise TypeError(f"estimate: expected a numpy array, got {type(estimate).__name__}")
    estimate = estimate[:, :, None] if estimate.ndim == 2 else estimate
    if estimate.shape != reference.shape:
        raise ValueError(f"estimate: expected the reference's shape {reference.shape}, got {estimate.shape}")
    if not np.isfinite(estimate).all():
        raise ValueError("estimate: expected finite values, got NaN or inf")
    return reference, estimate.astype(np.float64)


def psnr(reference: np.ndarray, estimate: np.ndarray, mask: np.ndarray | None = None) -> float:
    """``10 log₁₀(1 / MSE)`` in dB between the lumas of two ``[0, 1]`` images (``estimate`` is not clipped, as in
    the released code), over the pixels where the bool ``mask (H, W)`` is True (all by default)."""
    reference, estimate = _pair(reference, estimate)
    # luma() checks the range; the estimate may leave [0, 1] a little, so take its luma directly
    ref_y = luma(reference)
    est_y = estimate[:, :, 0] if estimate.shape[2] == 1 else estimate @ np.array([0.257, 0.504, 0.098])
    if mask is not None:
        if mask.shape != ref_y.shape:
            raise ValueError(f"mask: expected shape {ref_y.shape}, got {mask.shape}")
        ref_y, est_y = ref_y[mask], est_y[mask]
    if ref_y.size == 0:
        raise ValueError("mask: expected at least one True pixel, got none")
    if np.array_equal(ref_y, est_y):
        return math.inf  # scikit-image would warn about the division by zero
    return float(peak_signal_noise_ratio(ref_y, est_y, data_range=1.0))


def ssim(reference: np.ndarray, estimate: np.ndarray, border: int = 0) -> float:
    """Mean SSIM of the lumas with ``border`` pixels cropped on each side (Gaussian window σ = 1.5, 11×11, the
    population covariance: kornia's and Wang et al.'s convention)."""
    reference, estimate = _pair(reference, estimate)
    ref_y = luma(reference)
    est_y = estimate[:, :, 0] if estimate.shape[2] == 1 else estimate @ np.array([0.257, 0.504, 0.098])
    if border:
        ref_y, est_y = ref_y[border:-border, border:-border], est_y[border:-border, border:-border]
    if min(ref_y.shape) < 11:
        raise ValueError(f"reference: expected at least 11x11 pixels after cropping {border} on each side (the SSIM "
                         f"window), got {ref_y.shape[0]}x{ref_y.shape[1]}")
    return float(structural_similarity(ref_y, est_y, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                      use_sample_covariance=False))


def scores(reference: np.ndarray, estimate: np.ndarray, stride: int) -> dict:
    """``psnr_test`` (luma, pixels off the training grid), ``psnr_train`` (on it) and ``ssim_test`` (luma,
    ``stride`` border cropped): the paper's evaluation."""
    mask = train_mask(reference.shape[:2], stride)
    test = ~mask if stride > 1 else np.ones_like(mask)  # stride 1 trains on every pixel: score them all
    return {"psnr_test": psnr(reference, estimate, test), "psnr_train": psnr(reference, estimate, mask),
            "ssim_test": ssim(reference, estimate, stride)}
