"""The shared training loop: it learns a separable problem, repeats exactly with a seed, and names bad arguments."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import floats
from workbench.classification import Split, fit_classifier


def _blobs(seed=0, n=200):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 2, generator=g) + 3.0 * y[:, None].float()  # two Gaussians 4.2 sigma apart
    return Split(x[:150], y[:150], x[150:], y[150:])


def _model(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Linear(2, 2)


def test_learns_two_separated_blobs_and_repeats_exactly():
    data = _blobs()
    runs = [fit_classifier(_model(), data, 5, 0.1, 16, 3) for _ in range(2)]
    # blobs 3*sqrt(2) sigma apart: the Bayes error is Phi(-2.1) ~ 2 %; 50 test points allow a few mistakes
    assert runs[0][-1]["test_accuracy"] >= 0.9
    assert runs[0] == runs[1]  # the same seed, the same batches, the same numbers


@settings(deadline=None, max_examples=40)
@given(st.sampled_from(["epochs", "lr", "batch_size", "seed"]),
       st.one_of(st.integers(-3, 0), floats(allow_nan=True, allow_infinity=True), st.none(), st.booleans()))
def test_bad_arguments_are_named_before_any_training(name, value):
    args = {"epochs": 1, "lr": 0.1, "batch_size": 8, "seed": 0}
    args[name] = value
    valid = {"epochs": isinstance(value, int) and not isinstance(value, bool) and value >= 0,
             "lr": isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 100,
             "batch_size": isinstance(value, int) and not isinstance(value, bool) and value >= 1,
             "seed": isinstance(value, int) and not isinstance(value, bool) and value >= 0}[name]
    if valid:
        fit_classifier(_model(), _blobs(n=40), **args)
        return
    with pytest.raises((ValueError, TypeError), match=name):
        fit_classifier(_model(), _blobs(n=40), **args)


def test_model_and_data_are_checked():
    with pytest.raises(TypeError, match="model"):
        fit_classifier("mlp", _blobs(), 1, 0.1)
    with pytest.raises(TypeError, match="data"):
        fit_classifier(_model(), (torch.zeros(3, 2), torch.zeros(3)), 1, 0.1)
    no_labels = torch.zeros(0, dtype=torch.long)
    empty = Split(torch.zeros(0, 2), no_labels, torch.zeros(1, 2), torch.zeros(1, dtype=torch.long))
    with pytest.raises(ValueError, match="data"):
        fit_classifier(_model(), empty, 1, 0.1)
