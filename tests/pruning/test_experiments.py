"""The quick run's JSON: its documented keys, and the survey's claims as they show on one seed of the MLP."""

import json

import pytest

from workbench.pruning.experiments import METHOD_NAMES, VARIANTS, markdown_tables, nm_pattern

pytestmark = pytest.mark.timeout(600)


def _row(data, method, target):
    return next(r for r in data["results"] if r["method"] == method and r["target"] == target)


def test_quick_json_has_the_documented_keys(quick_report):
    data = json.loads(quick_report.to_json())
    assert data["topic"] == "pruning" and data["quick"] is True
    for r in data["results"]:
        assert {"model", "method", "sparsity", "test_accuracy", "accuracy_drop", "target"} <= set(r)
        assert 0 <= r["sparsity"] < 1 and 0 <= r["test_accuracy"] <= 1
    assert {r["method"] for r in data["results"]} == set(VARIANTS)
    dense = _row(data, "dense", 0.0)
    assert dense["sparsity"] == 0.0
    for r in data["latency"]:
        assert {"model", "format", "sparsity", "ms_per_batch", "bytes"} <= set(r) and r["ms_per_batch"] > 0
    assert {r["format"] for r in data["latency"]} == {"dense", "csr"}
    tables = markdown_tables(data)
    assert METHOD_NAMES["gradual_magnitude"] in tables["mlp"] and "csr" in tables["latency"]


def test_measured_sparsity_meets_each_target(quick_report):
    """One weight per layer of rounding (3 layers of 85k weights): 1e-4. N:M rows at their pattern's sparsity,
    channel rows above the target (a removed channel also removes the next layer's inputs)."""
    for r in quick_report.data["results"]:
        if r["method"] == "nm":
            n, m = map(int, r["pattern"].split(":"))
            assert r["sparsity"] == pytest.approx(1 - n / m, abs=1e-4) and r["pattern"] == nm_pattern(r["target"])
        elif r["method"] == "channel":
            assert r["sparsity"] >= r["target"]
        else:
            assert r["sparsity"] == pytest.approx(r["target"], abs=1e-4)


def test_the_surveys_claims_on_one_seed(quick_report):
    """Gradual magnitude at 80 % stays near dense, random is the worst at 90 %, RigL at 90 % is near gradual
    magnitude. Bound: 2 points. One seed on 450 test digits: an accuracy near 97 % has a binomial standard error
    of 0.8 points, so two of them bound the noise of one run (the full run's 5 seeds give the 1-point claims)."""
    data = quick_report.data
    dense = _row(data, "dense", 0.0)["test_accuracy"]
    gmp80, gmp90 = _row(data, "gradual_magnitude", 0.8), _row(data, "gradual_magnitude", 0.9)
    assert dense - gmp80["test_accuracy"] < 0.02
    at90 = {r["method"]: r["test_accuracy"] for r in data["results"] if r["target"] == 0.9 and r["method"] != "channel"}
    assert min(at90, key=at90.get) == "random" and at90["random"] < sorted(at90.values())[1] - 0.2
    assert abs(at90["rigl"] - gmp90["test_accuracy"]) < 0.02
