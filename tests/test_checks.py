"""The argument checks every topic's core shares: each returns what it accepts and names the argument when it
refuses."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.checks import check_int, check_names, check_real

ALLOWED = ("cora", "citeseer", "wine")


@given(st.lists(st.sampled_from(ALLOWED + ("pubmed", "")), max_size=5), st.booleans())
def test_check_names_accepts_exactly_non_empty_lists_of_allowed_names(values, as_tuple):
    values = tuple(values) if as_tuple else values
    if values and all(v in ALLOWED for v in values):
        assert check_names("graphs", values, ALLOWED) == tuple(values)
    else:
        with pytest.raises(ValueError, match=r"graphs: expected names from \['cora', 'citeseer', 'wine'\]"):
            check_names("graphs", values, ALLOWED)


@pytest.mark.parametrize("values", ["cora", None, 3, {"cora"}])
def test_check_names_refuses_a_string_or_a_non_sequence(values):
    with pytest.raises(TypeError, match="graphs: expected a list of names"):
        check_names("graphs", values, ALLOWED)


@given(st.integers(-5, 5), st.integers(-5, 5))
def test_check_int_is_a_lower_bound(value, minimum):
    if value >= minimum:
        assert check_int("n", value, minimum) == value
    else:
        with pytest.raises(ValueError, match="n: expected an int >= "):
            check_int("n", value, minimum)


@pytest.mark.parametrize("value", [True, 1.0, "1"])
def test_check_int_refuses_bools_floats_and_strings(value):
    with pytest.raises(TypeError, match="n: expected an int"):
        check_int("n", value)


@pytest.mark.parametrize("value, ok", [(0.0, False), (1e-9, True), (float("nan"), False), (float("inf"), False)])
def test_check_real_is_finite_and_open_at_zero(value, ok):
    if ok:
        assert check_real("lr", value) == value
    else:
        with pytest.raises(ValueError, match="lr: expected a finite number"):
            check_real("lr", value)


def test_run_settings_name_an_unknown_entry():
    """Every topic's run settings refuse a name they do not know, naming the setting (quickly: nothing runs)."""
    from workbench.pruning.experiments import ModelRun
    from workbench.structure_learning.experiments import Settings, reproduce

    with pytest.raises(ValueError, match="datasets: expected names from"):
        Settings(datasets=("pubmed",))
    with pytest.raises(ValueError, match="only: expected names from"):
        reproduce(quick=True, only="pubmed")
    with pytest.raises(ValueError, match="methods: expected names from"):
        ModelRun("mlp", seeds=1, finetune_epochs=1, methods=("dense", "magic"))
    with pytest.raises(ValueError, match="methods: expected 'dense'"):
        ModelRun("mlp", seeds=1, finetune_epochs=1, methods=("oneshot_global",))
