"""Property-based tests (hypothesis) of the mesh-adaptation core (no Firedrake): the target-complexity check, the
metric check and builders, and ``remesh``. Any input gives the documented result or a ``ValueError`` / ``TypeError``
whose message starts with the argument's name. ``pytest.mark.timeout`` guards against hangs and runaway Mmg runs;
nothing asserts speed."""

import numpy as np
import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from tests.strategies import floats
from workbench.mesh_adaptation.metric import (CELLS_PER_COMPLEXITY, MAX_CELLS, MAX_COMPLEXITY, anisotropic_dwr_metric,
                                              check_metric, check_target_complexity, complexity)
from workbench.mesh_adaptation.remeshing import rectangle_mesh, remesh

pytestmark = pytest.mark.timeout(120)
SETTINGS = settings(deadline=None, max_examples=60)
GRID = rectangle_mesh(6, 3, length=1.0, width=1.0)  # the unit square: complexity = mean sqrt(det M)
T = len(GRID.triangles)

anything = st.one_of(floats(allow_nan=True, allow_infinity=True), st.integers(-5, 10 ** 13), st.booleans(),
                     st.none(), st.text(max_size=3))
finite = floats(-1e6, 1e6, allow_subnormal=False)


def mostly(good, bad):
    """``good`` three times in four, else ``bad``."""
    return st.integers(0, 3).flatmap(lambda i: bad if i == 0 else good)


def assert_names(error: Exception, *names: str) -> None:
    head = str(error).split(":")[0]
    assert any(n in head.split(", ") for n in names), (names, str(error))


@settings(SETTINGS, max_examples=150)
@given(target=mostly(floats(1, 2 * MAX_COMPLEXITY), anything))
def test_target_complexity_is_a_positive_number_up_to_the_cell_bound(target):
    try:
        got = check_target_complexity(target)
    except (TypeError, ValueError) as e:
        assert_names(e, "target_complexity")
        assert not (isinstance(target, (int, float)) and not isinstance(target, bool)
                    and np.isfinite(target) and 0 < target <= MAX_COMPLEXITY)
        return
    assert got == target and 0 < got <= MAX_COMPLEXITY


def tensors(a, b, c, skew):
    return np.array([[a, b], [b + skew, c]])


@SETTINGS
@given(a=finite, b=finite, c=finite, skew=st.sampled_from([0.0, 0.0, 1.0, np.nan]), scale=floats(1e-4, 1e6),
       vertex=st.integers(0, len(GRID.vertices) - 1))
def test_check_metric_accepts_exactly_the_spd_metrics_within_the_cell_bound(a, b, c, skew, scale, vertex):
    M = np.broadcast_to(np.eye(2) * scale, (len(GRID.vertices), 2, 2)).copy()
    M[vertex] = tensors(a, b, c, skew)
    lam = np.linalg.eigvalsh(M[vertex]) if skew == 0 else None
    assume(lam is None or abs(lam).min() > 1e-9 * max(abs(lam).max(), 1e-300))  # clear of the singular boundary
    spd = skew == 0 and lam.min() > 0
    try:
        got = check_metric(GRID.vertices, GRID.triangles, M)
    except ValueError as e:
        assert_names(e, "metric")
        assert not spd or CELLS_PER_COMPLEXITY * complexity(GRID.vertices, GRID.triangles, M) > MAX_CELLS
        return
    assert spd and np.array_equal(got, M)
    assert CELLS_PER_COMPLEXITY * complexity(GRID.vertices, GRID.triangles, got) <= MAX_CELLS


@SETTINGS
@given(eta=st.lists(floats(0, 1e300) | st.just(0.0), min_size=T, max_size=T), cell=st.integers(0, T - 1),
       odd=st.sampled_from([None, None, None, 0.0, -3.0, 1e-320, np.nan, np.inf]),
       hess=st.lists(mostly(finite, st.sampled_from([1e300, np.nan])), min_size=3, max_size=3),
       target=mostly(floats(1, 5e4), anything), rate=mostly(floats(0.1, 3), floats(-1, 3) | anything))
def test_dwr_metric_is_spd_within_the_size_bounds_or_names_the_input(eta, cell, odd, hess, target, rate):
    """All-zero and subnormal indicators included: never NaN, always a metric that meets the constraints."""
    h_min, h_max, a_max = 1e-3, 10.0, 1e3
    eta = np.array(eta)
    if odd is not None:
        eta[cell] = odd
    H = np.broadcast_to(tensors(*hess, 0.0), (T, 2, 2))
    try:
        M = anisotropic_dwr_metric(GRID.vertices, GRID.triangles, eta, H, target, rate,
                                   h_min=h_min, h_max=h_max, a_max=a_max)
    except (TypeError, ValueError) as e:
        event(f"refused: {str(e).split(':')[0]}")
        assert_names(e, "indicators", "hessians", "target_complexity", "convergence_rate")
        return
    assert np.isfinite(M).all() and np.allclose(M, np.swapaxes(M, 1, 2))
    lam = np.linalg.eigvalsh(M)
    assert np.all(lam >= (1 - 1e-9) / h_max ** 2) and np.all(lam <= (1 + 1e-9) / h_min ** 2)
    assert np.all(lam[:, 1] <= lam[:, 0] * a_max ** 2 * (1 + 1e-6))
    event("built")


@settings(SETTINGS, max_examples=25)
@given(lam1=mostly(floats(1e-3, 2e3), floats(-10, -0.1) | floats(1e9, 1e12)),
       lam2=mostly(floats(1e-3, 2e3), floats(-10, -0.1) | st.just(0.0)), angle=floats(0, np.pi))
def test_remesh_gives_a_valid_mesh_or_refuses_before_mmg(lam1, lam2, angle):
    """A constant metric with eigenvalues lam1, lam2 (sizes lam^-1/2) rotated by ``angle``: Mmg runs only when the
    metric is SPD and asks for at most MAX_CELLS cells; what comes back covers the square."""
    v = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    M = np.broadcast_to(v @ np.diag([lam1, lam2]) @ v.T, (len(GRID.vertices), 2, 2))
    lo, hi = np.linalg.eigvalsh(M[0])  # the rotation rounds: judge the tensor actually passed
    assume(abs(lo) > 1e-9 * max(abs(hi), 1e-300))  # clear of the singular boundary
    assume(lo < 0 or hi / lo < 1e4)  # Mmg is slow on extreme anisotropy
    try:
        out = remesh(GRID, M)
    except ValueError as e:
        event("refused")
        assert_names(e, "metric")
        assert lo < 0 or CELLS_PER_COMPLEXITY * np.sqrt(lo * hi) > MAX_CELLS * (1 - 1e-6)
        return
    event("remeshed")
    assert lo > 0 and out.n_cells <= 2 * MAX_CELLS
    assert out.areas().sum() == pytest.approx(1.0, rel=1e-9) and np.all(out.areas() > 0)
