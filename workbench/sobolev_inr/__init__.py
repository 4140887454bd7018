"""Sobolev training of implicit neural representations with approximated image derivatives (Yuan, Zhu, Liu, Ding,
Zhang, Zhang, ECCV 2022): a network ``(x, y) ↦ colour`` fitted to an image's values and to its finite-difference
derivatives.

* :mod:`.images`: Set5 and scikit-image's camera, astronaut and coffee; the every-4th-pixel split; the luma;
* :mod:`.networks`: SIREN, ReLU and ReLU with positional encoding, with exact derivatives by forward tangents;
* :mod:`.training`: the Sobolev loss and the fit (targets from :func:`kernels.image_gradients`);
* :mod:`.metrics`: PSNR and SSIM on the test pixels' luma (scikit-image);
* :mod:`.gradient_domain`: an image from its gradients alone, and seamless cloning;
* :mod:`.stencil_fit`: the gradient-only fit through the network's own finite differences, a pyramid loss up to
  the whole grid and L-BFGS (what rebuilds the 256×256 camera past 30 dB);
* :mod:`.multilevel`: the multilevel derivative loss of the pointwise gradient-only fit (autograd derivatives at
  sampled pixels);
* :mod:`.experiments`: ``reproduce`` (quick in-process, the full grid on the runner);
* :mod:`.explorer`: the page (``Explorer``, loaded on first use: the core never imports the UI).
"""

from workbench.sobolev_inr.experiments import reproduce
from workbench.sobolev_inr.gradient_domain import (GradientFit, disk_mask, guidance_field, paste,
                                                   reconstruct_from_gradients, seamless_clone)
from workbench.sobolev_inr.images import (BUNDLED, IMAGES, SET5, check_image, check_stride, crop, load_image, luma,
                                          to_gray, train_mask)
from workbench.sobolev_inr.metrics import psnr, scores, ssim
from workbench.sobolev_inr.multilevel import multilevel_gradient_loss, train_multilevel
from workbench.sobolev_inr.networks import INR, NETWORK_NAMES, NETWORKS, nyquist_frequencies, pixel_grid
from workbench.sobolev_inr.stencil_fit import network_derivatives, pyramid_loss, train_stencil
from workbench.sobolev_inr.training import (LOSSES, FitResult, FitSettings, derivative_targets, fit_image,
                                            sobolev_loss, train_inr)

__all__ = ["IMAGES", "SET5", "BUNDLED", "load_image", "check_image", "check_stride", "crop", "to_gray", "luma",
           "train_mask", "INR", "NETWORKS", "NETWORK_NAMES", "nyquist_frequencies", "pixel_grid", "LOSSES",
           "FitSettings", "FitResult", "sobolev_loss", "derivative_targets", "fit_image", "train_inr", "psnr",
           "ssim", "scores", "GradientFit", "reconstruct_from_gradients", "guidance_field", "seamless_clone", "paste",
           "disk_mask", "multilevel_gradient_loss", "train_multilevel", "pyramid_loss", "network_derivatives",
           "train_stencil", "reproduce", "Explorer", "warmup"]


def __getattr__(name):
    if name == "Explorer":
        from workbench.sobolev_inr.explorer import Explorer

        return Explorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def warmup() -> None:
    """Import the page's module and load the image it starts from before the first visitor."""
    from workbench.sobolev_inr import explorer

    explorer.starting_image()
