"""Model sizes for the size/accuracy picture shared with the pruning topic: known answers and properties."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import assert_names
from workbench.classification import make_mlp
from workbench.compression.sizes import compression_points, layer_shapes, pruned_bits, pruning_points

MLP = {"0": (256, 64), "2": (256, 256), "4": (10, 256)}


def test_the_mlp_layers_are_what_both_topics_train():
    assert layer_shapes(make_mlp(0)) == MLP


def test_a_dense_model_is_32_bits_per_weight_and_2_4_costs_values_plus_a_bitmap():
    weights = sum(n * d for n, d in MLP.values())
    assert pruned_bits(MLP, {}).bits == 32 * weights
    # 2:4 keeps half of every row: 16 bits of value per weight, and a bitmap (1 bit per weight) beats a list of
    # d/2 positions of log2(d) bits for every row length here
    half = pruned_bits(MLP, {name: 0.5 for name in MLP})
    assert half.bits == 16 * weights + weights


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.sampled_from(list(MLP)), st.floats(0, 1), max_size=3))
def test_pruning_never_grows_the_model_beyond_dense_plus_a_bitmap(sparsity):
    weights = sum(n * d for n, d in MLP.values())
    s = pruned_bits(MLP, sparsity)
    assert s.weights == weights and s.bits <= 33 * weights
    more = pruned_bits(MLP, {name: min(1.0, p + 0.1) for name, p in sparsity.items()})
    assert more.values <= s.values  # more sparsity never stores more values


def test_bad_sparsity_names_the_layer():
    with pytest.raises(ValueError) as e:
        pruned_bits(MLP, {"2": 1.5})
    assert_names(e.value, "layer_sparsity")


def test_points_come_from_the_rows_of_each_topic():
    rows = [{"model": "mlp", "layer": "all", "method": "sqf", "budget": 2.0, "bits_per_weight": 1.8,
             "weights": 84480, "test_accuracy": 0.96, "test_accuracy_before_finetune": 0.95},
            {"model": "mlp", "layer": "0", "method": "sqf", "budget": 2.0, "bits_per_weight": 1.8},
            {"model": "cnn", "layer": "all", "method": "sqf", "budget": 2.0, "bits_per_weight": 1.8,
             "weights": 10, "test_accuracy": 0.9}]
    (p,) = compression_points(rows, "mlp")
    assert p["size_bits"] == pytest.approx(1.8 * 84480) and p["before_finetune"] == 0.95
    pruned = [{"model": "mlp", "method": "nm", "sparsity": 0.5, "test_accuracy": 0.97,
               "layer_sparsity": {name: 0.5 for name in MLP}},
              {"model": "mlp", "method": "movement", "sparsity": 0.5, "test_accuracy": 0.9, "layer_sparsity": {}}]
    (q,) = pruning_points(pruned, "mlp", MLP)
    assert q["method"] == "nm" and q["size_bits"] == pruned_bits(MLP, {n: 0.5 for n in MLP}).bits
    with pytest.raises(ValueError, match="rows"):
        compression_points([{**rows[0], "weights": None}], "mlp")
