"""The compression page: the default setting shown at once, Compress off the event loop, and no traceback."""

import pytest

from workbench.compression import Explorer
from workbench.compression.explorer import layer_fit

pytestmark = pytest.mark.timeout(600)


def test_the_default_page_shows_its_fit_and_compress_fits_another_setting_off_the_loop():
    from panel.io.state import set_curdoc

    from tests.sessions import FakeSession

    session = FakeSession()
    with set_curdoc(session.doc):
        e = Explorer()  # the warm-up's setting: the MLP's 256 x 256 layer, SQF at 2 bits
        assert "relative error" in e._status.object and "SQF" in e._status.object
        images = e._images()
        assert [el.opts.get().kwargs["title"] for el in images] == ["W", "Ŵ", "W − Ŵ (same colour scale)"]
        z_title = e._factors()[0].opts.get().kwargs["title"]
        assert z_title.startswith("Z (")
        e.method = "quant"
        assert "press **Compress**" in e._status.object
        e._on_compress()
    job = e._job
    job.wait(timeout=600)  # a hang guard
    session.drain()
    assert e._status.object.endswith("Compressed.") and not e._compress_button.disabled
    fit = layer_fit("mlp", "2", "quant", 2.0)
    assert fit["Z"] is None and fit["bits_per_weight"] <= 2.0
    assert "stores W itself" in e._factors()[0].opts.get().kwargs["title"]


def test_the_frontier_and_size_views_draw_from_the_shipped_runs():
    e = Explorer()
    assert "frontier" in e._frontier().opts.get().kwargs["title"]
    assert "accuracy" in e._size_accuracy().opts.get().kwargs["title"]
    e.model = "cnn"
    assert e.layer in e.param.layer.objects and e.layer != "2"


def test_the_explorer_is_an_ipywidget():
    pytest.importorskip("jupyter_bokeh")
    assert Explorer().ipywidget() is not None
