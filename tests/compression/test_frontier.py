"""The layer frontier: its rows and its table, on a small model (the full one is docs/compression.md's command)."""

import pytest
import torch

from workbench.compression.frontier import compressible_layers, layer_frontier, markdown


def test_frontier_rows_fit_their_budgets_and_the_table_marks_the_best():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(16, 24), torch.nn.ReLU(), torch.nn.Linear(24, 8))
    rows = layer_frontier(net, budgets=(2, 4), methods=("sqf", "quant", "svd"))
    assert len(rows) == len(compressible_layers(net)) * 2 * 3
    for r in rows:
        assert r["relative_error"] is None or r["bits_per_weight"] <= r["budget"] + 1e-9
    table = markdown(rows)
    assert table.count("\n") == 1 + 2 * 2 and "**" in table


def test_frontier_arguments_are_checked():
    net = torch.nn.Sequential(torch.nn.Linear(4, 4))
    with pytest.raises(ValueError, match="methods"):
        layer_frontier(net, budgets=(2,), methods=("jpeg",))
    with pytest.raises(ValueError, match="budget"):
        layer_frontier(net, budgets=(0,))
