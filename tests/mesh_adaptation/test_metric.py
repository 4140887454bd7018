import numpy as np
import pytest

from workbench.mesh_adaptation.metric import (MAX_CELLS, MAX_COMPLEXITY, anisotropic_dwr_metric, check_metric,
                                              check_target_complexity, clement_interpolate, complexity,
                                              enforce_constraints, isotropic_metric, normalise, triangle_areas)
from workbench.mesh_adaptation.remeshing import rectangle_mesh


@pytest.fixture
def grid():
    return rectangle_mesh(24, 10)


def test_constant_metric_complexity_is_area_over_h_squared(grid):
    # M = I / h^2 has sqrt(det M) = 1 / h^2: complexity = 600000 / 400 exactly
    M = np.broadcast_to(np.eye(2) / 20.0 ** 2, (len(grid.vertices), 2, 2))
    assert complexity(grid.vertices, grid.triangles, M) == pytest.approx(600000 / 400, rel=1e-12)
    assert complexity(grid.vertices, grid.triangles, normalise(grid.vertices, grid.triangles, M, 777.0)) \
        == pytest.approx(777.0, rel=1e-12)


def test_clement_interpolation_reproduces_constants_and_averages_by_area(grid):
    vals = np.full(len(grid.triangles), 3.5)
    assert np.allclose(clement_interpolate(grid.vertices, grid.triangles, vals), 3.5)
    lin = grid.vertices[grid.triangles].mean(axis=1)[:, 0]  # x at the centroids
    # interior vertices of a symmetric patch: the area-weighted centroid average is the vertex's x
    got = clement_interpolate(grid.vertices, grid.triangles, lin)
    inner = ((grid.vertices[:, 0] > 1) & (grid.vertices[:, 0] < 1199)
             & (grid.vertices[:, 1] > 1) & (grid.vertices[:, 1] < 499))
    assert np.allclose(got[inner], grid.vertices[inner, 0], atol=1e-9)


def test_dwr_metric_has_the_target_complexity_and_equidistributes(grid):
    eta = np.ones(len(grid.triangles))
    hot = np.argmin(np.linalg.norm(grid.vertices[grid.triangles].mean(1) - [600, 250], axis=1))
    eta[hot] = 1e4
    M = isotropic_metric(grid.vertices, grid.triangles, eta, 2000.0)
    assert complexity(grid.vertices, grid.triangles, M) == pytest.approx(2000.0, rel=1e-6)
    density = np.sqrt(np.linalg.det(M))
    near = grid.triangles[hot]
    # a 1e4 larger indicator asks for elements sqrt(1e4) = 100 times smaller there (alpha = 1: eta^(1/2))
    assert density[near].max() > 10 * np.median(density)


def test_dwr_metric_takes_its_shape_from_the_hessian(grid):
    eta = np.ones(len(grid.triangles))
    hess = np.broadcast_to(np.diag([100.0, 1.0]), (len(grid.triangles), 2, 2))
    M = anisotropic_dwr_metric(grid.vertices, grid.triangles, eta, hess, 1000.0)
    lam, vec = np.linalg.eigh(M)
    # stretching s_i = |lambda_i| / sqrt(|lambda_1 lambda_2|): metric eigenvalue ratio 100, finer along x
    assert np.allclose(lam[:, 1] / lam[:, 0], 100.0, rtol=1e-6)
    assert np.allclose(np.abs(vec[:, 0, 1]), 1.0, atol=1e-6)


def test_constraints_clip_sizes_and_aspect_ratio():
    M = np.array([np.diag([1e8, 1e-8])])
    out = enforce_constraints(M, h_min=1.0, h_max=100.0, a_max=10.0)
    lam = np.linalg.eigvalsh(out)[0]
    assert lam.max() == pytest.approx(1.0) and lam.min() == pytest.approx(1e-2)


