import time

import numpy as np
import panel as pn

from workbench.nm_sparsity import Explorer


def test_explorer_renders_and_reacts():
    e = Explorer()
    pn.panel(e).get_root()  # builds the Bokeh models, as a page or notebook does
    before = e.mask_view()[0].object
    e.tensor = "weight"
    after = e.mask_view()[0].object
    assert "gradient" in before and "weight" in after and before != after


def test_a_setting_without_a_mask_says_how_to_get_one_not_a_traceback():
    e = Explorer(method="approx", gradients="1:2")
    pn.panel(e).get_root()  # the figures render empty, the text above them says why, in the page's words
    info = e.mask_view()[0]
    assert info.alert_type == "info" and "2:4 masks only" in info.object and "method=" not in info.object
    e._on_train()  # the same setting cannot train its gradients: said in the page's words, nothing runs
    assert "2:4 gradients only" in e._status.object and not e._buttons.running and len(e._error) == 0
    e2 = Explorer(tensor="activation", activations="dense")  # a valid setting with no mask: information, not an error
    pn.panel(e2).get_root()
    for view in (e2.mask_view, e2.variance_view, e2.bias_view):
        assert view()[0].alert_type == "info" and "left dense" in view()[0].object
    e2.activations = "2:4"  # a valid setting: the text again
    assert e2.variance_view()[0].alert_type == "light" and "draws" in e2.variance_view()[0].object


def test_the_samples_slider_updates_the_figures_in_place():
    """Moving the slider sends new data to the same figures (no new plot models), with the new draw count."""
    from bokeh.models import ColumnDataSource, GlyphRenderer, Plot

    def plot_models(root):
        return {m.id for m in root.references() if isinstance(m, (Plot, GlyphRenderer, ColumnDataSource))}

    e = Explorer()
    root = pn.panel(e).get_root()
    def measured():  # what the page's scatter plot holds
        return next(np.array(m.data["measured_variance"]) for m in root.references()
                    if isinstance(m, ColumnDataSource) and "measured_variance" in m.data)

    before, data_before = plot_models(root), measured()
    e.samples = 210
    assert "over 210 draws" in e.variance_view()[0].object
    assert plot_models(root) == before
    assert not np.array_equal(measured(), data_before)  # new measured variances


def wait_until(condition, what: str, timeout: float = 120):
    deadline = time.monotonic() + timeout  # a hang guard, not a speed bound
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {timeout} s"
        time.sleep(0.01)


def test_training_streams_epochs():
    e = Explorer(epochs=2, weights="2:4", gradients="2:4")
    e._on_train()
    job = e._buttons.job
    if job is not None:  # None: it has finished and said so already
        job.wait(timeout=120)
    rows = e.history_rows()
    assert [r["epoch"] for r in rows] == [1, 2]
    assert rows[-1]["test_accuracy"] > 0.5
    assert "epoch 2/2" in e._status.object
    assert not e._buttons.train.disabled and e._buttons.stop.disabled


def test_stop_button_ends_training_early():
    e = Explorer(epochs=20, gradients="2:4")
    e._on_train()
    wait_until(e.history_rows, "no epoch streamed")
    job = e._buttons.job
    e._buttons.cancel()
    job.wait(timeout=120)
    assert len(e.history_rows()) < 20
    assert "stopped" in e._status.object
    assert not e._buttons.train.disabled and e._buttons.stop.disabled


def test_training_runs_off_the_event_loop_and_ends_with_its_session():
    """Train returns at once (the epochs run in the job pool, not in the server's event loop), and the end of the
    session cancels the training: a closed tab leaves no work behind."""
    from bokeh.document import Document

    from panel.io.state import set_curdoc

    doc = Document()
    with set_curdoc(doc):
        e = Explorer(epochs=30, gradients="2:4")
        e._on_train()
    job = e._buttons.job
    assert job is not None and not job.done  # _on_train returned while the training runs
    wait_until(e.history_rows, "no epoch streamed")
    for callback in list(doc.session_destroyed_callbacks):  # what the server does when the tab closes
        callback(None)
    job.wait(timeout=120)
    assert job.cancelled.is_set() and len(e.history_rows()) < 30


def test_a_full_server_refuses_another_training_with_a_message(monkeypatch):
    import threading

    from workbench.ui import jobs as job_module

    pool = job_module.JobPool(max_jobs=1)
    monkeypatch.setattr(job_module, "_pool", pool)
    release = threading.Event()
    blocker = pool.submit("someone else's training", lambda report, cancelled: release.wait(60))
    try:
        e = Explorer(epochs=2)
        e._on_train()
        assert "try again in a moment" in e._status.object and not e.history_rows()
        assert not e._buttons.train.disabled  # the user can press Train again later
    finally:
        release.set()
        blocker.wait(timeout=60)


def test_monte_carlo_statistics_are_drawn_off_the_event_loop():
    """Up to 2,000 draws take seconds: moving the samples slider only asks for them. After PENDING_DELAY_MS the
    text says they are being drawn, and the figures keep the last statistics until the job's result comes back on
    the session's loop; a newer setting supersedes an older request (the older one's result is never shown)."""
    from panel.io.state import set_curdoc

    from tests.sessions import FakeSession

    session = FakeSession()
    with set_curdoc(session.doc):
        e = Explorer(tensor="weight", weights="2:4")
        session.wait_and_drain(e._stats_job)
        assert "over 200 draws" in e.variance_view()[0].object
        shown = e._stats
        e.samples = 1990
        first = e._stats_job
        e.samples = 1980  # supersedes the 1,990-draw request before it has been shown
        assert first.cancelled.is_set()
        # a request answered within PENDING_DELAY_MS changes the texts once; this one is not answered yet
        assert "over 200 draws" in e.variance_view()[0].object
        assert session.fire_timeouts() == 3  # one per request: the answered and the superseded ones say nothing
    text = e.variance_view()[0]
    assert text.alert_type == "info" and "Drawing 1,980" in text.object
    assert e._stats is shown  # the figures still show the 200 draws: nothing was computed on this thread
    session.wait_and_drain(e._stats_job)
    assert "over 1980 draws" in e.variance_view()[0].object and e._stats[0][3] == 1980
    assert e.bias_view()[0].alert_type == "light" and "MVUE" in e.bias_view()[0].object
