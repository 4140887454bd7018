"""Training with auxiliary tasks: stratified folds, every method runs and reports, bad settings are named."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.aux_weighting.test_weighting import small_graph
from tests.strategies import assert_names
from workbench.aux_weighting.tasks import prepare
from workbench.aux_weighting.training import METHODS, TrainConfig, iter_train, stratified_folds


@settings(deadline=None, max_examples=50)
@given(st.lists(st.integers(0, 4), min_size=2, max_size=60), st.integers(2, 5), st.integers(0, 1000))
def test_stratified_folds_partition_the_nodes_and_spread_each_class(labels, k, seed):
    y = torch.tensor(labels)
    train = torch.arange(len(labels))
    if len(train) < k:
        with pytest.raises(ValueError, match="folds"):
            stratified_folds(train, y, k, torch.Generator().manual_seed(seed))
        return
    folds = stratified_folds(train, y, k, torch.Generator().manual_seed(seed))
    assert len(folds) == k and sorted(torch.cat(folds).tolist()) == train.tolist()
    for c in set(labels):  # each class's nodes differ by at most one between folds
        counts = [int((y[f] == c).sum()) for f in folds]
        assert max(counts) - min(counts) <= 1
    sizes = [len(f) for f in folds]
    assert max(sizes) - min(sizes) <= 1


@pytest.fixture(scope="module")
def graph():
    return prepare(small_graph(80, seed=3))


@pytest.mark.parametrize("method", METHODS)
def test_every_method_trains_and_reports(graph, method):
    cfg = TrainConfig(epochs=6, pretrain_epochs=3, eval_every=3, hidden=8, weight_hidden=8, pairs=32, mask=16,
                      nodes=32)
    records = list(iter_train(graph, method, ("link", "degree"), cfg, seed=0))
    assert [r["epoch"] for r in records] == ([6, 9] if method == "finetune" else [3, 6])
    for r in records:
        assert 0 <= r["val_accuracy"] <= 1 and 0 <= r["test_at_best_val"] <= 1
        assert set(r["weights"]) == {"target", "link", "degree"} and set(r["cosines"]) == {"link", "degree"}
        assert all(m >= 0 and s >= 0 for m, s in r["weights"].values())
    last = records[-1]["weights"]
    if method == "target_only":
        assert last == {"target": [1.0, 0.0], "link": [0.0, 0.0], "degree": [0.0, 0.0]}
    if method == "meta":  # the target's weight 1; the auxiliary ones positive, sharing a mean of 1
        assert last["target"] == [1.0, 0.0] and all(last[t][0] > 0 for t in ("link", "degree"))
        assert (last["link"][0] + last["degree"][0]) / 2 == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize("call, names", [
    (lambda g: next(iter_train(g, "magic")), ("method",)),
    (lambda g: next(iter_train(g, "equal", ())), ("tasks",)),
    (lambda g: next(iter_train(g, "equal", config={"epochs": 3})), ("config",)),
    (lambda g: TrainConfig(folds=1), ("folds",)),
    (lambda g: TrainConfig(lr=0.0), ("lr",)),
    (lambda g: TrainConfig(epochs=0), ("epochs",)),
    (lambda g: TrainConfig(cosine_smoothing=1.0), ("cosine_smoothing",)),
    (lambda g: TrainConfig(auxiliary_mean=0.0), ("auxiliary_mean",)),
    (lambda g: TrainConfig(learn_target=1), ("learn_target",)),
])
def test_bad_settings_name_the_argument(graph, call, names):
    with pytest.raises((ValueError, TypeError)) as e:
        call(graph)
    assert_names(e.value, *names)
