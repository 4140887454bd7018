"""The quick run's JSON (the CLI, the notebook and the page read it) and the full run as a task grid."""

import json

import pytest

from workbench.compression.experiments import FULL, METHOD_NAMES, Settings, reproduce, tasks
from workbench.compression.budget import METHODS


@pytest.fixture(scope="module")
def quick():
    """The quick run once for the module (about 40 s on 2 cores)."""
    return json.loads(reproduce(quick=True).to_json())


def test_quick_json_has_every_method_layer_and_the_whole_model(quick):
    rows = quick["results"]
    assert {r["method"] for r in rows} == set(METHODS) == set(METHOD_NAMES)
    assert {r["layer"] for r in rows} == {"0", "2", "4", "all"}
    for r in rows:
        assert {"model", "layer", "method", "bits_per_weight", "relative_error", "test_accuracy"} <= set(r)
        if r["relative_error"] is not None:
            assert 0 <= r["relative_error"] and 0 <= r["test_accuracy"] <= 1
        if r["layer"] != "all" and r["bits_per_weight"] is not None:
            assert r["bits_per_weight"] <= r["budget"] + 1e-9  # each layer within its budget, as stored


def test_quick_claims_sqf_compresses_the_mlp_at_two_bits(quick):
    rows = {(r["layer"], r["method"], r["budget"]): r for r in quick["results"]}
    sqf = rows[("all", "sqf", 2.0)]
    assert sqf["fits_budget"] and sqf["bits_per_weight"] <= 2.0
    assert sqf["test_accuracy_before_finetune"] is not None
    # the quick search (one configuration per family, 20 steps) keeps the digits MLP within 3 points of dense at
    # <= 2 bits per weight (the full run's bar is 1 point after 10 epochs; one seed of 450 test digits has a
    # standard error of about 0.8 points)
    assert sqf["test_accuracy"] >= sqf["dense_accuracy"] - 0.03
    # SQF's whole-model error is below the quantized SVD's and uniform quantization's at the same budget
    assert sqf["relative_error"] < rows[("all", "svd", 2.0)]["relative_error"]
    assert sqf["relative_error"] < rows[("all", "quant", 2.0)]["relative_error"]
    assert not rows[("all", "quant", 1.0)]["fits_budget"]  # per-channel scales alone exceed one bit on 64-wide rows


def test_full_run_is_a_grid_of_model_seed_budget_method():
    grid = tasks(FULL)
    assert len(grid) == (3 + 1) * len(FULL.budgets) * len(METHODS)
    assert len({json.dumps(t.params, sort_keys=True) for t in grid}) == len(grid)


def test_settings_are_checked():
    with pytest.raises(ValueError, match="models"):
        Settings(models=("resnet",))
    with pytest.raises(ValueError, match="methods"):
        Settings(methods=("jpeg",))
    with pytest.raises(ValueError, match="budget"):
        Settings(budgets=(0.0,))
