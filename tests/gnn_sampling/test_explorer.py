"""The gnn_sampling page: the default setting drawn at once, other settings prepared off the event loop, Train
streaming its curve and variance off the loop, and the ring picture's geometry."""

import numpy as np
import pytest

from workbench.gnn_sampling import Explorer
from workbench.gnn_sampling.explorer import ring_layout

pytestmark = pytest.mark.timeout(600)


def _title(element) -> str:
    return element.opts.get().kwargs["title"]


def test_the_default_page_draws_a_batch_and_its_probabilities():
    e = Explorer()  # the warm-up's setting: Cora, MVS, batch 64
    assert "MVS-GNN" in e._status.object and "cora" in e._status.object
    picture = e._subgraph()
    roles = set(picture.Points.I.dimension_values("role"))
    assert roles == {"batch", "hop 1", "hop 2"}  # Cora's MVS computes neighbourhoods exactly: no history
    assert _title(picture).startswith("one drawn batch: 16 of its")
    scatter = e._probabilities()
    p = scatter.Scatter.I.dimension_values(1)
    assert np.all((p > 0) & (p <= 1))
    def batch(element):
        points = element.Points.I
        return {n for n, r in zip(points.dimension_values("node"), points.dimension_values("role")) if r == "batch"}

    e.draw = 5  # another batch: other nodes
    assert len(batch(picture)) == 16 and batch(e._subgraph()) != batch(picture)


def test_a_new_setting_is_prepared_off_the_loop_and_train_streams_its_curve():
    from panel.io.state import set_curdoc

    from tests.sessions import FakeSession

    session = FakeSession()
    with set_curdoc(session.doc):
        e = Explorer()
        e.sampler = "sage"
        e.batch_size = 16  # not prepared by the warm-up: computed in the job pool
        session.wait_and_drain(e._prepare_job)
        assert "GraphSAGE" in e._status.object and "batch 16" in e._status.object
        e.steps = 20
        e._on_train()
        assert e._buttons.stop.disabled is False
        session.wait_and_drain(e._buttons.job)
    assert e._status.object.endswith("done.") and not e._buttons.train.disabled
    records = e._live_records()
    assert [r["step"] for r in records][-1] == 20 and all(0 <= r["val_f1"] <= 1 for r in records)
    measured = [r["variance"] for r in records if "variance" in r]
    assert measured and all(v["total"]["mean"] > 0 and v["draws"] == 8 for v in measured)
    assert e._state()["where"] == "your trained model (20 steps)"  # the picture now shows its probabilities
    assert any(el.label == "your run" for el in e._convergence("step"))
    # the loss tab: the run's full-batch training loss (positive, on a log axis), not the noisy mini-batch loss
    mine = next(el for el in e._convergence("step", "train_loss") if el.label == "your run")
    assert list(mine.dimension_values(1)) == [r["train_loss"] for r in records]
    assert all(r["train_loss"] > 0 for r in records)


def test_the_ring_picture_puts_each_role_on_its_ring_without_overlaps():
    roles = ["batch"] * 3 + ["hop 1"] * 4 + ["history"] + ["hop 2"] * 5
    edges = np.array([[0, 3], [1, 4], [2, 5], [0, 6], [1, 7], [3, 8], [4, 9], [5, 10], [6, 11], [7, 12]])
    pos = ring_layout(roles, edges)
    radius = np.linalg.norm(pos, axis=1)
    assert np.allclose(radius[:3], 0.35) and np.allclose(radius[3:8], 0.7) and np.allclose(radius[8:], 1.0)
    gaps = np.linalg.norm(pos[:, None] - pos[None], axis=-1) + np.eye(len(pos))
    assert gaps.min() > 0.1  # evenly spread on each ring: no two nodes on one spot


def test_the_explorer_is_an_ipywidget():
    pytest.importorskip("jupyter_bokeh")
    assert Explorer().ipywidget() is not None


def test_stop_ends_a_train_and_a_new_setting_cancels_it():
    from panel.io.state import set_curdoc

    from tests.sessions import FakeSession

    session = FakeSession()
    with set_curdoc(session.doc):
        e = Explorer()
        e.steps = 2000
        e._on_train()
        job = e._buttons.job
        e._buttons.cancel()
        session.wait_and_drain(job)
        assert e._status.object.endswith("stopped.") and not e._buttons.train.disabled
        e._on_train()
        job = e._buttons.job
        e.draw = 1  # not a new setting: the training goes on
        assert e._buttons.job is job and not job.cancelled.is_set()
        e.batch_size = 16  # a new setting: the training of the old one is stopped
        assert job.cancelled.is_set() and e._buttons.job is None and e._buttons.stop.disabled
        session.wait_and_drain(job)
        session.wait_and_drain(e._prepare_job)  # the new setting, prepared off the loop
    assert "batch 16" in e._status.object and "stopped" not in e._status.object
    assert not e._buttons.train.disabled
