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


def test_sqf_against_baselines_finds_each_worse_cell_and_allows_only_the_codebook_margin():
    from workbench.compression.experiments import TIE, markdown_tables, sqf_against_baselines

    def row(layer, method, budget, err, bits=1.0):
        return {"model": "mlp", "layer": layer, "shape": [4, 4], "method": method, "budget": budget,
                "relative_error": err, "bits_per_weight": bits}

    rows = [row("0", "sqf", 1.0, 0.5), row("0", "vq", 1.0, 0.6), row("0", "svd", 1.0, None),
            row("0", "sqf", 2.0, 0.3 * (1 + TIE / 2)), row("0", "vq", 2.0, 0.3),  # within the margin: no worse
            row("2", "sqf", 1.0, 0.41), row("2", "prune_quant", 1.0, 0.4),  # worse
            row("2", "sqf", 2.0, None), row("2", "vq", 2.0, 0.2)]  # SQF has nothing in the budget: not judged
    cells = {(c["layer"], c["budget"]): c for c in sqf_against_baselines(rows)}
    assert cells[("0", 1.0)]["no_worse"] and cells[("0", 1.0)]["baseline"] == "vq"
    assert cells[("0", 2.0)]["no_worse"]
    assert cells[("2", 1.0)]["no_worse"] is False and cells[("2", 1.0)]["baseline"] == "prune_quant"
    assert cells[("2", 2.0)]["no_worse"] is None
    data = {"results": rows, "tasks": 4, "tasks_missing": 1, "settings": {"models": ["mlp", "cnn"]}}
    tables = markdown_tables(data)
    assert tables["status"].startswith("**Partial**: 3 of 4")
    assert "| mlp | 3 | 2 | layer 2 at 1: 0.4100 against prune_quant 0.4000 |" in tables["claim"]
    assert tables["cnn_layers"] == "*Not computed yet.*"
    assert "**0.5000 (1.00)**" in tables["mlp_layers"]  # the best of its row in bold


def test_the_docs_figure_series_are_the_layer_rows():
    from workbench.compression.figures import frontier_series

    rows = [{"model": "mlp", "layer": "0", "method": "sqf", "relative_error": 0.3, "bits_per_weight": 2.0},
            {"model": "mlp", "layer": "0", "method": "sqf", "relative_error": 0.6, "bits_per_weight": 0.9},
            {"model": "mlp", "layer": "0", "method": "quant", "relative_error": None, "bits_per_weight": None},
            {"model": "mlp", "layer": "all", "method": "sqf", "relative_error": 0.4, "bits_per_weight": 1.8}]
    assert frontier_series(rows) == {("mlp", "0"): {"sqf": [(0.9, 0.6), (2.0, 0.3)]}}
