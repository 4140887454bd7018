"""Seed Workbench compute kernels.

Plain functions on :class:`torch.Tensor`. Each op has a vectorized PyTorch implementation (CPU, and
the test oracle); a Triton path for CUDA devices is added op by op. ``kernels`` never imports
``workbench``.
"""

from kernels.nm_mask import nm_mask, nm_prune
from kernels.mvue import mvue_probabilities, mvue_prune, mvue_variance

__all__ = ["nm_mask", "nm_prune", "mvue_prune", "mvue_probabilities", "mvue_variance"]
