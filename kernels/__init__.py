"""Seed Workbench compute kernels.

Plain functions on :class:`torch.Tensor`. Each op has a vectorized PyTorch implementation (CPU, and
the test oracle), and a Triton path used on CUDA devices (``WORKBENCH_KERNELS=torch|triton`` overrides the choice;
see :mod:`kernels._backend`). On CPU, one-pass Numba kernels (:mod:`kernels._numba`) run the N:M ops at 1:2 / 2:4
on large tensors (:mod:`kernels._fused_cpu`) and the forward time loop of :mod:`kernels.lif`
(:mod:`kernels._lif_cpu`). The factorized linear layer (:mod:`kernels.factorized`, on the quantization grid of
:mod:`kernels.quantized`) and the leaky integrate-and-fire time loop of a spiking layer (:mod:`kernels.lif`, with a
surrogate-gradient backward) have a PyTorch and a Triton path, as do the finite-difference image derivatives
(:mod:`kernels.image_gradients`).
``kernels`` never imports ``workbench``.
"""

from kernels.compressed import nm_compress, nm_decompress
from kernels.factorized import factorized_linear, factorized_weight
from kernels.image_gradients import image_gradients
from kernels.lif import SURROGATES, lif
from kernels.mvue import mvue_probabilities, mvue_prune, mvue_variance
from kernels.nm_mask import nm_mask, nm_prune
from kernels.quantized import dequantize, quantize_codes
from kernels.semi_structured import (
    from_semi_structured, nm_linear, semi_structured_backend, semi_structured_supported, to_semi_structured,
)

__all__ = [
    "nm_mask", "nm_prune", "mvue_prune", "mvue_probabilities", "mvue_variance",
    "nm_compress", "nm_decompress", "to_semi_structured", "from_semi_structured", "nm_linear",
    "semi_structured_supported", "semi_structured_backend", "factorized_linear", "factorized_weight", "dequantize",
    "quantize_codes",
    "lif", "SURROGATES", "image_gradients",
]
