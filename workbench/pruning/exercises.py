"""The notebook's "try this" exercises, checked against the library (:mod:`workbench.exercises`)."""

from __future__ import annotations

import torch

from workbench.exercises import exercise, is_close
from workbench.pruning.inference import csr_weight, storage_bytes
from workbench.pruning.masks import keep_top
from workbench.pruning.schedules import cubic_sparsity

__all__ = ["TWO_LAYERS", "SPARSE_WEIGHT"]

TWO_LAYERS = {"a": torch.tensor([0.1, 2.0, 0.3, 0.05]), "b": torch.tensor([1.0, 0.9, 1.1, 1.2])}
SPARSE_WEIGHT = torch.zeros(256, 256).flatten().index_fill(0, torch.arange(0, 65536, 20), 1.0).view(256, 256)


@exercise("pruning.cubic_halfway",
          hint="Zhu & Gupta: s_t = s_f + (s_0 - s_f)(1 - (t - t_0)/(n Δt))³ with s_0 = 0: halfway the bracket is 1/2")
def _cubic_halfway(answer):
    return is_close(answer, cubic_sparsity(50, 0.8, start=0, end=100))


@exercise("pruning.global_removed_from_a",
          hint="global scope: sort all eight magnitudes together and remove the four smallest; count those in 'a'")
def _global_removed(answer):
    masks = keep_top({k: v.abs() for k, v in TWO_LAYERS.items()}, 0.5, "global")
    return is_close(answer, int((~masks["a"]).sum()))


@exercise("pruning.csr_bytes",
          hint="CSR stores nnz float32 values (4 bytes), nnz int64 column indices (8 bytes) and rows + 1 int64 row "
               "pointers (8 bytes)")
def _csr_bytes(answer):
    return is_close(answer, storage_bytes(csr_weight(SPARSE_WEIGHT)))
