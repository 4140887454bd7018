"""MaskDraws: extendable Monte-Carlo statistics that equal mask_statistics exactly, in any order of requests."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.nm_sparsity.statistics import MaskDraws, mask_statistics


def same(a, b):
    return (a.samples == b.samples and torch.equal(a.mean, b.mean) and torch.equal(a.empirical_variance,
            b.empirical_variance) and torch.equal(a.exact_variance, b.exact_variance))


@settings(max_examples=10, deadline=None)
@given(requests=st.lists(st.integers(2, 60), min_size=1, max_size=5), checkpoint=st.integers(1, 25))
def test_any_order_of_requests_gives_the_statistics_of_a_fresh_run(requests, checkpoint):
    x = torch.randn(8, 12, generator=torch.Generator().manual_seed(3))
    draws = MaskDraws(x, 2, 4, "mvue", dim=1, seed=5, checkpoint=checkpoint)
    for k in requests:  # up and down, as a slider moves: bit-identical to a run from scratch
        assert same(draws.statistics(k), mask_statistics(x, 2, 4, "mvue", k, dim=1, seed=5))


def test_going_up_costs_only_the_new_draws(monkeypatch):
    import workbench.nm_sparsity.statistics as S

    calls = []
    real = S.prune
    monkeypatch.setattr(S, "prune", lambda *a, **k: calls.append(1) or real(*a, **k))
    draws = MaskDraws(torch.randn(4, 8), 1, 2, "mvue", seed=0, checkpoint=10)
    draws.statistics(30)
    assert len(calls) == 30
    draws.statistics(35)  # resumes from the checkpoint at 30
    assert len(calls) == 35
    draws.statistics(25)  # from the checkpoint at 20
    assert len(calls) == 40


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="checkpoint: expected a positive int"):
        MaskDraws(torch.randn(4, 8), 2, 4, checkpoint=0)
    with pytest.raises(ValueError, match="method: expected one of"):
        MaskDraws(torch.randn(4, 8), 2, 4, "magic")
    with pytest.raises(ValueError, match="samples: expected an int >= 2"):
        MaskDraws(torch.randn(4, 8), 2, 4).statistics(1)
