"""The sobolev_inr page: the image, its training pixels and the filter's maps before any Train; a Train of both fits
off the event loop that streams the reconstruction, its derivative maps, the error map and the PSNR curves; Stop;
the shipped run's pairs whether the file is there, partial or broken; bad input refused; errors as messages."""

import json

import numpy as np
import pytest
from panel.io.state import set_curdoc

from tests.sessions import FakeSession
from workbench.sobolev_inr import explorer as X
from workbench.sobolev_inr import page_data as P
from workbench.sobolev_inr.images import BUNDLED, SET5
from workbench.sobolev_inr.training import FitSettings, fit_image

pytestmark = pytest.mark.timeout(600)
TINY = {"hidden": 8, "crop": 64}  # a Train in a second or two


def _title(element) -> str:
    return element.opts.get().kwargs["title"]


@pytest.fixture
def shipped_file(monkeypatch, tmp_path):
    """Point the page at ``tmp_path/sobolev_inr.json`` (absent until a test writes it)."""
    path = tmp_path / "sobolev_inr.json"
    monkeypatch.setattr(X, "RESULTS_JSON", path)
    X.shipped.cache_clear()
    yield path
    X.shipped.cache_clear()


def test_the_page_fit_is_fit_image_with_pictures():
    """The page's fit gives fit_image's numbers (same targets, network, seed), and each frame's maps are the
    network's own: the error map is |Y(recon) − Y(image)| and the luma's derivatives are the channels' combined."""
    image = P.page_image("astronaut", 64)
    s = FitSettings(network="siren", loss="sobolev", steps=4, eval_every=2, hidden=8, layers=1)
    frames = []
    out = P.fit_with_frames(image, s, frames.append)
    ref = fit_image(image, s)
    assert [{k: f[k] for k in ref.history[0]} for f in frames] == ref.history
    assert out["psnr_test"] == ref.psnr_test and out["steps"] == 4
    f = frames[-1]["frame"]
    np.testing.assert_allclose(f["recon"], ref.reconstruction, rtol=0, atol=1e-12)
    y = lambda a: a @ np.array([0.257, 0.504, 0.098])  # noqa: E731 - the paper's luma
    np.testing.assert_allclose(f["error"], np.abs(y(f["recon"]) - y(image)), atol=1e-6)
    assert f["dx"].shape == f["dy"].shape == (64, 64)


def test_target_maps_of_a_ramp_are_its_slope(monkeypatch):
    """Known answer: a grey ramp I = 0.25 + 0.002 x + 0.001 y has ∂x = 0.002, ∂y = 0.001 away from the border."""
    yy, xx = np.mgrid[0:64, 0:64]
    ramp = (0.25 + 0.002 * xx + 0.001 * yy)[:, :, None]
    monkeypatch.setattr(P, "page_image", lambda name, size: ramp)
    dx, dy = P.target_maps("camera", 64, "central")
    np.testing.assert_allclose(dx[1:-1, 1:-1], 0.002, atol=1e-6)
    np.testing.assert_allclose(dy[1:-1, 1:-1], 0.001, atol=1e-6)


def test_before_any_train_the_page_shows_the_image_and_the_filters_maps(no_data, shipped_file):
    image = X.starting_image()
    assert image.shape == (96, 96, 1) and X.starting_image() is image  # camera, cached
    assert X.page_picture.cached("camera", 96, "sobel")
    e = X.Explorer()
    assert e.param.image.objects == list(BUNDLED) and "set5/" in e._status.object
    assert "96×96" in e._status.object and "24×24 = 576 values" in e._status.object
    rgb = e._image()
    assert rgb.dimension_values(2, flat=False).shape == (96, 96) and "camera" in _title(rgb)
    assert e._train_pixels().dimension_values(2, flat=False).shape == (24, 24)
    dx = e._target(0)
    y_up = np.flipud(dx.dimension_values(2, flat=False))  # HoloViews' rows run upwards, the array's downwards
    np.testing.assert_allclose(y_up, X.page_picture("camera", 96, "sobel")["dx"])
    assert "sobel filter" in _title(dx)
    assert "press Train" in _title(e._recon()) and "press Train" in _title(e._psnr("value"))
    assert len(e._maps.object) == 4 and "Press **Train**" in e._fit_area[1].object  # the fit's maps: after a Train
    assert "No full run in this checkout" in e._shipped[0].object
    e.kernel, e.crop = "central", 128
    assert "central filter" in _title(e._target(1)) and e._target(1).dimension_values(2, flat=False).shape == (128, 128)


def test_set5_is_offered_when_its_files_are_here(set5):
    e = X.Explorer(image="butterfly")
    assert e.param.image.objects == list(SET5 + BUNDLED) and e.image == "butterfly"
    assert "set5/" not in e._status.object and e._image().dimension_values(2, flat=False).shape == (96, 96)


