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
           "anisotropic_dwr_metric", "isotropic_metric", "spd_abs", "compose", "check_target_complexity",
           "check_metric", "MAX_CELLS", "CELLS_PER_COMPLEXITY", "MAX_COMPLEXITY"]

MAX_CELLS = 200_000
"""The largest mesh a metric may ask Mmg for. A metric of complexity :math:`\\mathcal C` gives about
:math:`\\mathcal C` vertices and so about ``CELLS_PER_COMPLEXITY`` :math:`\\mathcal C` triangles (a triangulation
has about twice as many triangles as vertices); :func:`check_metric` refuses more before Mmg runs (a runaway
metric once grew Mmg to 8.4 GB). The paper's finest run, complexity 16,000, asks about 32,000 cells."""
CELLS_PER_COMPLEXITY = 2
MAX_COMPLEXITY = MAX_CELLS / CELLS_PER_COMPLEXITY


def _positive(name: str, value, upper: float = np.inf) -> float:
    """``value`` as a finite float in ``(0, upper]``; otherwise ``TypeError`` / ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a positive number, got {type(value).__name__} {value!r}")
    if not (np.isfinite(value) and 0 < value <= upper):
        bound = f" at most {upper:g}" if np.isfinite(upper) else ""
        raise ValueError(f"{name}: expected a finite positive number{bound}, got {value!r}")
    return float(value)


def check_target_complexity(target) -> float:
    """``target`` as a float in ``(0, MAX_COMPLEXITY]`` (at most :data:`MAX_CELLS` expected cells)."""
    try:
        return _positive("target_complexity", target, MAX_COMPLEXITY)
    except TypeError as exc:
        raise ValueError(str(exc)) from None  # historically a ValueError, kept for callers that catch it


def check_metric(vertices: np.ndarray, triangles: np.ndarray, metric, max_cells: int = MAX_CELLS) -> np.ndarray:
    """``metric`` as float ``(n_vertices, 2, 2)`` tensors that are finite, symmetric and positive-definite, whose
    complexity asks for at most ``max_cells`` cells (:data:`MAX_CELLS`); raises ``ValueError`` naming the first
    bad vertex or the expected cell count."""
    m = np.asarray(metric, float)
    n = len(vertices)
    if m.shape != (n, 2, 2):
        raise ValueError(f"metric: expected tensors of shape ({n}, 2, 2), got {m.shape}")
    scale = np.abs(m).reshape(n, 4).max(axis=1)
    bad = ~np.isfinite(m).reshape(n, 4).all(axis=1)
    bad |= np.abs(m[:, 0, 1] - m[:, 1, 0]) > 1e-10 * scale
    u = m / np.where(scale > 0, scale, 1.0)[:, None, None]  # unit scale: a tiny metric's det must not underflow
    bad |= (u[:, 0, 0] <= 0) | (u[:, 0, 0] * u[:, 1, 1] - u[:, 0, 1] * u[:, 1, 0] <= 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"metric: expected finite symmetric positive-definite tensors, got {m[i].tolist()} at "
                         f"vertex {i}")
    cells = CELLS_PER_COMPLEXITY * complexity(vertices, triangles, m)
    if not cells <= max_cells:
        raise ValueError(f"metric: expected a complexity of at most {max_cells / CELLS_PER_COMPLEXITY:g} (about "
                         f"{max_cells} cells, MAX_CELLS), got {cells / CELLS_PER_COMPLEXITY:.4g} (about {cells:.3g} "
                         f"cells); coarsen the metric")
    return m


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


def normalise(vertices: np.ndarray, triangles: np.ndarray, metric: np.ndarray, target_complexity: float, *,
              name: str = "metric") -> np.ndarray:
    """Rescale (:math:`L^\\infty` normalisation) so that the complexity equals ``target_complexity``; a metric of
    zero or non-finite complexity raises ``ValueError`` naming ``name`` (the argument it came from)."""
    target = check_target_complexity(target_complexity)
    current = complexity(vertices, triangles, metric)
    if not (np.isfinite(current) and current > 0):
        raise ValueError(f"{name}: expected a finite positive complexity to rescale, got {current!r}")
    return metric * (target / current)


def enforce_constraints(metric: np.ndarray, h_min: float = 1e-2, h_max: float = 500.0,
                        a_max: float = 1e5) -> np.ndarray:
    """Clip the sizes :math:`h_i = \\lambda_i^{-1/2}` to ``[h_min, h_max]`` and the aspect ratio to ``a_max``."""
    if not _positive("h_min", h_min) <= _positive("h_max", h_max):
        raise ValueError(f"h_min, h_max: expected 0 < h_min <= h_max, got {h_min!r}, {h_max!r}")
    if not _positive("a_max", a_max) >= 1:
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
    """The Carpio-Prieto-Bermejo goal-oriented metric at the vertices, normalised to ``target_complexity``.

    Only the indicators' ratios matter (their absolute values are used). All-zero indicators (no estimated error
    anywhere) weight every element equally, as constant ones would; each indicator is floored at 1e-30 of the
    largest, since an exactly-zero one would ask for an infinite element. Non-finite indicators or Hessians, a
    degenerate triangle and a non-positive ``convergence_rate`` or ``min_eigenvalue`` raise ``ValueError``.
    """
    target = check_target_complexity(target_complexity)
    p = 1.0 / (_positive("convergence_rate", convergence_rate) + 1.0)
    min_eigenvalue = _positive("min_eigenvalue", min_eigenvalue)
    eta = np.abs(np.asarray(indicators, float))
    if eta.shape != (len(triangles),):
        raise ValueError(f"indicators: expected shape ({len(triangles)},), got {eta.shape}")
    hessians = np.asarray(hessians, float)
    if hessians.shape != (len(triangles), 2, 2):
        raise ValueError(f"hessians: expected shape ({len(triangles)}, 2, 2), got {hessians.shape}")
    for name, values in (("indicators", eta), ("hessians", hessians)):
        if not np.isfinite(values).all():
            i = int(np.argmax(~np.isfinite(values).reshape(len(triangles), -1).all(axis=1)))
            raise ValueError(f"{name}: expected finite values, got {values[i].tolist()} on triangle {i}")
    area = triangle_areas(vertices, triangles)
    if not (np.isfinite(area).all() and (area > 0).all()):
        i = int(np.argmax(~(area > 0)))
        raise ValueError(f"vertices, triangles: expected triangles of finite positive area, got {area[i]!r} for "
                         f"triangle {i}")
    eta = eta / eta.max() if eta.max() > 0 else np.ones_like(eta)
    eta = np.maximum(eta, 1e-30)
    # r_K = |K_hat| / K_opt = (|K_hat| C / sum_L eta_L^p) eta_K^p / |K|; the constant factor goes (normalised
    # below), so r_K is computed relative to its largest value, which neither overflows nor underflows to 0 / 0
    ratio = eta ** p * (area.min() / area)
    ratio = ratio / ratio.max()
    lam, vec = spd_abs(hessians, min_eigenvalue)
    stretch = lam / np.sqrt(lam).prod(axis=1, keepdims=True)  # the product of roots cannot overflow
    cell_metric = compose(ratio[:, None] * stretch, vec)
    metric = clement_interpolate(vertices, triangles, cell_metric)
    metric = normalise(vertices, triangles, metric, target, name="hessians, indicators")
    return enforce_constraints(metric, h_min, h_max, a_max)
