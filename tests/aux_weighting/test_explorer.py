"""The aux_weighting page: the shipped run's weights, cosines and accuracy curves; dropping a task shows the run
without it; Train streams a live run off the event loop and a change of setting stops it."""

import pytest
from panel.io.state import set_curdoc

from tests.sessions import FakeSession
from workbench.aux_weighting import Explorer
from workbench.aux_weighting.experiments import FULL
from workbench.aux_weighting.explorer import shipped, shipped_row
from workbench.aux_weighting.tasks import AUXILIARY, TASKS

pytestmark = pytest.mark.timeout(600)


def _curves(overlay, kind="Curve"):
    return [el for el in overlay if type(el).__name__ == kind]


def test_the_page_keeps_its_elements_whatever_it_shows():
    """One band and one curve per task, one curve per auxiliary cosine and per method (plus the live run), also for
    a setting with no run to show: the figures are updated in place, never replaced."""
    e = Explorer()
    assert len(_curves(e._weights())) == len(TASKS) and len(_curves(e._weights(), "Spread")) == len(TASKS)
    assert len(_curves(e._cosines())) == len(AUXILIARY)
    assert len(_curves(e._accuracy())) == 6 + 1
    e.tasks = ["link"]  # three tasks dropped: no shipped run
    assert "press Train" in e._status.object
    assert len(_curves(e._weights())) == len(TASKS) and all(len(c) == 0 for c in _curves(e._weights()))


@pytest.mark.skipif(not shipped(), reason="no shipped full run in this checkout (docs/results/aux_weighting.json)")
def test_the_shipped_run_shows_the_meta_weights_and_a_dropped_task():
    e = Explorer()
    row = shipped_row("cora", "meta", AUXILIARY)
    assert "shipped run, mean over" in e._status.object
    drawn = {c.label: c for c in _curves(e._weights())}
    last = row["along"][-1]["weights"]
    assert drawn["random labels (harmful)"].dimension_values(1)[-1] == pytest.approx(last["random_labels"][0])
    e.tasks = [t for t in AUXILIARY if t != "random_labels"]
    assert "left out: random_labels" in e._status.object and "shipped run" in e._status.object
    assert all(len(c) == 0 for c in _curves(e._weights()) if c.label == "random labels (harmful)")


@pytest.mark.skipif(not shipped(), reason="no shipped full run in this checkout (docs/results/aux_weighting.json)")
def test_the_few_label_setting_shows_its_own_shipped_run():
    e = Explorer()
    split_summary = e._summary.object
    e.labels = FULL.few_labels
    row = shipped_row("cora", "meta", AUXILIARY, FULL.few_labels)
    assert row["labels_per_class"] == FULL.few_labels and row is not shipped_row("cora", "meta", AUXILIARY)
    assert f"({FULL.few_labels} labels per class)" in e._status.object and "shipped run" in e._status.object
    drawn = {c.label: c for c in _curves(e._weights())}
    last = row["along"][-1]["weights"]
    assert drawn["masked attributes"].dimension_values(1)[-1] == pytest.approx(last["attribute"][0])
    assert f"| meta (AUX-TS) | {100 * row['test_accuracy_mean']:.1f}" in e._summary.object
    assert e._summary.object != split_summary
    e.tasks = ["link", "attribute"]  # no task is left out in the shipped few-label runs
    assert "press Train" in e._status.object


def test_train_streams_a_live_run_and_a_new_setting_stops_it():
    session = FakeSession()
    with set_curdoc(session.doc):
        e = Explorer(method="target_only", epochs=20, labels=FULL.few_labels)  # labels drawn as the full run's
        e._on_train()
        assert not e._buttons.stop.disabled
        session.wait_and_drain(e._buttons.job)
        assert e._status.object.endswith("done.") and not e._buttons.train.disabled
        assert [r["epoch"] for r in e._run][-1] == 20 and all(0 <= r["val_accuracy"] <= 1 for r in e._run)
        assert e._records()[1] == "your run"  # the views now draw the live records
        assert len(_curves(e._accuracy())[-1]) == len(e._run)
        e.method, e.epochs = "meta", 400
        e._on_train()
        job = e._buttons.job
        e.tasks = ["link", "attribute"]  # a new setting: the training of the old one is stopped
        assert job.cancelled.is_set() and not e._buttons.running and e._buttons.stop.disabled
        session.wait_and_drain(job)
    assert "left out" in e._status.object and "stopped" not in e._status.object


def test_the_explorer_is_an_ipywidget():
    pytest.importorskip("jupyter_bokeh")
    assert Explorer().ipywidget() is not None
