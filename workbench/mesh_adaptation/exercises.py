"""The notebook's "try this" exercises, checked against the library (:mod:`workbench.exercises`)."""

from __future__ import annotations

import numpy as np

from workbench.exercises import exercise, is_close
from workbench.mesh_adaptation.metric import complexity
from workbench.mesh_adaptation.remeshing import uniform_channel_mesh

__all__ = ["ELEMENT_SIZE", "ASPECT"]

ELEMENT_SIZE = 20.0  # m: the constant isotropic metric of the first exercise
ASPECT = (40.0, 10.0)  # m: h_x and h_y of the anisotropic one


def _constant_metric_complexity(hx: float, hy: float) -> float:
    mesh = uniform_channel_mesh(40.0)
    metric = np.broadcast_to(np.diag([hx ** -2, hy ** -2]), (len(mesh.vertices), 2, 2))
    return complexity(mesh.vertices, mesh.triangles, metric)


@exercise("mesh_adaptation.isotropic_complexity",
          hint="the complexity is ∫ sqrt(det M) dx; for M = I / h² the integrand is 1/h² everywhere: the channel's "
               "area (1200 m × 500 m) over h²")
def _isotropic(answer):
    return is_close(answer, _constant_metric_complexity(ELEMENT_SIZE, ELEMENT_SIZE))


@exercise("mesh_adaptation.anisotropic_complexity",
          hint="for M = diag(1/h_x², 1/h_y²), sqrt(det M) = 1 / (h_x h_y): stretching an element in one direction "
               "costs fewer vertices")
def _anisotropic(answer):
    return is_close(answer, _constant_metric_complexity(*ASPECT))
