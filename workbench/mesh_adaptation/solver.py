"""Steady shallow-water flow past a tidal farm, in Firedrake UFL, and the farm's power.

Unknowns :math:`q = (\\mathbf u, \\eta)`: depth-averaged velocity (P2) and free-surface elevation (P1),
Taylor-Hood. With total depth :math:`H = h + \\eta`, bottom drag :math:`C_d` and turbine drag
:math:`c_t = \\tfrac12 C_T' A_T d(\\mathbf x)` (:mod:`farm`),

.. math::  (\\mathbf u \\cdot \\nabla) \\mathbf u + g \\nabla \\eta - \\nabla \\cdot (\\nu \\nabla \\mathbf u)
           + \\frac{(C_d + c_t) |\\mathbf u| \\mathbf u}{H} = 0, \\qquad \\nabla \\cdot (H \\mathbf u) = 0,

with inflow :math:`\\mathbf u = (u_{in}, 0)` at ``x = 0`` (tag 1), :math:`\\eta = 0` (weakly, with the
natural viscous condition) at ``x = L`` (tag 2) and free slip :math:`u_y = 0` on the walls (tag 3).
The weak form is :math:`F(q; v) = 0` for all test functions :math:`v = (\\boldsymbol\\psi, \\phi)`:

.. math::  F = \\int (\\mathbf u\\cdot\\nabla\\mathbf u)\\cdot\\boldsymbol\\psi
           + \\nu \\nabla\\mathbf u : \\nabla\\boldsymbol\\psi
           + g \\nabla\\eta \\cdot \\boldsymbol\\psi
           + \\frac{(C_d + c_t)|\\mathbf u|}{H}\\mathbf u\\cdot\\boldsymbol\\psi
           + \\nabla \\cdot (H \\mathbf u) \\phi \\,dx
           - \\int_{x=L} g \\eta\\, \\boldsymbol\\psi\\cdot\\mathbf n \\, ds.

This equals the form with :math:`g\\eta` and :math:`H\\mathbf u` integrated by parts (both are continuous, so no
element edge carries a jump; :math:`\\boldsymbol\\psi = 0` on the inflow and :math:`\\boldsymbol\\psi\\cdot\\mathbf n =
\\mathbf u\\cdot\\mathbf n = 0` on the walls), so it has the same solution; written element by element
like this, its restriction to a cell is the local residual, which keeps the DWR indicators local.

solved by Newton with a backtracking line search and MUMPS LU (the paper's solver options). The
quantity of interest is the power the turbines extract, :math:`J(q) = \\int \\rho\\, c_t |\\mathbf u|^3 dx`
(MW with :math:`\\rho = 1030 \\cdot 10^{-6}`), as in the paper's code.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from workbench.mesh_adaptation.farm import BUMP_INTEGRAL, GRAVITY, INFLOW_TAG, OUTFLOW_TAG, RHO, WALL_TAG, FarmCase
from workbench.mesh_adaptation.firedrake_support import require_firedrake

__all__ = ["ShallowWaterProblem", "NEWTON_PARAMETERS", "LINEAR_PARAMETERS"]

NEWTON_PARAMETERS = {
    "mat_type": "aij", "snes_type": "newtonls", "snes_linesearch_type": "bt", "snes_rtol": 1e-8,
    "snes_atol": 1e-12, "snes_max_it": 100, "ksp_type": "preonly", "pc_type": "lu",
    "pc_factor_mat_solver_type": "mumps",
}
LINEAR_PARAMETERS = {"mat_type": "aij", "ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"}
SPEED_FLOOR = 1e-6  # |u| = sqrt(u.u + floor^2): differentiable at rest
QUADRATURE_DEGREE = 8  # the drag and power integrands (exp bumps, |u|^3) are not polynomial: fix the rule


@dataclass
class SolveStats:
    newton_iterations: int
    seconds: float


class ShallowWaterProblem:
    """The farm problem on one Firedrake mesh: space, weak form, boundary conditions, QoI and solves.

    Args:
        mesh: a Firedrake mesh of the channel with boundary tags 1 (inflow), 2 (outflow), 3 (walls).
        case: the :class:`~workbench.mesh_adaptation.farm.FarmCase`.
        degree_boost: raise both degrees by this much (``1``: P3-P2, the p-enriched space of DWR).
    """

    def __init__(self, mesh, case: FarmCase, degree_boost: int = 0):
        fd = require_firedrake()
        if not isinstance(case, FarmCase):
            raise TypeError(f"case: expected a FarmCase, got {type(case).__name__}")
        self.fd, self.mesh, self.case = fd, mesh, case
        V = fd.VectorFunctionSpace(mesh, "CG", 2 + degree_boost)
        Q = fd.FunctionSpace(mesh, "CG", 1 + degree_boost)
        self.W = V * Q
        self.q = fd.Function(self.W, name="forward")
        self.reset()
        x, y = fd.SpatialCoordinate(mesh)
        r = case.diameter / 2

        def bump(s):
            return fd.conditional(fd.lt(s * s, 1.0), fd.exp(1.0 - 1.0 / (1.0 - s * s)), 0.0)

        self.density = (sum(bump((x - x0) / r) * bump((y - y0) / r) for x0, y0 in case.turbines)
                        / (BUMP_INTEGRAL * r) ** 2)
        self.turbine_drag = 0.5 * case.thrust_corrected * case.turbine_area * self.density
        self.bcs = [fd.DirichletBC(self.W.sub(0), fd.Constant((case.inflow, 0.0)), INFLOW_TAG),
                    fd.DirichletBC(self.W.sub(0).sub(1), fd.Constant(0.0), WALL_TAG)]
        self.test = fd.TestFunction(self.W)
        self.F = self.residual(self.q, self.test)
        self.stats: SolveStats | None = None

    def reset(self):
        """The initial guess: the inflow velocity everywhere, flat surface."""
        u, eta = self.q.subfunctions
        u.assign(self.fd.Constant((self.case.inflow, 0.0)))
        eta.assign(0.0)

    def residual(self, q, v):
        """The weak form :math:`F(q; v)` (module docstring), linear in ``v``."""
        fd, c = self.fd, self.case
        u, eta = fd.split(q)
        psi, phi = fd.split(v)
        H = c.depth + eta
        speed = fd.sqrt(fd.dot(u, u) + SPEED_FLOOR ** 2)
        n = fd.FacetNormal(self.mesh)
        ds = fd.ds(domain=self.mesh)
        dx = fd.dx(degree=QUADRATURE_DEGREE)
        F = (fd.inner(fd.dot(u, fd.nabla_grad(u)), psi) + c.viscosity * fd.inner(fd.grad(u), fd.grad(psi))
             + GRAVITY * fd.inner(fd.grad(eta), psi) + (c.drag + self.turbine_drag) * speed / H * fd.inner(u, psi)
             + fd.div(H * u) * phi) * dx
        F -= GRAVITY * eta * fd.dot(psi, n) * ds(OUTFLOW_TAG)
        return F

    def qoi_form(self, q):
        """:math:`J(q) = \\int \\rho c_t |u|^3 dx` as a UFL 0-form."""
        fd = self.fd
        u, _ = fd.split(q)
        return RHO * self.turbine_drag * fd.dot(u, u) ** 1.5 * fd.dx(degree=QUADRATURE_DEGREE)

    def qoi(self, q=None) -> float:
        """Farm power in MW."""
        return float(self.fd.assemble(self.qoi_form(self.q if q is None else q)))

    def solve(self, parameters: dict | None = None):
        """Newton solve from the current ``self.q``; returns it (``stats`` holds iterations and time)."""
        fd = self.fd
        t0 = time.perf_counter()
        problem = fd.NonlinearVariationalProblem(self.F, self.q, bcs=self.bcs)
        solver = fd.NonlinearVariationalSolver(problem, solver_parameters=parameters or NEWTON_PARAMETERS)
        solver.solve()
        self.stats = SolveStats(int(solver.snes.getIterationNumber()), time.perf_counter() - t0)
        return self.q

    def solve_adjoint(self, q=None):
        """The adjoint :math:`q^*`: :math:`(\\partial F/\\partial q)^\\top q^* = \\partial J/\\partial q`,
        homogeneous Dirichlet conditions where the forward has Dirichlet ones."""
        fd = self.fd
        q = self.q if q is None else q
        F = self.residual(q, self.test)
        dF = fd.derivative(F, q, fd.TrialFunction(self.W))
        dJ = fd.derivative(self.qoi_form(q), q, self.test)
        adj = fd.Function(self.W, name="adjoint")
        bcs = [fd.DirichletBC(bc.function_space(), 0, bc.sub_domain) for bc in self.bcs]
        fd.solve(fd.adjoint(dF) == dJ, adj, bcs=bcs, solver_parameters=LINEAR_PARAMETERS)
        return adj
