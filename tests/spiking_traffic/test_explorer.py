"""The spiking_traffic page: the flow views from the shipped pre-trained network, the same figure elements whatever
is shown, the page without the ISCX files (synthetic flows, and where the files go), the shipped run's confusion and
sweep, a live Train off the event loop that updates the flow views and the confusion matrix, and the inputs switch
(size bins, or size and gap bins: the encoding, the shipped network, the results and what Train fits)."""

import json

import numpy as np
import pytest
from panel.io.state import set_curdoc

from tests.sessions import FakeSession
from workbench.spiking_traffic import explorer as X
from workbench.spiking_traffic import page_data as D
from workbench.spiking_traffic.flows import CLASSES
from workbench.spiking_traffic.pretrained import info, load_pretrained

pytestmark = pytest.mark.timeout(600)


def _kinds(overlay):
    return [type(el).__name__ for el in overlay]


@pytest.fixture
def no_shipped_run(monkeypatch, tmp_path):
    monkeypatch.setattr(D, "RESULTS_JSON", tmp_path / "absent.json")
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
    # and its twin on the size and gap bins, made the same way
    g = info(gaps=True)
    gap_model = load_pretrained(gaps=True)
    assert gap_model.n_inputs == 200 and model.n_inputs == 150 and gap_model is load_pretrained(True)
    assert g["encoding"] == {**i["encoding"], "gap_bins": 50, "gap_min": 1e-5, "gap_max": 1e3}
    assert g["settings"] == i["settings"] and g["n_train"] == i["n_train"] == 12922
    assert 0.9 < g["test_accuracy"] <= 1 and 0.9 < g["valid_accuracy"] <= 1
    assert load_pretrained() is load_pretrained(gaps=False) is load_pretrained(False)
    for bad in ("yes", 1, None):
        with pytest.raises(TypeError, match="^gaps"):
            load_pretrained(bad)


def test_without_the_files_the_page_runs_on_synthetic_flows(no_data, no_shipped_run):
    assert not X.available()
    flows = X.starting_flows()
    assert len(flows) == X.SYNTHETIC_VAL and flows.source.startswith("synthetic")
    e = X.Explorer()
    assert "WORKBENCH_DATA" in e._status.object and "traffic/" in e._status.object
    assert "synthetic" in e._results()[1]
    assert _kinds(e._packets()) == ["Image", "Scatter", "HLine"]
    marks = e._packets().get(1)
    assert len(marks) == 20 and set(marks.dimension_values("mark")) == {"size"}  # one circle per packet, no gaps
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


def test_a_silent_flow_draws_an_empty_raster_that_the_browser_accepts(no_data, monkeypatch):
    """A flow no neuron fires on (some real chat flows) draws no spikes; the raster's colour column must still be
    a column of colours: an empty float column made BokehJS log "invalid color array" on every redraw."""
    import holoviews as hv
    from bokeh.models import ColumnDataSource

    e = X.Explorer()
    traced = X.Explorer._trace

    def silent(self, i, model, label):
        cur = traced(self, i, model, label)
        return {**cur, "spikes": np.zeros_like(cur["spikes"])}

    monkeypatch.setattr(X.Explorer, "_trace", silent)
    e._traced = None
    e.flow = 1
    assert len(e._raster()) == 0
    sources = hv.render(e._raster()).select({"type": ColumnDataSource})
    colours = [v for s in sources for k, v in s.data.items() if k in ("colour", "color")]
    assert colours and all(not np.issubdtype(np.asarray(v).dtype, np.number) for v in colours)


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
    monkeypatch.setattr(D, "RESULTS_JSON", path)
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
        session.wait_and_drain(e._load_job)  # the shipped network's predictions, when not computed yet
        before = e._confusion().get(0).dimension_values(3).copy()
        e._on_train()
        assert not e._buttons.stop.disabled and e._buttons.running
        session.wait_and_drain(e._buttons.job)
        assert not e._buttons.running and not e._buttons.train.disabled
        assert "epoch 1/1" in e._train_status.object and "done." in e._train_status.object
        assert "Trained on 300 flows" in e._train_status.object
        mine = e._user[False]["model"]  # the user's network on the size bins
        assert mine.hidden == 10 and mine.surrogate == "arctan" and mine.n_inputs == 150 and True not in e._user
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
        assert "stopped." in e._train_status.object and e._user[False]["run"] is not None
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
    assert _kinds(e._packets()) == ["Image", "Scatter", "HLine"] and len(e._raster()) == 0  # empty figures


