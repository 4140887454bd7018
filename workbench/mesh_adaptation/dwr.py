"""Dual-weighted-residual error indicators with an enriched adjoint, and recovered Hessians.

For the forward solution :math:`q_h` and the adjoint :math:`q_h^*` on mesh :math:`\\mathcal H`, the enriched
space comes from one global refinement (``MeshHierarchy(mesh, 1)``: each triangle split in four) or,
with ``enrichment="p"``, from raising the element degrees by one on the same mesh. There the forward is
transferred (not re-solved), the adjoint :math:`q^*_+` is solved again linearised at it, and the
adjoint error :math:`e^* = q^*_+ - q^*_h` (transferred) weights the residual:

.. math::  \\eta_K = \\Big| \\sum_{K' \\subset K} F_{K'}(q_h; e^*) \\Big|,

:math:`F_{K'}` the residual form restricted to fine cell :math:`K'` (boundary terms go to the cell
they bound), summed over the four children of each coarse cell (PETSc restriction of the P0
cofunction), then made positive. The estimator is :math:`\\sum_K \\eta_K`. ``coarse_indicators`` is the
unenriched version with :math:`q_h^*` itself as weight, an E2N feature.

Shapes: indicators ``(n_cells,)`` in the mesh's cell order; Hessians ``(n_cells, 2, 2)``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from workbench.mesh_adaptation.solver import ShallowWaterProblem

__all__ = ["DWRResult", "dwr_indicators", "coarse_indicators", "cell_residual", "recovered_hessians"]


@dataclass
class DWRResult:
    indicators: np.ndarray  # (n_cells,) eta_K >= 0
    adjoint: object  # the base-mesh adjoint q*_h (Firedrake Function)
    adjoint_seconds: float  # base adjoint solve
    enriched_seconds: float  # refinement, transfer, enriched adjoint and indicator assembly

    @property
    def estimator(self) -> float:
        return float(self.indicators.sum())


def cell_residual(problem: ShallowWaterProblem, q, weight):
    """Per-cell :math:`F_K(q; w)` as a P0 cofunction (boundary terms included in their cell)."""
    fd = problem.fd
    import ufl

    F = fd.replace(problem.residual(q, problem.test), {problem.test: weight})
    w = fd.TestFunction(fd.FunctionSpace(problem.mesh, "DG", 0))
    form = ufl.Form([i.reconstruct(integrand=i.integrand() * w) for i in F.integrals()])
    return fd.assemble(form)


def coarse_indicators(problem: ShallowWaterProblem, adjoint) -> np.ndarray:
    """:math:`|F_K(q_h; q_h^*)|` on the base mesh, no enrichment."""
    return np.abs(np.array(cell_residual(problem, problem.q, adjoint).dat.data_ro))


def dwr_indicators(problem: ShallowWaterProblem, adjoint=None, enrichment: str = "h") -> DWRResult:
    """Enriched DWR indicators for the solved ``problem`` (see the module docstring)."""
    fd = problem.fd
    if enrichment not in ("h", "p"):
        raise ValueError(f"enrichment: expected 'h' (global refinement) or 'p' (degree + 1), got {enrichment!r}")
    t0 = time.perf_counter()
    if adjoint is None:
        adjoint = problem.solve_adjoint()
    t1 = time.perf_counter()
    if enrichment == "h":
        hierarchy = fd.MeshHierarchy(problem.mesh, 1)
        fine = ShallowWaterProblem(hierarchy[1], problem.case)

        def transfer(src, dst):
            for s, d in zip(src.subfunctions, dst.subfunctions):
                fd.prolong(s, d)
    else:
        fine = ShallowWaterProblem(problem.mesh, problem.case, degree_boost=1)

        def transfer(src, dst):
            for s, d in zip(src.subfunctions, dst.subfunctions):
                d.interpolate(s)

    transfer(problem.q, fine.q)
    adj_plus = fine.solve_adjoint(fine.q)
    adj_coarse = fd.Function(fine.W)
    transfer(adjoint, adj_coarse)
    error = fd.Function(fine.W).assign(adj_plus - adj_coarse)
    fine_ind = cell_residual(fine, fine.q, error)
    if enrichment == "h":
        coarse = fd.Cofunction(fd.FunctionSpace(problem.mesh, "DG", 0).dual())
        fd.restrict(fine_ind, coarse)
        values = np.array(coarse.dat.data_ro)
    else:
        values = np.array(fine_ind.dat.data_ro)
    t2 = time.perf_counter()
    return DWRResult(np.abs(values), adjoint, t1 - t0, t2 - t1)


def recovered_hessians(problem: ShallowWaterProblem, q=None) -> np.ndarray:
    """Cell Hessians of the forward solution's components, each made SPD and scaled to unit mean
    :math:`\\sqrt{\\det}`, then averaged (the paper averages the components' Hessian metrics).

    Each component :math:`f \\in \\{u, v, \\eta\\}`: :math:`g = \\Pi_{P1}\\nabla f` (L2 projection), then
    :math:`\\nabla g` is piecewise constant: the cell Hessian.
    """
    from workbench.mesh_adaptation.metric import compose, spd_abs

    fd = problem.fd
    q = problem.q if q is None else q
    u, eta = q.subfunctions
    P1v = fd.VectorFunctionSpace(problem.mesh, "CG", 1)
    T0 = fd.TensorFunctionSpace(problem.mesh, "DG", 0)
    area = np.array(fd.assemble(fd.TestFunction(fd.FunctionSpace(problem.mesh, "DG", 0)) * fd.dx).dat.data_ro)
    total = np.zeros((len(area), 2, 2))
    for f in (u[0], u[1], eta):
        g = fd.project(fd.grad(f), P1v)
        hess = fd.Function(T0).interpolate(0.5 * (fd.grad(g) + fd.grad(g).T))
        lam, vec = spd_abs(np.array(hess.dat.data_ro).reshape(-1, 2, 2), 1e-12)
        scale = (area * np.sqrt(lam.prod(axis=1))).sum() / area.sum()
        total += compose(lam / max(scale, 1e-300), vec)
    return total / 3.0