@pytest.mark.parametrize("bad", [0, -5.0, float("nan"), "100", 1e12, MAX_COMPLEXITY * 1.01])
def test_target_complexity_must_be_positive_and_bounded(grid, bad):
    with pytest.raises(ValueError, match="target_complexity"):
        isotropic_metric(grid.vertices, grid.triangles, np.ones(len(grid.triangles)), bad)


def test_largest_target_complexity_is_accepted():
    assert check_target_complexity(MAX_COMPLEXITY) == MAX_COMPLEXITY == MAX_CELLS / 2


def test_all_zero_indicators_give_the_metric_of_constant_ones(grid):
    """Zero indicators everywhere used to give an all-NaN metric (0 / 0); now they weight every element
    equally, exactly as constant indicators do."""
    zero = isotropic_metric(grid.vertices, grid.triangles, np.zeros(len(grid.triangles)), 800.0)
    ones = isotropic_metric(grid.vertices, grid.triangles, np.ones(len(grid.triangles)), 800.0)
    assert np.isfinite(zero).all() and np.array_equal(zero, ones)
    assert complexity(grid.vertices, grid.triangles, zero) == pytest.approx(800.0, rel=1e-9)


@pytest.mark.parametrize("field, value", [("indicators", np.nan), ("indicators", np.inf), ("hessians", np.nan)])
def test_non_finite_indicators_or_hessians_are_refused(grid, field, value):
    args = {"indicators": np.ones(len(grid.triangles)),
            "hessians": np.broadcast_to(np.eye(2), (len(grid.triangles), 2, 2)).copy()}
    args[field][7] = value
    with pytest.raises(ValueError, match=f"{field}: expected finite values, .* on triangle 7"):
        anisotropic_dwr_metric(grid.vertices, grid.triangles, target_complexity=500.0, **args)


@pytest.mark.parametrize("tensor", [np.zeros((2, 2)), -np.eye(2), np.diag([1.0, -1.0]), [[1.0, 2.0], [0.0, 1.0]],
                                    np.eye(2) * np.nan])
def test_metric_must_be_symmetric_positive_definite(grid, tensor):
    M = np.broadcast_to(np.eye(2) / 400, (len(grid.vertices), 2, 2)).copy()
    M[5] = tensor
    with pytest.raises(ValueError, match="metric: expected finite symmetric positive-definite tensors, .* vertex 5"):
        check_metric(grid.vertices, grid.triangles, M)


def test_metric_asking_for_too_many_cells_is_refused(grid):
    # M = I / h^2 on 600000 m^2 asks 600000 / h^2 vertices, about twice as many cells
    h = np.sqrt(600000 / (MAX_COMPLEXITY * 0.99))
    ok = np.broadcast_to(np.eye(2) / h ** 2, (len(grid.vertices), 2, 2))
    assert check_metric(grid.vertices, grid.triangles, ok).shape == ok.shape
    with pytest.raises(ValueError, match=f"at most 100000 .*{MAX_CELLS} cells"):
        check_metric(grid.vertices, grid.triangles, ok * 1.03)


def test_normalising_a_zero_metric_is_refused(grid):
    with pytest.raises(ValueError, match="metric: expected a finite positive complexity"):
        normalise(grid.vertices, grid.triangles, np.zeros((len(grid.vertices), 2, 2)), 100.0)


def test_areas(grid):
    assert triangle_areas(grid.vertices, grid.triangles).sum() == pytest.approx(1200 * 500)


def test_dorfler_marking_takes_the_fewest_cells_reaching_the_fraction():
    from workbench.mesh_adaptation.adaptation import dorfler_marking

    eta = np.array([1.0, 5.0, 3.0, 1.0])  # total 10: 50 % needs only the 5, 60 % the 5 and the 3
    assert dorfler_marking(eta, 0.5).tolist() == [False, True, False, False]
    assert dorfler_marking(eta, 0.6).tolist() == [False, True, True, False]
    assert dorfler_marking(eta, 1.0).sum() == 4
    with pytest.raises(ValueError, match="theta"):
        dorfler_marking(eta, 0.0)
