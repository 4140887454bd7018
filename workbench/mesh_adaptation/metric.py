"""Riemannian metrics for anisotropic goal-oriented adaptation, on plain arrays (no Firedrake).

A metric is one symmetric positive-definite 2x2 tensor per vertex, ``(n_vertices, 2, 2)``; Mmg makes
every edge ``e`` of the new mesh close to unit length, :math:`e^\\top M e \\approx 1`. Its *complexity*
:math:`\\mathcal C = \\int_\\Omega \\sqrt{\\det M}\\,dx` is close to the new mesh's vertex count.

:func:`anisotropic_dwr_metric` is the goal-oriented metric of Carpio, Prieto and Bermejo (2013) that E2N
uses (Pyroteus' ``anisotropic_dwr_metric``, convergence rate :math:`\\alpha = 1`): on element ``K`` with
error indicator :math:`\\eta_K`, area :math:`|K|` and recovered Hessian :math:`H_K = V \\operatorname{diag}
(\\lambda_1, \\lambda_2) V^\\top`,

.. math::  K_{opt} = \\frac{|K|}{\\mathcal C} \\frac{\\sum_L \\eta_L^{1/(\\alpha+1)}}{\\eta_K^{1/(\\alpha+1)}},\\quad
           r_K = \\Big(\\frac{|\\hat K|}{K_{opt}}\\Big)^{2/d},\\quad
           s_i = \\frac{|\\lambda_i|}{(|\\lambda_1 \\lambda_2|)^{1/d}},\\quad
           M_K = V \\operatorname{diag}(r_K s_1, r_K s_2) V^\\top,

with :math:`|\\hat K| = 1/2` and ``d = 2``: the indicator sets the element's size (equidistributing the
error), the Hessian its shape. Element metrics go to the vertices by Clement interpolation (area-weighted
patch averages), are rescaled to the target complexity and clipped to ``h_min``, ``h_max`` and the
largest aspect ratio.

Shapes: ``vertices (n, 2)``, ``triangles (m, 3)`` (int), indicators ``(m,)``, tensors ``(m | n, 2, 2)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["triangle_areas", "clement_interpolate", "complexity", "normalise", "enforce_constraints",
           "anisotropic_dwr_metric", "isotropic_metric", "spd_abs", "compose", "check_target_complexity"]


def check_target_complexity(target) -> float:
    if isinstance(target, bool) or not isinstance(target, (int, float, np.integer, np.floating)) \
            or not np.isfinite(target) or target <= 0:
        raise ValueError(f"target_complexity: expected a positive number, got {target!r}")
    return float(target)


def triangle_areas(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Unsigned areas ``(m,)``."""
    p = vertices[triangles]
    e1, e2 = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    return 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])


def clement_interpolate(vertices: np.ndarray, triangles: np.ndarray, cell_values: np.ndarray) -> np.ndarray:
    """Vertex values as the area-weighted average of the values on the cells around each vertex."""
    area = triangle_areas(vertices, triangles)
    vals = np.asarray(cell_values, float)
    flat = vals.reshape(len(triangles), -1)
    num = np.zeros((len(vertices), flat.shape[1]))
    den = np.zeros(len(vertices))
    for c in range(3):
        np.add.at(num, triangles[:, c], flat * area[:, None])
        np.add.at(den, triangles[:, c], area)
    return (num / np.maximum(den, 1e-300)[:, None]).reshape((len(vertices),) + vals.shape[1:])


