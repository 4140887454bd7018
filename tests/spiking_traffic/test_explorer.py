"""The spiking_traffic page: the flow views from the shipped pre-trained network, the same figure elements whatever
is shown, the page without the ISCX files (synthetic flows, and where the files go), the shipped run's confusion and
sweep, and a live Train off the event loop that updates the flow views and the confusion matrix."""

import json

import numpy as np
import pytest
from panel.io.state import set_curdoc

from tests.sessions import FakeSession
from workbench.spiking_traffic import explorer as X
from workbench.spiking_traffic.flows import CLASSES
from workbench.spiking_traffic.pretrained import info, load_pretrained

pytestmark = pytest.mark.timeout(600)


def _kinds(overlay):
    return [type(el).__name__ for el in overlay]


@pytest.fixture
def no_data(monkeypatch, tmp_path):
    """No ../shared/data and no download: the page must open on synthetic flows."""
    from workbench import data

    monkeypatch.setenv("WORKBENCH_DATA", str(tmp_path))
    monkeypatch.setattr(data, "REPO_DATA", tmp_path / "repo-data")
    monkeypatch.setattr(data, "_fetch", lambda url, path: (_ for _ in ()).throw(OSError("offline in tests")))


@pytest.fixture
def no_shipped_run(monkeypatch, tmp_path):
    monkeypatch.setattr(X, "RESULTS_JSON", tmp_path / "absent.json")
    X.shipped.cache_clear()
    yield
    X.shipped.cache_clear()


def test_the_shipped_network_loads_and_says_how_it_was_made():
    model = load_pretrained()
    assert model.hidden == 100 and model is load_pretrained()  # cached
    i = info()
    assert i["encoding"] == {"time_scale": "log", "n_bins": 100, "t_min": 1e-3, "t_max": 1e4}
    assert i["settings"]["epochs"] == 8 and i["settings"]["seed"] == 0
    assert 0.6 < i["test_accuracy"] <= 1 and 0.6 < i["valid_accuracy"] <= 1


def test_without_the_files_the_page_runs_on_synthetic_flows(no_data, no_shipped_run):
    assert not X.available()
    flows = X.starting_flows()
    assert len(flows) == X.SYNTHETIC_VAL and flows.source.startswith("synthetic")
    e = X.Explorer()
    assert "WORKBENCH_DATA" in e._status.object and "traffic/" in e._status.object
    assert "synthetic" in e._results()[1]
    assert _kinds(e._packets()) == ["Image", "Scatter"]
    assert len(e._packets().get(1)) == 20  # one circle per packet
    n = len(np.flatnonzero(flows.labels == 0))
    assert e.param.flow.bounds == (0, n - 1)


def test_the_flow_views_follow_the_chosen_flow(iscx):
    e = X.Explorer()
    assert X.starting_flows() is iscx[1]
    assert "ISCX validation flows" in e._status.object and "shipped pre-trained network" in e._status.object
    e.flow_class = "chat"
    assert e.param.flow.bounds == (0, int((iscx[1].labels == 3).sum()) - 1)
    e.flow = 5
    cur = e._current()
    assert cur["label"] == 3 and cur["number"] == int(np.flatnonzero(iscx[1].labels == 3)[5])
    assert "(chat)" in e._status.object and ("right." in e._status.object or "wrong" in e._status.object)
    raster = e._raster()
    assert len(raster) == int(cur["spikes"].sum()) and "spike raster" in raster.opts.get().kwargs["title"]
    assert len([c for c in e._membrane() if type(c).__name__ == "Curve"]) == X.N_TRACES
    readout = e._readout()
    assert len(readout) == len(CLASSES) and CLASSES[cur["predicted"]] in readout.opts.get().kwargs["title"]
    # the readout's last step is the network's logits: its argmax is the prediction
    assert int(cur["readout"][-1].argmax()) == cur["predicted"]


