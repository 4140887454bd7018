"""The quick run: one object per method with the documented keys, every method learning Cora, the meta-learned weights
putting the harmful task last, the results tables, and the settings checked."""

import json
import math

import pytest

from workbench.aux_weighting.experiments import FULL, QUICK, Settings, markdown_tables, reproduce, tasks
from workbench.aux_weighting.training import METHODS

KEYS = {"graph", "method", "test_accuracy_mean", "test_accuracy_std", "test_accuracy_se", "seeds", "tasks", "along",
        "labels_per_class", "test_accuracies"}

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def quick():
    return reproduce(quick=True).data


def test_quick_run_has_every_method_with_the_documented_keys(quick):
    json.dumps(quick)  # the CLI prints it as JSON
    rows = {r["method"]: r for r in quick["results"]}
    assert set(rows) == set(METHODS)
    for r in rows.values():
        assert KEYS <= set(r), r["method"]
        assert r["graph"] == "cora" and r["seeds"] == [0] and r["test_accuracy_std"] == 0.0
        assert r["labels_per_class"] is None  # Planetoid's split; the quick run has no few-label setting
        assert 0 <= r["test_accuracy_mean"] <= 1
    # every method trains the target's loss, so each ends above Cora's largest class (30 %) whatever it adds; the
    # three that keep the label noise near weight 0 (target only; cosine, which zeroes a task whose gradient opposes
    # the target's; meta) learn Cora as a GCN does, above 70 % after 100 epochs (a GCN ends near 80 %)
    for m in METHODS:
        assert rows[m]["test_accuracy_mean"] > (0.7 if m in ("target_only", "cosine", "meta") else 0.3), m
    # and the meta-learned weights undo most of what equal weights lose to the harmful task: 0.77 against 0.63 on
    # this seed, 0.80 against 0.69 over the full run's 5 seeds (standard errors 0.5 and 1 point); 5 points is half
    # the gap
    assert rows["meta"]["test_accuracy_mean"] > rows["equal"]["test_accuracy_mean"] + 0.05
    assert {w["method"] for w in quick["weights"]} == set(METHODS)
    for w in quick["weights"]:
        assert {"graph", "method", "epoch", "target", "link", "attribute", "degree", "random_labels"} <= set(w)


def test_meta_gives_the_harmful_task_the_lowest_weight(quick):
    """Random labels on the target's own classifier (label noise) step against the held-out target loss, so the
    look-ahead's meta-gradient lowers their weight below every useful task's, within 100 epochs."""
    meta = next(r for r in quick["results"] if r["method"] == "meta")
    last = meta["along"][-1]["weights"]
    others = [last[t][0] for t in ("link", "attribute", "degree")]
    assert last["random_labels"][0] < min(others), last


def test_results_tables_from_the_quick_run(quick):
    tables = markdown_tables(quick)
    assert set(tables) == {"status", "accuracy", "weights", "claim", "dropped"}
    assert "meta (AUX-TS)" in tables["accuracy"] and "| cora |" in tables["claim"]
    assert tables["dropped"] == "*Not computed yet.*"  # the quick run drops no task


def test_the_full_grid_and_bad_settings():
    grid = tasks(FULL)
    # every method on both graphs for 5 seeds, meta without each of the 4 tasks for 2 seeds, and every method on
    # both graphs again with 5 labels per class for 5 seeds
    assert len(grid) == 2 * (6 * 5 + 4 * 2) + 2 * 6 * 5
    few = [t for t in grid if t.params["labels_per_class"] is not None]
    assert len(few) == 60 and {t.params["labels_per_class"] for t in few} == {FULL.few_labels} == {5}
    assert all(len(t.params["tasks"]) == 4 for t in few)
    assert len(tasks(QUICK)) == 6
    kept = [t.params["tasks"] for t in grid if len(t.params["tasks"]) == 3]
    assert len(kept) == 16 and all(t.params["method"] == "meta" for t in grid if len(t.params["tasks"]) == 3)
    for kw, name in (({"graphs": ("pubmed",)}, "graphs"), ({"methods": ("magic",)}, "methods"),
                     ({"tasks": ()}, "tasks"), ({"tasks": ("link",), "drop": ("degree",)}, "drop"),
                     ({"seeds": 0}, "seeds"), ({"labels_per_class": 0}, "labels_per_class"),
                     ({"epochs": 1.5}, "epochs"), ({"few_labels": 0}, "few_labels"),
                     ({"labels_per_class": 5, "few_labels": 5}, "few_labels")):
        with pytest.raises((ValueError, TypeError), match=name):
            Settings(**kw)


def test_the_claim_table_says_when_meta_wins():
    def row(method, mean, se, labels=None):
        return {"graph": "cora", "method": method, "test_accuracy_mean": mean, "test_accuracy_se": se,
                "labels_per_class": labels,
                "test_accuracy_std": se * math.sqrt(5), "seeds": [0, 1, 2, 3, 4], "tasks": ["link"],
                "along": [{"epoch": 1, "weights": {"target": [1, 0], "link": [0.5, 0.1]}, "cosines": {"link": 0}}]}

    data = {"settings": {"graphs": ["cora"], "tasks": ["link"]}, "tasks": 3, "tasks_missing": 0, "results": [
        row("meta", 0.82, 0.004), row("target_only", 0.80, 0.004), row("equal", 0.70, 0.01)], "dropped": []}
    claim = markdown_tables(data)["claim"]
    assert "| cora | Planetoid's 20 | 82.0 ± 0.4 | 80.0 ± 0.4 | 70.0 ± 1.0 | +2.0 (+3.5 s.e.) | – | yes |" in claim
    data["results"][0] = row("meta", 0.801, 0.004)
    assert "yes, within one s.e." in markdown_tables(data)["claim"]
    data["results"][0] = row("meta", 0.79, 0.004)
    assert markdown_tables(data)["claim"].rstrip().endswith("| no |")
    # a few-label setting gets rows of its own, after the split's, and columns of its own in the accuracy table
    data["results"] += [row("meta", 0.63, 0.02, 5), row("target_only", 0.60, 0.016, 5), row("equal", 0.47, 0.02, 5)]
    # seed by seed: meta − target only = +1, +6, +1, +1, +6 points: mean 3, standard error sqrt(7.5 / 5)
    data["results"][3]["test_accuracies"] = [0.55, 0.66, 0.62, 0.64, 0.68]
    data["results"][4]["test_accuracies"] = [0.54, 0.60, 0.61, 0.63, 0.62]
    tables = markdown_tables(data)
    lines = tables["claim"].splitlines()
    assert lines[2].endswith("| no |") and lines[3].startswith("| cora | 5 | 63.0 ± 2.0 | 60.0 ± 1.6 | 47.0 ± 2.0 |")
    assert lines[3].endswith("| +3.0 (+1.2 s.e.) | +3.0 ± 1.2 (5 of 5 seeds ahead) | yes |")
    assert tables["accuracy"].splitlines()[0] == "| method | Cora (%) | Cora, 5 labels per class (%) |"
    assert "| meta (AUX-TS) | 79.0 ± 0.4 (5) | 63.0 ± 2.0 (5) |" in tables["accuracy"]
