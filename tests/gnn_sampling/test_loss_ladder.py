"""The full-batch training loss each evaluation records (the paper's Fig. 4 compares samplers by it), the
mini-batches to each level of the loss ladder (their first crossing: ``test_val_ladder.py``), and the claim's loss
table."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.gnn_sampling.blocks import exact_minibatch
from workbench.gnn_sampling.experiments import LOSS_LEVELS, _count, claim_loss_level, markdown_tables
from workbench.gnn_sampling.training import batch_loss, evaluate


def test_the_recorded_losses_are_the_exact_means_over_the_training_and_validation_nodes(graph, trained):
    trained.train()
    record = evaluate(trained, graph)
    assert trained.training  # evaluating leaves the model's mode as it was
    trained.eval()
    with torch.no_grad():
        for nodes, key in ((graph.train_idx, "train_loss"), (graph.val_idx, "val_loss")):
            # weights 1/N: the mini-batch loss of the batch of all these nodes is their mean loss
            batch = exact_minibatch(graph, nodes, torch.full((len(nodes),), 1 / len(nodes)), trained.num_layers)
            exact = float(batch_loss(trained, graph.X, graph.y, batch)[0])
            # the same sums in another order: float32 round-off, relative 1e-5
            assert record[key] == pytest.approx(exact, rel=1e-5), key
    trained.train()


def _row(counts: list, seeds: int = 3, **extra) -> dict:
    """A :func:`reproduce` row whose ladder has per level the per-seed step counts ``counts`` (None: never)."""
    ladder = [{"loss": level, **_count(per_seed)} for level, per_seed in zip(LOSS_LEVELS, counts)]
    return {"steps_to_loss": ladder, "seeds": list(range(seeds)), **extra}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.lists(st.one_of(st.none(), st.integers(1, 600)), min_size=3, max_size=3),
                         min_size=len(LOSS_LEVELS), max_size=len(LOSS_LEVELS)), min_size=1, max_size=3))
def test_the_claim_level_is_the_lowest_every_seed_of_every_sampler_reaches(ladders):
    rows = [_row(counts) for counts in ladders]
    level = claim_loss_level(rows)
    everyone = [lv for i, lv in enumerate(LOSS_LEVELS) if all(None not in counts[i] for counts in ladders)]
    assert level == (min(everyone) if everyone else None)


def _cell(sampler: str, steps: list, end: float) -> dict:
    """A claim-graph row: every seed reaches the three upper levels at ``steps`` (× 1, 2, 3), none the lower."""
    counts = [[s * k for s in steps] for k in (1, 2, 3)] + [[None] * len(steps)] * (len(LOSS_LEVELS) - 3)
    return _row(counts, len(steps), graph="cora", sampler=sampler, batch_size=16, train_loss=end, train_loss_se=0.01,
                gradient_variance=1.0, gradient_variance_se=0.1, steps_to_target=100, steps_to_target_se=5,
                seeds_reached=len(steps), test_f1_micro=0.8, test_f1_micro_se=0.01, variance_stochastic=1.0,
                variance_stochastic_se=0.1, variance_embedding=0.0, variance_embedding_se=0.0,
                seconds_per_epoch=1.0, target_val_f1=0.84)


@pytest.mark.parametrize("mvs, verdict", [([40, 42, 44], "yes"), ([58, 62, 66], "yes, within one s.e."),
                                          ([80, 82, 84], "no")])
@pytest.mark.parametrize("sage_reaches", [True, False])
def test_the_claims_loss_table_reads_the_lowest_level_of_mvs_and_uniform(mvs, verdict, sage_reaches):
    sage = _cell("sage", [70, 72, 74], 0.15)
    if not sage_reaches:  # GraphSAGE gets to no level (its exact loss stays high): MVS is compared with uniform
        sage["steps_to_loss"] = [{**lv, "steps": None, "steps_se": None, "seeds_reached": 0}
                                 for lv in sage["steps_to_loss"]]
    rows = [_cell("mvs", mvs, 0.1), _cell("uniform", [60, 64, 68], 0.2), sage]
    table = markdown_tables({"results": rows, "settings": {"graphs": ["cora"]}})
    line = next(x for x in table["claim_loss"].splitlines() if x.startswith("| cora"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    # the third level (× 3) is the lowest every seed of MVS and uniform reaches
    assert cells[2] == f"{LOSS_LEVELS[2]:g}" and cells[6] == verdict
    assert cells[4] == "192 ± 7" and cells[7:] == ["0.100 ± 0.010", "0.200 ± 0.010", "0.150 ± 0.010"]
    assert cells[5] == ("216 ± 3" if sage_reaches else "0 of 3 seeds reached it")
    ladder = table["loss_ladder"].splitlines()
    assert len(ladder) == 2 + 3 and ladder[2].split("|")[-2].strip() == "0 of 3"  # uniform never got to 0.05