def test_a_partial_shipped_run_is_shown_where_it_has_something(monkeypatch, tmp_path):
    """A quick run: the SNN's confusion and one point of the sweep; no MLP row, no hidden sizes."""
    confusion = [[10 if i == j else 1 for j in range(5)] for i in range(5)]
    data = {"quick": True, "confusion": confusion, "settings": {"surrogate": "sigmoid", "time_scale": "log"},
            "results": [{"model": "snn", "hidden": 100, "seeds": [0], "test_accuracy": 0.8},
                        {"model": "trees", "test_accuracy": 0.9, "per_class": [0.9] * 5}],
            "sweep": [{"model": "snn", "variant": "main", "hidden": 100, "surrogate": "sigmoid", "time_scale": "log",
                       "test_accuracy": 0.8, "test_accuracy_std": 0.0, "spikes_per_sample": 120.0}]}
    path = tmp_path / "spiking_traffic.json"
    path.write_text(json.dumps(data))
    monkeypatch.setattr(X, "RESULTS_JSON", path)
    X.shipped.cache_clear()
    try:
        e = X.Explorer()
        conf, source = e._results()
        assert conf == confusion and "shipped run" in source and "quick run" in source
        heat = e._confusion().get(0)
        assert heat.dimension_values(3).sum() == sum(map(sum, confusion))
        acc = e._sweep_accuracy()
        assert "shipped run (quick run)" in acc.opts.get().kwargs["title"]
        assert len(acc.get(0)) == 1  # the SNN's one hidden size
        assert len(e._per_class().get(1)) == len(CLASSES)  # the trees' per-class marks
    finally:
        X.shipped.cache_clear()
    e = X.Explorer()  # and an unreadable file: as if there were none
    path.write_text("{not json")
    X.shipped.cache_clear()
    try:
        assert X.shipped() == {} and "pre-trained" in e._results()[1]
        assert "your runs only" in e._sweep_accuracy().opts.get().kwargs["title"]
    finally:
        X.shipped.cache_clear()


def test_train_streams_epochs_then_shows_its_own_confusion(no_data, no_shipped_run):
    """A short Train (1 epoch on 300 synthetic flows) off the loop: the flow views follow the training, then the
    confusion matrix and the sweep's "your runs" are the user's."""
    session = FakeSession()
    with set_curdoc(session.doc):
        e = X.Explorer(hidden=10, surrogate="arctan", epochs=1, max_train=300)
        before = e._confusion().get(0).dimension_values(3).copy()
        e._on_train()
        assert not e._buttons.stop.disabled and e._buttons.running
        session.wait_and_drain(e._buttons.job)
        assert not e._buttons.running and not e._buttons.train.disabled
        assert "epoch 1/1" in e._train_status.object and "done." in e._train_status.object
        assert "Trained on 300 flows" in e._train_status.object
        assert e._model is not None and e._model.hidden == 10 and e._model.surrogate == "arctan"
        conf, source = e._results()
        assert source.startswith("your run (hidden 10, arctan, 1 epoch)")
        assert np.asarray(conf).sum() == X.SYNTHETIC_VAL
        heat = e._confusion().get(0)
        assert heat.dimension_values(3).sum() == X.SYNTHETIC_VAL and "your run" in e._confusion().opts.get().kwargs[
            "title"]
        assert before.sum() == X.SYNTHETIC_VAL  # the pre-trained network's, on the same flows
        assert e._current()["hidden"] == 10 and "your run" in e._status.object
        assert len(e._sweep_accuracy().get(5)) == 1 and len(e._sweep_spikes().get(2)) == 1  # your run's points


def test_stop_ends_a_train_and_keeps_what_it_learnt(no_data, no_shipped_run):
    session = FakeSession()
    with set_curdoc(session.doc):
        e = X.Explorer(hidden=10, epochs=20, max_train=2000)
        e._on_train()
        e._buttons.cancel()  # Stop
        session.wait_and_drain(e._buttons.job)
        assert "stopped." in e._train_status.object and e._run is not None
        assert not e._buttons.running


def test_the_explorer_is_an_ipywidget():
    pytest.importorskip("jupyter_bokeh")
    assert X.Explorer().ipywidget() is not None


def test_a_failing_flow_shows_a_message_not_a_traceback(monkeypatch):
    e = X.Explorer()

    def broken(*_args):
        raise RuntimeError("the network broke")

    monkeypatch.setattr(e, "_trace", broken)
    e.flow = 1
    assert "the network broke" in e._flow_error[0].object and "could not run" in e._status.object
    assert _kinds(e._packets()) == ["Image", "Scatter"] and len(e._raster()) == 0  # empty figures, same elements
