"""Property-based tests (hypothesis) of the pruning core's public functions that take user input: any input gives
the documented result or a ValueError/TypeError whose message starts with the argument's name. The timeout is a
hang guard; nothing asserts speed."""

import gzip
import math
import struct

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.strategies import assert_names, floats
from workbench.classification import make_mlp
from workbench.mnist import read_idx_images, read_idx_labels
from workbench.pruning.experiments import NM_PATTERNS, nm_pattern
from workbench.pruning.masks import keep_top
from workbench.pruning.pruner import Pruner, erk_densities, parse_pattern
from workbench.pruning.schedules import Schedule, check_sparsity, cubic_sparsity

pytestmark = pytest.mark.timeout(300)
SETTINGS = settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
anything = st.one_of(st.integers(-3, 30), floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
                     st.text(max_size=4))


@SETTINGS
@given(value=anything)
def test_check_sparsity_accepts_exactly_the_fractions_below_one(value):
    try:
        out = check_sparsity(value)
    except (TypeError, ValueError) as e:
        assert_names(e, "sparsity")
        assert isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 <= value < 1)
        return
    assert 0 <= out < 1 and out == value


@SETTINGS
@given(final=floats(0, 0.99), start=st.integers(0, 50), length=st.integers(1, 200), step=st.integers(0, 400))
def test_cubic_sparsity_stays_between_its_ends_and_never_decreases(final, start, length, step):
    s = cubic_sparsity(step, final, start, start + length)
    assert 0 <= s <= final + 1e-15
    assert cubic_sparsity(step + 1, final, start, start + length) >= s


@SETTINGS
@given(start=anything, end=anything, every=anything, kind=st.sampled_from(["gradual", "one-shot", "linear"]))
def test_schedule_is_valid_or_names_its_argument(start, end, every, kind):
    try:
        sched = Schedule(kind, start=start, end=end, every=every)
    except (TypeError, ValueError) as e:
        assert_names(e, "schedule", "start", "end", "every")
        return
    steps = sched.updates(1000)
    assert steps == sorted(set(steps)) and all(0 <= s < 1000 for s in steps)


@SETTINGS
@given(sizes=st.lists(st.integers(1, 40), min_size=1, max_size=4), sparsity=floats(0, 0.99),
       scope=st.sampled_from(["global", "layer"]), seed=st.integers(0, 1000))
def test_keep_top_keeps_the_right_count_and_the_highest_scores(sizes, sparsity, scope, seed):
    g = torch.Generator().manual_seed(seed)
    scores = {str(i): torch.rand(n, generator=g) for i, n in enumerate(sizes)}
    masks = keep_top(scores, sparsity, scope)
    if scope == "global":
        total = sum(sizes)
        assert sum(int(m.sum()) for m in masks.values()) == round((1 - sparsity) * total)
        kept = torch.cat([scores[k][masks[k]] for k in scores])
        removed = torch.cat([scores[k][~masks[k]] for k in scores])
        if len(kept) and len(removed):
            assert kept.min() >= removed.max()
    else:
        for k, n in zip(scores, sizes):
            assert int(masks[k].sum()) == round((1 - sparsity) * n)
            if 0 < masks[k].sum() < n:
                assert scores[k][masks[k]].min() >= scores[k][~masks[k]].max()


@SETTINGS
@given(shapes=st.lists(st.tuples(st.integers(1, 64), st.integers(1, 64)), min_size=1, max_size=4),
       sparsity=floats(0, 0.99))
def test_erk_densities_meet_the_total_within_one(shapes, sparsity):
    named = {str(i): s for i, s in enumerate(shapes)}
    d = erk_densities(named, sparsity)
    sizes = {k: math.prod(s) for k, s in named.items()}
    assert all(0 <= v <= 1 + 1e-12 for v in d.values())
    assert sum(d[k] * sizes[k] for k in named) == pytest.approx((1 - sparsity) * sum(sizes.values()), rel=1e-9)


@SETTINGS
@given(text=st.one_of(st.text(max_size=6), st.builds(lambda n, m: f"{n}:{m}", st.integers(-2, 9), st.integers(-2, 9)),
                      st.integers(), st.none()))
def test_parse_pattern_accepts_only_n_below_m(text):
    try:
        n, m = parse_pattern(text)
    except (TypeError, ValueError) as e:
        assert_names(e, "pattern")
        return
    assert 1 <= n < m and f"{n}:{m}" == text.replace(" ", "")


@SETTINGS
@given(sparsity=floats(0, 0.99))
def test_nm_pattern_is_the_nearest(sparsity):
    p = nm_pattern(sparsity)
    err = lambda q: abs(1 - int(q.split(":")[0]) / int(q.split(":")[1]) - sparsity)  # noqa: E731
    assert all(err(p) <= err(q) for q in NM_PATTERNS)


@SETTINGS
@given(raw=st.binary(max_size=64), header=st.booleans(), n=st.integers(0, 3), rows=st.integers(0, 3))
def test_idx_readers_read_well_formed_files_and_refuse_the_rest(raw, header, n, rows):
    if header:  # a well-formed header, with a body of the right length or not
        raw = struct.pack(">IIII", 2051, n, rows, rows) + raw[: n * rows * rows]
    try:
        images = read_idx_images(raw)
    except ValueError as e:
        assert_names(e, "raw")
    else:
        assert images.dtype == np.uint8 and images.ndim == 3 and images.size == len(raw) - 16
    try:
        labels = read_idx_labels(raw)
    except ValueError as e:
        assert_names(e, "raw")
    else:
        assert labels.ndim == 1 and labels.size == len(raw) - 8


def test_idx_readers_known_answer():
    images = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    raw = struct.pack(">IIII", 2051, 2, 3, 3) + images.tobytes()
    assert np.array_equal(read_idx_images(gzip.decompress(gzip.compress(raw))), images)
    assert np.array_equal(read_idx_labels(struct.pack(">II", 2049, 3) + bytes([7, 0, 9])), [7, 0, 9])


@settings(deadline=None, max_examples=30, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(["sparsity", "epochs", "lr", "batch_size", "score_batches", "seed", "drop_fraction",
                             "scope", "method"]), value=anything)
def test_pruner_settings_are_valid_or_named_before_any_work(name, value):
    from workbench.classification import Split

    x = torch.randn(8, 64)
    data = Split(x, torch.arange(8) % 10, x, torch.arange(8) % 10)
    try:
        Pruner(**{name: value}, **({} if name == "epochs" else {"epochs": 1})).fit(make_mlp(0), data)
    except (TypeError, ValueError) as e:
        assert_names(e, name)
