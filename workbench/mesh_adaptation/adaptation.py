"""The fixed-point goal-oriented adaptation loop (E2N's ``run_adapt.py`` / ``run_adapt_ml.py``).

Each iteration on mesh :math:`\\mathcal H_i`: solve the forward problem (QoI :math:`J_i`), estimate the
error per element (``method="dwr"``: base adjoint + enriched adjoint, :mod:`dwr`; ``method="e2n"``: base
adjoint + the network on the element features, :mod:`network`, no enriched space), recover the
Hessians, build the anisotropic goal-oriented metric (:mod:`metric`) for the complexity
:math:`C_i = \\alpha C + (1 - \\alpha) C_0`, :math:`\\alpha = \\min(i/3, 1)` (ramp from ``base_complexity``),
and remesh with Mmg. Stop when, from iteration ``min_iterations`` on, the relative change of the QoI,
the estimator or the element count is below ``rtol``, or after ``max_iterations``; the last forward
solve gives the reported QoI. Each solve starts from the inflow state (no transfer), as in the paper.

Every iteration records the mesh, the element count, DoFs, QoI, estimator and the wall time of each
stage: ``forward``, ``adjoint``, ``estimator`` (enriched solve or network), ``metric``, ``remesh``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from workbench.mesh_adaptation.farm import FarmCase
from workbench.mesh_adaptation.metric import anisotropic_dwr_metric, check_target_complexity
from workbench.mesh_adaptation.remeshing import TriMesh, remesh, uniform_channel_mesh

__all__ = ["Iteration", "AdaptationRun", "adapt", "refine_isotropic", "dorfler_marking", "METHODS", "solve_on"]

METHODS = ("dwr", "e2n")
STAGES = ("forward", "adjoint", "estimator", "metric", "remesh")


@dataclass
class Iteration:
    mesh: TriMesh
    dofs: int
    qoi: float
    estimator: float
    seconds: dict
    indicators: np.ndarray | None = None  # (n_cells,)
    speed: np.ndarray | None = None  # (n_vertices,) |u| at the vertices
    features: np.ndarray | None = None  # (n_cells, N_FEATURES), with collect_features=True

    @property
    def n_cells(self) -> int:
        return self.mesh.n_cells


@dataclass
class AdaptationRun:
    case: FarmCase
    method: str
    target_complexity: float
    iterations: list[Iteration] = field(default_factory=list)
    converged: bool = False

    @property
    def final(self) -> Iteration:
        return self.iterations[-1]

    def seconds(self) -> dict:
        """Total wall time per stage over all iterations."""
        return {s: float(sum(it.seconds.get(s, 0.0) for it in self.iterations)) for s in STAGES}


def solve_on(mesh: TriMesh, case: FarmCase):
    """Build the Firedrake mesh and problem, solve; returns ``(problem, seconds)``."""
    from workbench.mesh_adaptation.mesh_conversion import to_firedrake
    from workbench.mesh_adaptation.solver import ShallowWaterProblem

    t0 = time.perf_counter()
    problem = ShallowWaterProblem(to_firedrake(mesh), case)
    problem.solve()
    return problem, time.perf_counter() - t0


def _speed_at_vertices(problem) -> np.ndarray:
    fd = problem.fd
    u, _ = problem.q.subfunctions
    P1 = fd.FunctionSpace(problem.mesh, "CG", 1)
    return np.array(fd.Function(P1).interpolate(fd.sqrt(fd.dot(u, u))).dat.data_ro)


def _estimate(problem, mesh: TriMesh, t_fwd: float, method: str, model, keep_fields: bool,
              collect_features: bool = False) -> tuple[Iteration, np.ndarray]:
    """One iteration's estimation on a solved ``problem``: adjoint, then the per-element indicators (``"dwr"``:
    the enriched adjoint; ``"e2n"``: the network on the element features), timed. Returns the Iteration
    (fields kept as asked) and the indicators ``(n_cells,)``."""
    from workbench.mesh_adaptation.dwr import coarse_indicators, dwr_indicators
    from workbench.mesh_adaptation.features import element_features

    t0 = time.perf_counter()
    adjoint = problem.solve_adjoint()
    t_adj = time.perf_counter() - t0
    t0 = time.perf_counter()
    features = None
    if method == "e2n":
        features = element_features(problem, adjoint, coarse_indicators(problem, adjoint), trimesh=mesh)
        indicators = model.indicators(features)
    else:
        indicators = dwr_indicators(problem, adjoint).indicators
    t_est = time.perf_counter() - t0
    if collect_features and features is None:
        features = element_features(problem, adjoint, trimesh=mesh)
    iteration = Iteration(mesh, int(problem.W.dim()), problem.qoi(), float(indicators.sum()),
                          {"forward": t_fwd, "adjoint": t_adj, "estimator": t_est},
                          indicators if keep_fields or collect_features else None,
                          _speed_at_vertices(problem) if keep_fields else None, features)
    return iteration, indicators


def adapt(case: FarmCase, target_complexity: float, method: str = "dwr", *, model=None,
          initial_mesh: TriMesh | None = None, base_complexity: float = 200.0, min_iterations: int = 3,
          max_iterations: int = 35, rtol: float = 1e-3, keep_fields: bool = True,
          collect_features: bool = False, progress: Callable | None = None) -> AdaptationRun:
    """Run the fixed-point loop; see the module docstring.

    Args:
        case: the farm. target_complexity: metric complexity (about the vertex count of the final mesh), > 0.
        method: ``"dwr"`` or ``"e2n"`` (then ``model``, a trained :class:`~workbench.mesh_adaptation.network.E2N`).
        initial_mesh: default the quasi-uniform 20 m mesh.
        collect_features: also store each iteration's E2N features (training data with ``method="dwr"``:
            the indicators are the targets).
    """
    from workbench.mesh_adaptation.dwr import recovered_hessians
    from workbench.mesh_adaptation.mesh_conversion import from_firedrake

    target = check_target_complexity(target_complexity)
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    if method == "e2n" and model is None:
        raise ValueError("model: method='e2n' needs a trained E2N network (see network.train_e2n)")
    if not isinstance(case, FarmCase):
        raise TypeError(f"case: expected a FarmCase, got {type(case).__name__}")
    mesh = initial_mesh if initial_mesh is not None else uniform_channel_mesh()
    run = AdaptationRun(case, method, target)
    steps = range(max_iterations)
    if progress is not None:
        steps = progress(steps, total=max_iterations, desc=f"{method} C={target:g}")
    for i in steps:
        problem, t_fwd = solve_on(mesh, case)
        mesh = from_firedrake(problem.mesh)  # the same mesh in Firedrake's cell order (the indicators' order)
        iteration, indicators = _estimate(problem, mesh, t_fwd, method, model, keep_fields, collect_features)
        qoi, estimator = iteration.qoi, iteration.estimator
        run.iterations.append(iteration)
        if i >= min_iterations and len(run.iterations) > 1:
            prev = run.iterations[-2]
            if (abs(qoi - prev.qoi) < rtol * abs(prev.qoi)
                    or abs(estimator - prev.estimator) < rtol * abs(prev.estimator)
                    or abs(iteration.n_cells - prev.n_cells) < rtol * prev.n_cells):
                run.converged = True
                break
        if i == max_iterations - 1:
            break
        t0 = time.perf_counter()
        alpha = min(i / 3.0, 1.0)
        complexity = alpha * target + (1 - alpha) * base_complexity
        hessians = recovered_hessians(problem)
        metric = anisotropic_dwr_metric(mesh.vertices, mesh.triangles, indicators, hessians, complexity)
        iteration.seconds["metric"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        mesh = remesh(mesh, metric)
        iteration.seconds["remesh"] = time.perf_counter() - t0
    return run


def dorfler_marking(indicators: np.ndarray, theta: float) -> np.ndarray:
    """Boolean mask of the fewest cells whose indicators sum to at least ``theta`` of the total (Dorfler 1996)."""
    eta = np.abs(np.asarray(indicators, float))
    if not 0 < theta <= 1:
        raise ValueError(f"theta: expected a fraction in (0, 1], got {theta!r}")
    order = np.argsort(-eta)
    n = int(np.searchsorted(np.cumsum(eta[order]), theta * eta.sum()) + 1)
    mask = np.zeros(len(eta), bool)
    mask[order[:min(n, len(eta))]] = True
    return mask


def refine_isotropic(case: FarmCase, steps: int = 4, theta: float = 0.5, *, initial_mesh: TriMesh | None = None,
                     keep_fields: bool = True) -> AdaptationRun:
    """The isotropic, refine-only baseline: solve, DWR indicators, refine the Dorfler-marked cells with
    Firedrake's ``refine_marked_elements`` (each marked triangle split in four, conforming closure), ``steps``
    times. No coarsening, no anisotropy: what goal-oriented adaptation does without a metric and a remesher.
    ``AdaptationRun.method`` is ``"isotropic"``; stages: forward, adjoint, estimator, remesh (the refinement)."""
    from workbench.mesh_adaptation.mesh_conversion import from_firedrake, to_firedrake
    from workbench.mesh_adaptation.solver import ShallowWaterProblem

    if not isinstance(case, FarmCase):
        raise TypeError(f"case: expected a FarmCase, got {type(case).__name__}")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps: expected a positive integer, got {steps!r}")
    dorfler_marking(np.ones(1), theta)  # checks theta before any solve
    fmesh = to_firedrake(initial_mesh if initial_mesh is not None else uniform_channel_mesh())
    run = AdaptationRun(case, "isotropic", float("nan"))
    for i in range(steps):
        t0 = time.perf_counter()
        problem = ShallowWaterProblem(fmesh, case)
        problem.solve()
        t_fwd = time.perf_counter() - t0
        it, indicators = _estimate(problem, from_firedrake(fmesh), t_fwd, "dwr", None, keep_fields)
        run.iterations.append(it)
        if i == steps - 1:
            break
        t0 = time.perf_counter()
        fd = problem.fd
        marker = fd.Function(fd.FunctionSpace(fmesh, "DG", 0))
        marker.dat.data[:] = dorfler_marking(indicators, theta).astype(float)
        fmesh = fmesh.refine_marked_elements(marker)
        it.seconds["remesh"] = time.perf_counter() - t0
    return run
