import asyncio
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


def test_bad_setting_shows_a_message_not_a_traceback():
    e = Explorer(method="approx", gradients="1:2")
    pn.panel(e).get_root()  # the figures render empty, the text above them says why
    info = e.mask_view()[0]
    assert info.alert_type == "danger" and "approx" in info.object
    e2 = Explorer(tensor="activation", activations="dense")
    pn.panel(e2).get_root()
    assert e2.variance_view()[0].alert_type == "danger" and "dense" in e2.variance_view()[0].object
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
        deadline = time.monotonic() + 120  # a hang guard, not a speed bound
        while not e.history_rows() and time.monotonic() < deadline:  # wait for the first streamed epoch
            await asyncio.sleep(0.005)
        assert e.history_rows(), "no epoch streamed within 120 s"
        e._on_stop()
        await task

    asyncio.run(run())
    assert len(e.history_rows()) < 20
    assert "stopped" in e._status.object
    assert not e._train_button.disabled and e._stop_button.disabled