def spd_abs(tensors: np.ndarray, min_eigenvalue: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-decomposition with absolute eigenvalues (at least ``min_eigenvalue``): ``(lam (k, 2), V (k, 2, 2))``."""
    sym = 0.5 * (tensors + np.swapaxes(tensors, -1, -2))
    lam, vec = np.linalg.eigh(sym)
    return np.maximum(np.abs(lam), min_eigenvalue), vec


def compose(lam: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """:math:`V \\operatorname{diag}(\\lambda) V^\\top` for each of ``k`` tensors: ``lam (k, 2)``, ``vec (k, 2, 2)``."""
    return np.einsum("kij,kj,klj->kil", vec, lam, vec)


def complexity(vertices: np.ndarray, triangles: np.ndarray, metric: np.ndarray) -> float:
    """:math:`\\int \\sqrt{\\det M}` with the vertex metric averaged on each triangle (P1 quadrature)."""
    root = np.sqrt(np.maximum(np.linalg.det(metric), 0.0))
    return float((triangle_areas(vertices, triangles) * root[triangles].mean(axis=1)).sum())


def normalise(vertices: np.ndarray, triangles: np.ndarray, metric: np.ndarray, target_complexity: float) -> np.ndarray:
    """Rescale (:math:`L^\\infty` normalisation) so that the complexity equals ``target_complexity``."""
    target = check_target_complexity(target_complexity)
    return metric * (target / complexity(vertices, triangles, metric))


def enforce_constraints(metric: np.ndarray, h_min: float = 1e-2, h_max: float = 500.0,
                        a_max: float = 1e5) -> np.ndarray:
    """Clip the sizes :math:`h_i = \\lambda_i^{-1/2}` to ``[h_min, h_max]`` and the aspect ratio to ``a_max``."""
    if not 0 < h_min <= h_max:
        raise ValueError(f"h_min, h_max: expected 0 < h_min <= h_max, got {h_min!r}, {h_max!r}")
    if not a_max >= 1:
        raise ValueError(f"a_max: expected an aspect ratio >= 1, got {a_max!r}")
    lam, vec = spd_abs(metric)
    lam = np.clip(lam, 1.0 / h_max ** 2, 1.0 / h_min ** 2)
    lam = np.maximum(lam, lam.max(axis=1, keepdims=True) / a_max ** 2)
    return compose(lam, vec)


def isotropic_metric(vertices: np.ndarray, triangles: np.ndarray, indicators: np.ndarray,
                     target_complexity: float, convergence_rate: float = 1.0) -> np.ndarray:
    """The isotropic counterpart: element size from the indicator alone (identity shape)."""
    hess = np.broadcast_to(np.eye(2), (len(triangles), 2, 2))
    return anisotropic_dwr_metric(vertices, triangles, indicators, hess, target_complexity, convergence_rate)


def anisotropic_dwr_metric(vertices: np.ndarray, triangles: np.ndarray, indicators: np.ndarray,
                           hessians: np.ndarray, target_complexity: float, convergence_rate: float = 1.0,
                           min_eigenvalue: float = 1e-5, h_min: float = 1e-2, h_max: float = 500.0,
                           a_max: float = 1e5) -> np.ndarray:
    """The Carpio-Prieto-Bermejo goal-oriented metric at the vertices, normalised to ``target_complexity``."""
    target = check_target_complexity(target_complexity)
    eta = np.abs(np.asarray(indicators, float))
    if eta.shape != (len(triangles),):
        raise ValueError(f"indicators: expected shape ({len(triangles)},), got {eta.shape}")
    hessians = np.asarray(hessians, float)
    if hessians.shape != (len(triangles), 2, 2):
        raise ValueError(f"hessians: expected shape ({len(triangles)}, 2, 2), got {hessians.shape}")
    area = triangle_areas(vertices, triangles)
    p = 1.0 / (convergence_rate + 1.0)
    eta = np.maximum(eta, 1e-30 * max(eta.max(), 1e-300))  # an exactly-zero indicator would ask for an infinite element
    k_opt = area / target * (eta ** p).sum() / eta ** p
    ratio = 0.5 / k_opt  # (|K_hat| / K_opt)^(2/d), d = 2
    lam, vec = spd_abs(hessians, min_eigenvalue)
    stretch = lam / np.sqrt(lam.prod(axis=1, keepdims=True))
    cell_metric = compose(ratio[:, None] * stretch, vec)
    metric = clement_interpolate(vertices, triangles, cell_metric)
    metric = normalise(vertices, triangles, metric, target)
    return enforce_constraints(metric, h_min, h_max, a_max)
