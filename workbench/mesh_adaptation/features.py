"""E2N's per-element inputs: problem physics, element geometry, forward and adjoint solution values.

:data:`FEATURE_NAMES` (``N_FEATURES = 26``), in SI units, one row per cell of the mesh:

* ``estimator_coarse``: :math:`|F_K(q_h; q_h^*)|`, the DWR indicator without enrichment (MW);
* ``physics_drag``: :math:`\\int_K (C_d + c_t)\\,dx` (m^2; the paper assembles the cell integral, not the mean);
  ``physics_viscosity`` (m^2/s); ``physics_bathymetry``: depth (m);
* ``mesh_d``: :math:`|\\det J_K|` (= twice the area, m^2), ``mesh_h1``, ``mesh_h2``: shape and orientation
  from the eigen-decomposition of :math:`J_K^\\top J_K` with aspect ratio ``ar`` and angle :math:`\\theta`:
  :math:`h_1 = \\cos^2\\theta / ar + \\sin^2\\theta\\, ar`, :math:`h_2 = (1/ar - ar) \\sin\\theta \\cos\\theta`
  (dimensionless; no :math:`0 / 2\\pi` ambiguity); ``mesh_bnd``: length of the cell's boundary edges (m);
* forward: cell means of :math:`u, \\partial_x u, \\partial_y u, v, \\partial_x v, \\partial_y v, \\eta,
  \\partial_x \\eta, \\partial_y \\eta` (m/s, 1/s, m, -); adjoint: the same for :math:`(u^*, v^*, \\eta^*)`.

The paper uses P1DG-P2 and also the elevation's Hessian; with Taylor-Hood the P1 elevation has none, so
this is the paper's list less those three entries per solution.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FEATURE_NAMES", "N_FEATURES", "element_features", "geometry_features"]

_SOLUTION = ["u", "dudx", "dudy", "v", "dvdx", "dvdy", "eta", "detadx", "detady"]
FEATURE_NAMES = (["estimator_coarse", "physics_drag", "physics_viscosity", "physics_bathymetry", "mesh_d", "mesh_h1",
                  "mesh_h2", "mesh_bnd"] + [f"forward_{n}" for n in _SOLUTION] + [f"adjoint_{n}" for n in _SOLUTION])
N_FEATURES = len(FEATURE_NAMES)


def geometry_features(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """``(m, 3)``: ``mesh_d``, ``mesh_h1``, ``mesh_h2`` from each cell's Jacobian (vertex 0 as origin)."""
    p = vertices[triangles]
    J = np.stack([p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]], axis=2)  # columns: the two edges from vertex 0
    d = np.abs(np.linalg.det(J))
    lam, vec = np.linalg.eigh(np.einsum("kji,kjl->kil", J, J))  # ascending eigenvalues of J^T J
    ar = np.sqrt(lam[:, 1] / np.maximum(lam[:, 0], 1e-300))
    big = vec[:, :, 1]  # direction of the largest stretch
    theta = np.arctan2(big[:, 1], big[:, 0])
    h1 = np.cos(theta) ** 2 / ar + np.sin(theta) ** 2 * ar
    h2 = (1.0 / ar - ar) * np.sin(theta) * np.cos(theta)
    return np.c_[d, h1, h2]


def element_features(problem, adjoint, coarse_indicator: np.ndarray | None = None, trimesh=None) -> np.ndarray:
    """``(n_cells, N_FEATURES)`` for a solved :class:`~workbench.mesh_adaptation.solver.ShallowWaterProblem`.

    ``trimesh``: the problem's mesh as a :class:`~workbench.mesh_adaptation.remeshing.TriMesh` in Firedrake's cell
    order, when the caller has it already (else converted here).
    """
    from workbench.mesh_adaptation.dwr import coarse_indicators
    from workbench.mesh_adaptation.mesh_conversion import from_firedrake

    fd, mesh, case = problem.fd, problem.mesh, problem.case
    tri = trimesh if trimesh is not None else from_firedrake(mesh)
    P0 = fd.FunctionSpace(mesh, "DG", 0)
    w = fd.TestFunction(P0)
    area = np.array(fd.assemble(w * fd.dx).dat.data_ro)
    drag = np.array(fd.assemble(w * (case.drag + problem.turbine_drag) * fd.dx).dat.data_ro)
    bnd = np.array(fd.assemble(w * fd.ds).dat.data_ro)
    if coarse_indicator is None:
        coarse_indicator = coarse_indicators(problem, adjoint)
    geometry = geometry_features(tri.vertices, tri.triangles)

    def means(q):
        u, eta = fd.split(q)
        exprs = [u[0], u[0].dx(0), u[0].dx(1), u[1], u[1].dx(0), u[1].dx(1), eta, eta.dx(0), eta.dx(1)]
        V9 = fd.VectorFunctionSpace(mesh, "DG", 0, dim=len(exprs))
        cof = fd.assemble(fd.inner(fd.TestFunction(V9), fd.as_vector(exprs)) * fd.dx)
        return np.array(cof.dat.data_ro) / area[:, None]

    m = len(area)
    out = np.c_[coarse_indicator, drag, np.full(m, case.viscosity), np.full(m, case.depth), geometry, bnd,
                means(problem.q), means(adjoint)]
    assert out.shape == (m, N_FEATURES)
    return out
