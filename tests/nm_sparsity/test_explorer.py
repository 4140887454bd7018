import asyncio

import panel as pn

from workbench.nm_sparsity import Explorer


def _markdown(view) -> str:
    return view[0].object


def test_explorer_renders_and_reacts():
    e = Explorer()
    pn.panel(e).get_root()  # builds the Bokeh models, as a page or notebook does
    before = _markdown(e.mask_view())
    e.tensor = "weight"
    after = _markdown(e.mask_view())
    assert "gradient" in before and "weight" in after and before != after


def test_bad_setting_shows_a_message_not_a_traceback():
    e = Explorer(method="approx", gradients="1:2")
    view = e.mask_view()
    assert isinstance(view, pn.pane.Alert) and "approx" in view.object
    e2 = Explorer(tensor="activation", activations="dense")
    assert isinstance(e2.variance_view(), pn.pane.Alert)


def test_training_streams_epochs():
    e = Explorer(epochs=2, weights="2:4", gradients="2:4")
    asyncio.run(e._on_train())
    rows = e.history_rows()
    assert [r["epoch"] for r in rows] == [1, 2]
    assert rows[-1]["test_accuracy"] > 0.5
    assert "epoch 2/2" in e._status.object


def test_stop_button_ends_training_early():
    e = Explorer(epochs=20, gradients="2:4")

    async def run():
        task = asyncio.create_task(e._on_train())
        while not e.history_rows():  # wait for the first streamed epoch
            await asyncio.sleep(0.005)
        e._on_stop()
        await task

    asyncio.run(run())
    assert len(e.history_rows()) < 20
    assert "stopped" in e._status.object
    assert not e._train_button.disabled and e._stop_button.disabled
