"""The notebook's "try this" exercises, checked against the library (:mod:`workbench.exercises`)."""

from __future__ import annotations

import numpy as np
import torch

from workbench.exercises import exercise, is_close
from workbench.structure_learning.inspect_graph import homophily
from workbench.structure_learning.sampler import project

__all__ = ["THETA", "PATH_GRAPH", "PATH_LABELS"]

THETA = torch.tensor([[0.0, 0.5, 0.2], [0.7, 0.0, 0.9], [0.1, 0.3, 0.0]])  # before the projection
PATH_GRAPH = torch.tensor([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]], dtype=torch.float32)
PATH_LABELS = np.array([0, 0, 1, 1])


@exercise("structure_learning.expected_edges",
          hint="only the strict upper triangle of θ survives the projection, and each kept θ_ij is the probability "
               "of one undirected edge: add them up")
def _expected_edges(answer):
    return is_close(answer, project(THETA).sum())


@exercise("structure_learning.homophily",
          hint="count the edges whose two ends have the same label, over all edges")
def _homophily(answer):
    if not 0 <= float(answer) <= 1:
        return "homophily is a share: between 0 and 1"
    return is_close(answer, homophily(PATH_GRAPH, PATH_LABELS))