def test_a_partial_shipped_run_is_shown_where_it_has_both_fits(shipped_file):
    results = [{"image": "camera", "network": "siren", "loss": "value", "psnr_test": 20.0},
               {"image": "camera", "network": "siren", "loss": "sobolev", "psnr_test": 22.5},
               {"image": "astronaut", "network": "relu", "loss": "value", "psnr_test": 18.0},  # no partner
               {"image": "coffee", "network": "relu", "loss": "sobolev"}]  # malformed
    shipped_file.write_text(json.dumps({"quick": True, "results": results, "tasks": 12, "tasks_missing": 9,
                                        "settings": {"steps": 300, "lam": 1.0, "kernel": "sobel"}}))
    e = X.Explorer()
    head, tabs = e._shipped[0].object, e._shipped[1]
    assert "quick run" in head and "Partial" in head and "3 of 12" in head
    assert "**SIREN (ω₀ = 30)**: Sobolev better on 1 of 1 image, mean gain +2.50 dB" in head
    table = tabs[0].object
    assert "| SIREN (ω₀ = 30) | camera | 20.00 | 22.50 | +2.50 |" in table and "astronaut" not in table
    scatter = tabs[1].object.get(1)
    assert scatter.label == "SIREN (ω₀ = 30)" and len(scatter) == 1
    assert tabs[1].get_root() is not None  # Bokeh draws it
    shipped_file.write_text("{not json")
    X.shipped.cache_clear()
    assert X.shipped() == {} and "No full run" in X.Explorer()._shipped[0].object


def test_train_streams_both_fits_then_shows_their_scores(no_data, shipped_file):
    session = FakeSession()
    with set_curdoc(session.doc):
        e = X.Explorer(steps=16, lam=2.0, **TINY)
        e._on_train()
        assert e._buttons.running and not e._buttons.stop.disabled
        session.wait_and_drain(e._buttons.job)
    assert not e._buttons.running and not e._buttons.train.disabled
    assert len(e._maps.object) == 8 and e._fit_area[1] is e._curves and len(e._curves.object) == 2
    status = e._train_status.object
    assert "done." in status and "value-only" in status and "Sobolev − value-only" in status
    hist = e._live["history"]
    assert [h["step"] for h in hist["value"]] == [2, 4, 6, 8, 10, 12, 14, 16] == [h["step"] for h in hist["sobolev"]]
    assert e.shown == "sobolev" and "Sobolev, step 16" in _title(e._recon())
    assert e._recon().dimension_values(2, flat=False).shape == (64, 64)
    err = e._error_map().dimension_values(2, flat=False)
    assert err.shape == (64, 64) and err.max() > 0
    curve = e._psnr("sobolev")
    assert len(curve.get(0)) == 8 and "λ = 2" in _title(curve) and "at step 16" in _title(curve)
    assert len(curve.get(2)) == 8 and curve.get(2).label == "value-only: test"  # the other fit, for comparison
    e.shown = "value"  # the other fit's last maps
    assert "value-only, step 16" in _title(e._network(0))
    assert np.abs(e._network(1).dimension_values(2)).max() > 0
    e.lam = 3.0  # another setting: the run's pictures belong to the old one
    assert "press Train" in _title(e._recon()) and len(e._psnr("value").get(0)) == 0


def test_stop_ends_the_train(no_data, shipped_file):
    session = FakeSession()
    with set_curdoc(session.doc):
        e = X.Explorer(steps=2000, **TINY)
        e._on_train()
        e._buttons.cancel()  # Stop
        session.wait_and_drain(e._buttons.job, timeout=120)
    assert "stopped" in e._train_status.object and not e._buttons.running
    assert len(e._live["history"]["value"]) <= 1 and e._live["history"]["sobolev"] == []


def test_a_new_setting_abandons_a_running_train(no_data, shipped_file):
    session = FakeSession()
    with set_curdoc(session.doc):
        e = X.Explorer(steps=2000, **TINY)
        e._on_train()
        job = e._buttons.job
        e.network = "relu"
        assert job.cancelled.is_set() and not e._buttons.running and not e._buttons.train.disabled
        session.wait_and_drain(job, timeout=120)
    assert "press Train" in _title(e._recon())


def test_bad_input_is_refused():
    e = X.Explorer()
    for name, value in (("lam", -1.0), ("lam", 11.0), ("image", "lena"), ("crop", 100), ("kernel", "scharr"),
                        ("steps", 0), ("network", "mlp")):
        with pytest.raises(ValueError):
            setattr(e, name, value)
    with pytest.raises(ValueError, match="image: expected one of"):
        X.Explorer(image="lena")
    with pytest.raises(ValueError, match="crop: expected one of"):
        P.page_image("camera", 100)


def test_a_failing_train_shows_a_message_not_a_traceback(monkeypatch, no_data, shipped_file):
    def broken(*_args, **_kwargs):
        raise FloatingPointError("the loss became nan at step 3: lower lr")

    monkeypatch.setattr(X, "fit_with_frames", broken)
    e = X.Explorer(**TINY)
    e._on_train()
    e._buttons.job.wait(60)
    assert "failed." in e._train_status.object
    assert "the loss became nan" in e._error[0].object and "Traceback" not in e._error[0].object


def test_a_failing_image_shows_a_message_and_empty_figures(monkeypatch, no_data, shipped_file):
    def broken(name, size):
        raise OSError(f"/srv/data/set5/{name}.png: truncated file")

    monkeypatch.setattr(X, "page_image", broken)
    e = X.Explorer()
    e.image = "coffee"  # not cached: loaded through the job pool (here at once)
    assert "Could not load **coffee**" in e._status.object
    assert "coffee.png: truncated file" in e._error[0].object and "/srv" not in e._error[0].object
    assert "press Train" in _title(e._recon()) and e._image().dimension_values(2).max() == 0


def test_the_explorer_is_an_ipywidget():
    pytest.importorskip("jupyter_bokeh")
    assert X.Explorer().ipywidget() is not None
