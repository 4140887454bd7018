"""The notebook's "try this" exercises, checked against the library (:mod:`workbench.exercises`)."""

from __future__ import annotations

import torch

from kernels import mvue_probabilities, mvue_variance, nm_prune
from workbench.exercises import exercise, is_close

__all__ = ["BLOCK"]

BLOCK = torch.tensor([[1.0, 2.0, 3.0, 4.0]])  # the block the 2:4 exercises use


@exercise("nm_sparsity.mvue_keep_probability",
          hint="MVUE 1:2 keeps an entry with probability proportional to its magnitude: |a_1| / (|a_1| + |a_2|)")
def _keep_probability(answer):
    truth = mvue_probabilities(torch.tensor([[3.0, -1.0]]), 1, 2)[0, 0]
    if not 0 <= float(answer) <= 1:
        return "a probability is between 0 and 1"
    return is_close(answer, truth)


@exercise("nm_sparsity.mse_relative_bias",
          hint="the MSE mask is deterministic: E[θ(x)] is the pruned block itself, so the bias is what it drops; "
               "divide its norm by ‖x‖")
def _mse_bias(answer):
    kept = nm_prune(BLOCK, 2, 4)
    truth = (kept - BLOCK).norm() / BLOCK.norm()
    return is_close(answer, truth)


@exercise("nm_sparsity.mvue_variance",
          hint="water-filling: p_i = min(1, λ|x_i|) with Σ p_i = 2; then sum x_i² (1/p_i − 1) over the block")
def _mvue_variance(answer):
    truth = mvue_variance(BLOCK, 2, 4).sum()
    return is_close(answer, truth)
