"""The implicit_processes page: the same figure elements whatever it shows, the shipped density when there is one,
and a live Train that streams the density and the inducing inputs off the event loop; a new setting stops it."""

import numpy as np
import pytest
from panel.io.state import set_curdoc

from tests.sessions import FakeSession
from workbench.implicit_processes import Explorer
from workbench.implicit_processes.explorer import shipped

pytestmark = pytest.mark.timeout(600)


def _kinds(overlay):
    return [type(el).__name__ for el in overlay]


def test_the_page_keeps_its_elements_whatever_it_shows():
    e = Explorer()
    assert _kinds(e._density()) == ["Image", "Scatter", "Scatter"]
    e.alpha = 0.35  # not in the shipped run
    assert "press Train" in e._status.object
    assert _kinds(e._density()) == ["Image", "Scatter", "Scatter"]
    assert len(e._density().get(2)) == 0  # no inducing inputs to show
    for prior in ("ns", "bnn", "gp"):  # the GP's kernel on the page's 80-point grid is singular in float32
        e.prior = prior
        curves = [el for el in e._prior_samples() if type(el).__name__ == "Curve"]
        assert len(curves) == 12 and all(np.isfinite(c.dimension_values(1)).all() for c in curves), prior
    e.prior = "oscillator"  # the physical prior belongs to the oscillator set
    assert "*oscillator* data set" in e._status.object


@pytest.mark.skipif(not shipped(), reason="no shipped full run in this checkout (docs/results/implicit_processes.json)")
def test_the_shipped_run_shows_a_density_and_the_scores():
    e = Explorer()
    assert "shipped full run" in e._status.object
    image = e._density().get(0)
    assert image.dimension_values(2).max() > 0
    assert "exact GP (RBF)" in e._scores.object and "SIP, neural-sampler prior" in e._scores.object


def test_train_streams_the_density_and_a_new_setting_stops_it():
    session = FakeSession()
    with set_curdoc(session.doc):
        e = Explorer(dataset="heteroscedastic", prior="ns", alpha=0.5, epochs=10)
        e._on_train()
        assert not e._buttons.stop.disabled
        session.wait_and_drain(e._buttons.job)
        assert e._status.object.endswith("done.") and not e._buttons.train.disabled
        assert "your run, epoch 10" in e._picture()[1]
        image, _, inducing = e._density()
        assert image.dimension_values(2).max() > 0 and len(inducing) == 100
        assert len(e._energy()) == 10
        e.epochs = 600
        e._on_train()
        job = e._buttons.job
        e.alpha = 0.9  # a new setting: the training of the old one is stopped
        assert job.cancelled.is_set() and not e._buttons.running and e._buttons.stop.disabled
        session.wait_and_drain(job)


def test_without_the_papers_files_the_page_offers_the_other_sets(monkeypatch, tmp_path):
    """No ../shared/data and no download: the page opens on a set it has and says where the paper's files go."""
    from workbench import data

    monkeypatch.setenv("WORKBENCH_DATA", str(tmp_path))
    monkeypatch.setattr(data, "REPO_DATA", tmp_path / "repo-data")
    e = Explorer()
    assert e.dataset == "oscillator" and "bimodal" not in e.param.dataset.objects
    assert "WORKBENCH_DATA" in e._status.object
    assert [type(el).__name__ for el in e._density()] == ["Image", "Scatter", "Scatter"]
