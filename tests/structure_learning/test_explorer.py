"""The LDS page's training: off the event loop, keyed to its settings, and cancelled with its session."""

import time

import panel as pn

from workbench.structure_learning import Explorer


def wait_until(condition, what: str, timeout: float = 180):
    deadline = time.monotonic() + timeout  # a hang guard, not a speed bound
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {timeout} s"
        time.sleep(0.02)


def danger_alerts(e) -> list[str]:
    return [a.object for a in pn.panel(e).select(pn.pane.Alert) if a.alert_type == "danger"]


def test_changing_the_data_set_during_training_cannot_break_the_page():
    """Switching Wine -> Breast Cancer while Wine trains: the Wine run is cancelled and its results are never
    drawn on Cancer's nodes (they used to be: `The size of tensor a (178) must match ... (569)` in every view, the
    status naming the wrong data set, and Train disabled for good when the poller lost the final message)."""
    e = Explorer(dataset="wine")
    e._on_train()
    job = e._buttons.job
    wait_until(lambda: e._history, "no outer iteration reported")
    e.dataset = "cancer"
    job.wait(timeout=180)
    assert job.cancelled.is_set()
    time.sleep(0.2)  # any late message of the Wine run would land now
    assert e._probs.shape == (569, 569)
    assert "cancer" in e._status.object and "wine" not in e._status.object.lower()
    assert not e._buttons.train.disabled and e._buttons.stop.disabled
    for view in (e.graph_text, e.histogram_view, e.homophily_view, e.neighbours_view):
        view()
    assert not danger_alerts(e), danger_alerts(e)
    # and the page trains the new data set
    e._on_train()
    job = e._buttons.job
    if job is not None:
        job.wait(timeout=300)
    assert "done" in e._status.object and e._probs.shape == (569, 569) and not danger_alerts(e)


def test_closing_the_session_cancels_the_training():
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    doc = Document()
    with set_curdoc(doc):
        e = Explorer(dataset="wine")
        e._on_train()
    job = e._buttons.job
    assert job is not None and not job.done  # Train returned at once: the work is in the job pool
    for callback in list(doc.session_destroyed_callbacks):  # the server, when the tab closes
        callback(None)
    job.wait(timeout=180)
    assert job.cancelled.is_set()


def test_a_planetoid_data_set_loads_off_the_event_loop():
    """Choosing Citeseer (its layout takes seconds) only asks for it: the views say it is loading and Train waits
    until the job's result comes back on the session's loop; then every view shows Citeseer."""
    from panel.io.state import set_curdoc

    from tests.sessions import FakeSession
    from workbench.structure_learning import explorer

    for cache in (explorer._load, explorer._start_graph, explorer._layout):
        cache.clear()  # as on a fresh server
    session = FakeSession()
    with set_curdoc(session.doc):
        e = Explorer(dataset="wine")
        session.wait_and_drain(e._prepare_job)
        e.dataset = "citeseer"
    assert "Loading" in e._status.object and e._buttons.train.disabled
    assert "Loading" in e.homophily_view().object and "Loading" in e.graph_text().object
    session.wait_and_drain(e._prepare_job)
    assert "citeseer" in e._status.object and not e._buttons.train.disabled
    assert e._current().shape == (3327, 3327)
    for view in (e.graph_text, e.histogram_view, e.homophily_view, e.neighbours_view):
        view()
    assert not danger_alerts(e), danger_alerts(e)
