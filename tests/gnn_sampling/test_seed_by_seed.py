"""Mini-batches to the target compared seed by seed: a seed gives every sampler the same initial weights, so the
claim's pairs (MVS against uniform and GraphSAGE) are read as differences on each seed, matched by the seed's
number, over the seeds both samplers reached; and reproduce's rows carry each seed's count for it."""

import statistics

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.gnn_sampling.test_val_ladder import _Cached
from workbench.gnn_sampling.experiments import _paired_table, _seed_by_seed, reproduce
from workbench.gnn_sampling.training import PARTS

COUNTS = st.one_of(st.none(), st.integers(0, 2_000).map(lambda k: 5 * k))  # counts are multiples of eval_every


def _row(sampler: str, counts: list, seeds: list | None = None, graph: str = "cora", batch: int = 16) -> dict:
    return {"graph": graph, "sampler": sampler, "batch_size": batch, "seeds": seeds or list(range(len(counts))),
            "steps_to_target_by_seed": counts}


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_the_difference_is_taken_per_seed_over_the_seeds_both_reached_whatever_their_order(data):
    n = data.draw(st.integers(1, 8))
    a, b = data.draw(st.lists(COUNTS, min_size=n, max_size=n)), data.draw(st.lists(COUNTS, min_size=n, max_size=n))
    order = data.draw(st.permutations(range(n)))  # the other row lists the same seeds in another order
    mine, theirs = _row("mvs", a), _row("uniform", [b[i] for i in order], seeds=list(order))
    got = _seed_by_seed(mine, theirs)
    diffs = [x - y for x, y in zip(a, b) if x is not None and y is not None]
    if len(diffs) < 2:
        assert got is None
        return
    assert got["pairs"] == len(diffs) and got["ahead"] == sum(d < 0 for d in diffs)
    # integers below 10^4: the mean and the standard error are exact to far below a mini-batch
    assert abs(got["mean"] - statistics.mean(diffs)) < 1e-9
    assert abs(got["se"] - statistics.stdev(diffs) / len(diffs) ** 0.5) < 1e-9
    back = _seed_by_seed(theirs, mine)  # the other way round: the same differences, negated
    assert abs(back["mean"] + got["mean"]) < 1e-9 and abs(back["se"] - got["se"]) < 1e-9
    assert back["ahead"] == sum(d > 0 for d in diffs)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 400), min_size=2, max_size=8), st.integers(-100, 100))
def test_a_constant_lead_on_every_seed_is_that_lead_with_no_spread(counts, lead):
    got = _seed_by_seed(_row("mvs", [c + 100 + lead for c in counts]), _row("sage", [c + 100 for c in counts]))
    assert got["mean"] == lead and got["se"] == 0 and got["ahead"] == (len(counts) if lead < 0 else 0)


def test_rows_without_per_seed_counts_or_one_shared_seed_give_no_comparison():
    assert _seed_by_seed({"seeds": [0, 1]}, _row("uniform", [5, 10])) is None  # a results file from before the key
    assert _seed_by_seed(_row("mvs", [5, 10], seeds=[0, 1]), _row("uniform", [5, 10], seeds=[1, 2])) is None


def _cells(rows: list) -> list[list[str]]:
    table = _paired_table({"results": rows, "settings": {"graphs": ["cora"]}})
    return [[c.strip() for c in x.strip("|").split("|")] for x in table.splitlines() if x.startswith("| cora")]


def test_the_table_says_yes_only_when_mvs_leads_both_by_more_than_the_standard_error():
    uniform, sage = _row("uniform", [100, 120, 140, 160]), _row("sage", [90, 110, 130, 150])
    # differences −20, −20, −20, −24 from uniform and −10, −10, −10, −14 from GraphSAGE: means −21 and −11, each
    # with a standard error of 1, so both leads exceed it
    clear = _cells([_row("mvs", [80, 100, 120, 136]), uniform, sage])
    assert clear == [["cora", "16", "-21 ± 1 (4 of 4 seeds ahead)", "-11 ± 1 (4 of 4 seeds ahead)", "yes"]]
    # differences −30, +20, −20, +22 from GraphSAGE: a mean lead of 2 with a standard error of 13.4 (and −12 from
    # uniform): first, within one s.e.
    noisy = _cells([_row("mvs", [60, 130, 110, 172]), uniform, sage])
    assert noisy[0][3:] == ["-2 ± 13 (2 of 4 seeds ahead)", "yes, within one s.e."]
    # behind GraphSAGE on average, whatever the lead over uniform
    behind = _cells([_row("mvs", [95, 115, 135, 155]), uniform, sage])
    assert behind[0][4] == "no"


def test_the_table_leaves_out_a_cell_without_its_trio_and_says_so_when_empty():
    assert _cells([_row("mvs", [80, 100]), _row("uniform", [90, 110])]) == []
    assert _paired_table({"results": [], "settings": {"graphs": ["cora"]}}) == "*Not computed yet.*"


def test_reproduce_rows_give_each_seeds_count_in_the_order_of_seeds():
    part = {"step": 25, **{k: {"mean": 0.1} for k in PARTS}}

    def record(seed, crossing):
        curve = [{"step": 5 * (i + 1), "seconds": i, "loss": 1.0, "val_f1": 0.9 if i >= crossing else 0.5,
                  "test_f1": 0.8, "train_loss": 1.0, "val_loss": 1.0} for i in range(6)]
        return {"graph": "cora", "sampler": "mvs", "batch_size": 16, "seed": seed, "curve": curve,
                "variance": [part], "test_f1_micro": 0.8, "target_val_f1": 0.84, "seconds_per_epoch": 1.0}

    row = reproduce(runner=_Cached([record(3, 1), record(1, 4), record(2, 9)])).data["results"][0]
    assert row["seeds"] == [3, 1, 2] and row["steps_to_target_by_seed"] == [10, 25, None]  # seed 2 never got there
    assert row["seeds_reached"] == 2 and row["steps_to_target"] is None  # the mean needs every seed
    assert np.isfinite(row["train_loss"])
