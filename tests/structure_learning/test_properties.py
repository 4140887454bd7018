"""Property-based tests (hypothesis) of the structure-learning core's public functions that take user input: any
input gives the documented result or a ``ValueError`` / ``TypeError`` whose message starts with the argument's
name. ``pytest.mark.timeout`` guards against hangs (``LDS(tau=0)`` used to loop forever); nothing asserts speed."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.strategies import assert_names, floats
from workbench.structure_learning import LDS, knn_graph, remove_edges
from workbench.structure_learning.sampler import project, projected_step_
from workbench.structure_learning.taped_graph import Tape

pytestmark = pytest.mark.timeout(120)
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

# any value a caller might pass for a number, good or bad
anything = st.one_of(st.integers(-3, 30), floats(allow_nan=True, allow_infinity=True), st.booleans(),
                     st.none(), st.text(max_size=3))


COUNTS = ("k", "tau", "hidden", "max_inner_steps", "inner_patience", "max_outer", "patience", "n_samples")
RATES = ("inner_lr", "outer_lr", "weight_decay", "dropout")


@SETTINGS
@given(name=st.sampled_from(COUNTS + RATES + ("seed",)), value=anything)
def test_lds_constructor_keeps_valid_settings_and_names_bad_ones(name, value):
    try:
        model = LDS(**{name: value})
    except (TypeError, ValueError) as e:
        assert_names(e, name)
        return
    assert getattr(model, name) == value
    if name in COUNTS:
        assert isinstance(value, int) and not isinstance(value, bool) and value >= 1
    elif name == "seed":
        assert isinstance(value, int) and value >= 0
    else:
        assert np.isfinite(value) and value >= 0 and (name != "dropout" or value < 1)


CORRUPTIONS = {  # one bad value at a time, named by the argument it breaks
    "X": lambda p, v: p["X"].__setitem__((0, 0), v),
    "y": lambda p, v: p["y"].__setitem__(p["train_idx"][0], v),
    "graph": lambda p, v: p["graph"].__setitem__((0, 1), v) if p["graph"] is not None else None,
    "train_idx": lambda p, v: p.__setitem__("train_idx", [v]),
}


@st.composite
def tiny_problems(draw):
    """A valid problem on 4..7 nodes (labels 0..2, -1 or NaN off the splits), now and then with one bad value."""
    n, d = draw(st.integers(4, 7)), draw(st.integers(1, 3))
    X = np.array(draw(st.lists(floats(-5, 5), min_size=n * d, max_size=n * d))).reshape(n, d)
    nodes = draw(st.permutations(range(n)))
    n_train = draw(st.integers(1, n - 2))
    n_val = draw(st.integers(2, n - n_train))
    train, val = nodes[:n_train], nodes[n_train:n_train + n_val]
    y = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), dtype=float)
    y[nodes[n_train + n_val:]] = draw(st.sampled_from([-1.0, np.nan]))
    graph = draw(st.none() | st.lists(st.sampled_from([0.0, 1.0, 0.3]), min_size=n * n, max_size=n * n))
    problem = dict(X=X, y=y, train_idx=train, val_idx=val,
                   graph=None if graph is None else np.array(graph).reshape(n, n))
    if draw(st.integers(0, 2)) == 0:
        CORRUPTIONS[draw(st.sampled_from(sorted(CORRUPTIONS)))](problem, draw(st.sampled_from(
            [np.nan, np.inf, -1.0, 0.5, 2 * n, -1])))
    return problem


@settings(SETTINGS, max_examples=25)
@given(problem=tiny_problems(), k=st.integers(0, 4), tau=st.integers(1, 2), steps=st.integers(1, 3))
def test_lds_fit_on_tiny_inputs_learns_a_valid_graph_or_names_the_input(problem, k, tau, steps):
    model = LDS(k=max(k, 1), tau=tau, max_inner_steps=steps, max_outer=2, patience=1, n_samples=2, seed=0)
    try:
        model.fit(**problem)
    except (TypeError, ValueError) as e:
        assert_names(e, "X", "y", "train_idx", "val_idx", "graph", "k")
        return
    n = len(problem["X"])
    p = model.edge_probs_
    assert p.shape == (n, n) and torch.isfinite(p).all() and torch.equal(p, p.T)
    assert float(p.min()) >= 0 and float(p.max()) <= 1 and torch.all(p.diagonal() == 0)
    proba = model.predict_proba()
    assert proba.shape == (n, model.n_classes_) and torch.allclose(proba.sum(1), torch.ones(n), atol=1e-5)
    labelled = problem["y"][np.r_[problem["train_idx"], problem["val_idx"]]]
    assert model.n_classes_ == int(labelled.max()) + 1


@SETTINGS
@given(n=st.integers(1, 8), d=st.integers(1, 3), k=anything, metric=st.sampled_from(["cosine", "euclidean"]),
       data=st.data())
def test_knn_graph_has_k_neighbours_per_row(n, d, k, metric, data):
    X = np.array(data.draw(st.lists(floats(-10, 10), min_size=n * d, max_size=n * d))).reshape(n, d)
    try:
        g = knn_graph(X, k, metric)
    except (TypeError, ValueError) as e:
        assert_names(e, "k")
        assert not (isinstance(k, int) and not isinstance(k, bool) and 1 <= k < n)
        return
    assert g.shape == (n, n) and set(g.unique().tolist()) <= {0.0, 1.0}
    assert torch.all(g.sum(1) == k) and torch.all(g.diagonal() == 0)


@SETTINGS
@given(n=st.integers(1, 7), fraction=floats(0, 1) | anything, seed=st.integers(-1, 3), data=st.data())
def test_remove_edges_keeps_a_symmetric_subset(n, fraction, seed, data):
    entries = data.draw(st.lists(st.sampled_from([0.0, 1.0, 0.5, 2.0]), min_size=n * n, max_size=n * n))
    graph = np.array(entries).reshape(n, n)
    graph.flat[data.draw(st.integers(0, n * n - 1))] = data.draw(st.sampled_from([1.0, -1.0, np.nan, np.inf]))
    try:
        out = remove_edges(graph, fraction, seed)
    except (TypeError, ValueError) as e:
        assert_names(e, "graph", "fraction", "seed")
        return
    upper = np.triu(graph, 1)
    kept = np.triu(out, 1)
    assert np.array_equal(out, out.T) and np.all(np.diag(out) == 0)
    assert np.all((kept == 0) | (kept == upper))  # a subset of the edges, weights unchanged
    if fraction == 0:
        assert np.array_equal(kept, upper)
    if fraction == 1:
        assert not out.any()


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 12), classes=st.integers(1, 4), labelled_only=st.booleans(), seed=st.integers(0, 2**16))
def test_homophily_is_the_share_of_upper_edge_weight_within_classes(n, classes, labelled_only, seed):
    """The matrix-product form equals the definition sum_{i<j} A_ij [y_i = y_j] / sum_{i<j} A_ij, summed pair by
    pair (unlabelled nodes, -1, left out when labelled_only); 1e-12: float64 sums of at most 66 terms in [0, 1)."""
    from workbench.structure_learning.inspect_graph import homophily

    g = torch.Generator().manual_seed(seed)
    adj = torch.rand(n, n, generator=g)
    y = torch.randint(-1, classes, (n,), generator=g)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)
             if not labelled_only or (y[i] >= 0 and y[j] >= 0)]
    total = sum(float(adj[i, j]) for i, j in pairs)
    same = sum(float(adj[i, j]) for i, j in pairs if y[i] == y[j])
    got = homophily(adj, y, labelled_only)
    if total == 0:
        assert np.isnan(got)
    else:
        assert abs(got - same / total) < 1e-12


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 9), ranks=st.lists(st.integers(1, 4), min_size=1, max_size=3), reached=st.booleans(),
       dtype=st.sampled_from([torch.float32, torch.float64]), seed=st.integers(0, 2**16))
def test_symmetric_gradient_is_the_upper_triangle_of_g_plus_its_transpose(n, ranks, reached, dtype, seed):
    """The syr2k path equals ``triu(G + G^T, 1)`` with ``G = L V^T`` from the same factors (``Tape.gradient``)
    and is exactly zero on and below the diagonal (all zero when no probe was reached). Tolerance: one rounding
    per product term, relative to the entries' magnitude (fp32: 1e-5, fp64: 1e-12)."""
    gen = torch.Generator().manual_seed(seed)
    tape = Tape()
    tape.values = [torch.randn(n, r, generator=gen, dtype=dtype) for r in ranks]
    grads = [torch.randn(n, r, generator=gen, dtype=dtype) if reached and i % 2 == 0 else None
             for i, r in enumerate(ranks)]
    got = tape.symmetric_gradient(grads)
    g = tape.gradient(grads)
    want = (g + g.T).triu(1)
    assert got.shape == (n, n) and got.dtype == dtype
    assert torch.all(got.tril() == 0)
    tol = (1e-5 if dtype == torch.float32 else 1e-12) * max(1.0, float(want.abs().max()))
    assert torch.allclose(got, want, rtol=0, atol=tol)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 9), lr=floats(0, 10), seed=st.integers(0, 2**16))
def test_projected_step_in_place_equals_the_projection(n, lr, seed):
    """For strictly upper-triangular ``theta`` and step (LDS's iterate and hypergradient), the in-place step equals
    ``project(theta - lr * step)`` and returns the same tensor; exactly zero on and below the diagonal. Tolerance:
    ``sub_(alpha=lr)`` may fuse the multiply-add, so entries may differ by an fp32 rounding of ``lr * step``."""
    gen = torch.Generator().manual_seed(seed)
    theta = project(torch.rand(n, n, generator=gen))
    step = torch.randn(n, n, generator=gen).triu(1)
    want = project(theta - lr * step)
    got = projected_step_(theta, step, lr)
    assert got is theta
    assert torch.all(got.tril() == 0)
    assert torch.allclose(got, want, rtol=0, atol=1e-6 * max(1.0, lr * float(step.abs().max())))