def test_the_inputs_switch_the_encoding_the_network_and_the_results(no_data, no_shipped_run):
    """Size bins: 150 inputs (one direction; the paper's 300 are two); with gaps 200. The flow views, the shipped
    network, its predictions (the confusion matrix) and the sweep follow the switch, and back."""
    e = X.Explorer()
    size = e._current()
    assert size["x"].shape == (100, 150) and "shipped pre-trained network (size bins" in e._status.object
    conf_size, source = e._results()
    assert source == "shipped pre-trained network on the synthetic flows"
    e.inputs = True  # outside a server the load runs at once
    gaps = e._current()
    assert gaps["x"].shape == (100, 200) and gaps["hidden"] == 100 and gaps["number"] == size["number"]
    assert np.array_equal(gaps["x"][:, :150], size["x"]) and gaps["x"][:, 150:].sum() == len(gaps["sizes"])
    assert "size + gap bins" in e._status.object and "Loading" not in e._status.object
    packets = e._packets()
    assert _kinds(packets) == ["Image", "Scatter", "HLine"]  # the same elements: the figure is updated in place
    n = len(gaps["sizes"])
    assert list(packets.get(1).dimension_values("mark")) == ["size"] * n + ["gap"] * n  # circles, then diamonds
    assert "diamonds: gap" in packets.opts.get().kwargs["title"]
    image = packets.get(0)  # two bands: the flow's size bins, then its gap bins, both in the picture
    assert image.dimension_values(2).sum() == gaps["x"].sum() and len(image.dimension_values(1, False)) < 200
    conf_gaps, source = e._results()
    assert source == "shipped pre-trained network on size + gap bins on the synthetic flows"
    assert np.asarray(conf_gaps).sum() == np.asarray(conf_size).sum() == X.SYNTHETIC_VAL
    p_size, p_gaps = X.page_predictions(False, False), X.page_predictions(False, True)
    assert not np.array_equal(p_size, p_gaps)  # two networks: not the same answers on every flow
    assert np.array_equal(np.asarray(conf_gaps).sum(0), np.bincount(p_gaps, minlength=len(CLASSES)))
    e.inputs = False
    assert e._current()["x"].shape == (100, 150) and e._results()[0] == conf_size


def test_with_a_shipped_run_the_gap_inputs_show_the_gap_variant(iscx):
    e = X.Explorer(inputs=True)
    assert e._current()["x"].shape == (100, 200)
    conf, source = e._results()  # the shipped run has no gap confusion: the gap network's, on the 1,291 flows
    assert source == "shipped pre-trained network on size + gap bins" and np.asarray(conf).sum() == len(iscx[1])
    assert np.trace(np.asarray(conf)) / len(iscx[1]) >= 0.93
    acc = e._sweep_accuracy()
    assert "size + gap bins" in acc.get(0).label and sorted(acc.get(0).dimension_values(0)) == [25, 100]
    e.inputs = False
    assert "shipped run's SNN" in e._results()[1] and len(e._sweep_accuracy().get(0)) == 5


def test_the_switch_loads_off_the_loop_and_train_fits_the_chosen_inputs(no_data, no_shipped_run):
    """In a session, the other inputs' page data load in the job pool while the page keeps the shown ones; a Train
    fits the chosen inputs and its network stays with them when the inputs switch back."""
    X.page_predictions.clear()
    session = FakeSession()
    with set_curdoc(session.doc):
        e = X.Explorer(hidden=10, epochs=1, max_train=300)
        session.wait_and_drain(e._load_job)  # the size network's predictions (no shipped run here)
        assert e._results()[1] == "shipped pre-trained network on the synthetic flows"
        e.inputs = True
        assert not e._gaps and "Loading the shipped network on size + gap bins" in e._status.object
        assert e._current()["x"].shape == (100, 150)  # still the shown inputs
        first = e._load_job
        e.inputs = False  # changed its mind before the load ended: nothing left saying "Loading"
        assert first.cancelled.is_set() and "Loading" not in e._status.object
        session.wait_and_drain(first)
        assert not e._gaps and "Loading" not in e._status.object  # the superseded load's result is dropped
        e.inputs = True
        session.wait_and_drain(e._load_job)
        assert e._gaps and e._current()["x"].shape == (100, 200) and "Loading" not in e._status.object
        e._on_train()
        session.wait_and_drain(e._buttons.job)
        assert "done." in e._train_status.object and "size + gap bins" in e._train_status.object
        assert e._current()["hidden"] == 10 and e._results()[1].startswith("your run (hidden 10")
        assert len(e._sweep_accuracy().get(5)) == 1
        e.inputs = False  # cached: at once
        assert not e._gaps and e._current()["hidden"] == 100 and "pre-trained" in e._results()[1]
        assert len(e._sweep_accuracy().get(5)) == 0  # your run was on the gap inputs
        e.inputs = True
        assert e._current()["hidden"] == 10


def test_a_failing_load_shows_a_message_and_keeps_the_shown_inputs(no_data, no_shipped_run, monkeypatch):
    X.page_predictions.clear()
    e = X.Explorer()  # the size network's predictions (no shipped run here), then nothing more computes

    def broken(*_args):
        raise RuntimeError("no gap network here")

    monkeypatch.setattr(X.page_predictions, "_fn", broken)
    e.inputs = True
    assert "no gap network here" in e._error[0].object and e.inputs is False and not e._gaps
    assert e._current()["x"].shape == (100, 150)
