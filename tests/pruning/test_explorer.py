"""The pruning page: shipped curves at once, Train off the event loop with epochs streamed, Stop, and no
traceback for a setting it cannot train."""

import time

import pytest

from workbench.pruning import Explorer

pytestmark = pytest.mark.timeout(300)


def test_the_page_renders_and_trains_a_setting_off_the_loop():
    from panel.io.state import set_curdoc

    from tests.sessions import FakeSession

    session = FakeSession()
    with set_curdoc(session.doc):
        e = Explorer()  # (the page in Chromium: tests/ui/test_app.py)
        e.method, e.target = "channel", 0.5
        assert "(trained here)" not in e._status.object
        e._on_train()
    job = e._buttons.job
    job.wait(timeout=300)  # a hang guard
    assert e._key() not in e._live  # the result waits for the session's loop...
    session.drain()  # ...which shows it
    live = e._live[("mlp", "channel", 0.5, 0)]
    assert "trained here" in e._status.object and live["sparsity"] > 0.5
    assert e._status.object.endswith("Training finished.")  # the text make bench waits for
    e.layer = "2"
    image = e._mask_image()
    assert image.data is not None and "mask of layer 2" in image.opts.get().kwargs["title"]
    assert not e._buttons.train.disabled and e._buttons.stop.disabled


def test_stop_ends_a_training_early_and_the_resnet_is_not_trained_on_a_page():
    e = Explorer(method="rigl", target=0.8)
    e._on_train()
    deadline = time.monotonic() + 300  # a hang guard
    while not e._progress.value and time.monotonic() < deadline:
        time.sleep(0.05)
    job = e._buttons.job
    if job is not None:
        e._buttons.cancel()
        job.wait(timeout=300)
    history = e._live[("mlp", "rigl", 0.8, 0)]["history"]
    assert len(history) < 30  # RigL trains 30 epochs on the MLP: Stop came first
    e.model = "resnet"
    assert e._buttons.train.disabled
    e._on_train()
    assert "ResNet" in e._status.object and not e._buttons.running and e._buttons.job is job  # none started
