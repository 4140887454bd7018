"""SIP and the baselines end to end on small data: seeded repeatability, what training improves, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.implicit_processes import datasets as D
from workbench.implicit_processes.assumed import AssumedOscillator
from workbench.implicit_processes.gp import ExactGP
from workbench.implicit_processes.sip import SIP
from workbench.implicit_processes.vi_bnn import VIBNN


@pytest.fixture(scope="module")
def small_bimodal():
    d = D.bimodal(240, seed=1)
    return D.split(d, 0)


def _fit(data, **kw):
    x_tr, y_tr, x_te, y_te = data
    model = SIP(epochs=kw.pop("epochs", 3), batch_size=50, n_inducing=10, n_samples=20, **kw).fit(x_tr, y_tr)
    return model, model.predict(x_te, n_samples=50)


def test_sip_repeats_exactly_under_a_seed(small_bimodal):
    _, a = _fit(small_bimodal, seed=4)
    _, b = _fit(small_bimodal, seed=4)
    _, c = _fit(small_bimodal, seed=5)
    assert torch.equal(a.means, b.means) and torch.equal(a.stds, b.stds)
    assert not torch.equal(a.means, c.means)


def test_sip_training_raises_the_energy_and_streams_the_inducing_points(small_bimodal):
    """Over 30 epochs the α-energy per point (the data term) rises: the last five epochs' mean above the first
    five's (a fit that did not learn would not move it); every record carries the M inducing inputs."""
    records = []
    x_tr, y_tr, _, _ = small_bimodal
    SIP(epochs=30, batch_size=50, n_inducing=10, n_samples=20, lr=3e-3).fit(x_tr, y_tr, progress=records.append)
    first = np.mean([r["energy"] for r in records[:5]])
    last = np.mean([r["energy"] for r in records[-5:]])
    assert last > first
    assert all(r["inducing"].shape == (10, 1) for r in records)


def test_stop_ends_training_early(small_bimodal):
    x_tr, y_tr, _, _ = small_bimodal
    seen = []
    model = SIP(epochs=50, batch_size=50, n_inducing=10, n_samples=20)
    model.fit(x_tr, y_tr, progress=seen.append, should_stop=lambda: len(seen) >= 2)
    assert len(seen) == 2 and len(model.history_) == 2


def test_exact_gp_fits_a_smooth_function():
    """On y = sin(x) + N(0, 0.1²) the exact GP's test RMSE is near the noise (< 0.15) and its NLL near the noise's
    entropy (0.5 log(2πe 0.01) = −0.88; allow up to −0.6)."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, 120)[:, None]
    y = np.sin(x[:, 0]) + 0.1 * rng.standard_normal(120)
    gp = ExactGP(iterations=80).fit(x[:100], y[:100])
    s = gp.predict(x[100:]).scores(torch.tensor(y[100:], dtype=torch.float32))
    assert s["rmse"] < 0.15 and s["nll"] < -0.6


def test_vi_bnn_beats_the_mean_predictor():
    """The VI BNN's test RMSE on a smooth function is well below the targets' standard deviation (the RMSE of
    predicting the mean): half of it, with room for a short schedule."""
    rng = np.random.default_rng(1)
    x = rng.uniform(-3, 3, 300)[:, None]
    y = np.sin(x[:, 0]) + 0.1 * rng.standard_normal(300)
    model = VIBNN(epochs=100).fit(x[:250], y[:250])
    s = model.predict(x[250:]).scores(torch.tensor(y[250:], dtype=torch.float32))
    assert s["rmse"] < 0.5 * y[250:].std()


def test_assumed_oscillator_is_exact_on_its_own_model_and_wrong_on_damped_data():
    """On undamped data the assumed model finds the frequency (grid step 0.02) and predicts to the noise; on the
    damped set its late-time predictive keeps an amplitude the data no longer has (its RMSE after t = 6 is several
    times the noise)."""
    rng = np.random.default_rng(0)
    t = rng.uniform(0, 10, 300)[:, None]
    y = 1.5 * np.cos(2.0 * t[:, 0]) - 0.5 * np.sin(2.0 * t[:, 0]) + 0.1 * rng.standard_normal(300)
    model = AssumedOscillator(grid=291).fit(t[:250], y[:250])
    assert model.frequency_ == pytest.approx(2.0, abs=0.03)
    assert model.predict(t[250:]).scores(torch.tensor(y[250:], dtype=torch.float32))["rmse"] < 0.15
    d = D.oscillator(400, seed=0)
    late = d.x[:, 0] > 6
    wrong = AssumedOscillator().fit(d.x, d.y).predict(d.x[late])
    assert float((wrong.mean - torch.tensor(d.y[late])).pow(2).mean().sqrt()) > 2 * 0.2


def test_sip_bad_inputs_name_the_argument(small_bimodal):
    x_tr, y_tr, _, _ = small_bimodal
    for kw, name in [({"alpha": 0.0}, "alpha"), ({"alpha": 1.01}, "alpha"), ({"alpha": -1}, "alpha"),
                     ({"n_inducing": 0}, "n_inducing"), ({"prior": "spline"}, "prior"), ({"kl": "reverse"}, "kl"),
                     ({"prior_dropout": 1.0}, "prior_dropout"), ({"prior_dropout": "none"}, "prior_dropout"),
                     ({"jitter": -1e-3}, "jitter"), ({"jitter": "large"}, "jitter")]:
        with pytest.raises(ValueError, match=name):
            SIP(**kw).fit(x_tr, y_tr)
    with pytest.raises(ValueError, match="y"):
        SIP().fit(x_tr, y_tr[:-1])
    y_nan = y_tr.copy()
    y_nan[3] = np.nan
    with pytest.raises(ValueError, match="y"):
        SIP().fit(x_tr, y_nan)
    with pytest.raises(TypeError, match="n_inducing"):
        SIP(n_inducing=2.5).fit(x_tr, y_tr)
    with pytest.raises(RuntimeError, match="fit"):
        SIP().predict(x_tr)


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(D.SYNTHETIC), st.integers(2, 300), st.integers(0, 10_000))
def test_generators_and_splits(name, n, seed):
    """Every generator gives finite (N, 1) inputs and (N,) targets, reproducible under a seed; a split partitions
    the points 90/10."""
    gen = {"bimodal": D.bimodal, "heteroscedastic": D.heteroscedastic, "oscillator": D.oscillator}[name]
    a, b = gen(n, seed), gen(n, seed)
    assert a.x.shape == (n, 1) and a.y.shape == (n,) and np.isfinite(a.y).all()
    assert np.array_equal(a.y, b.y)
    x_tr, y_tr, x_te, y_te = D.split(a, seed % 20)
    assert len(y_tr) == round(0.9 * n) and len(y_tr) + len(y_te) == n
    assert sorted(np.concatenate([y_tr, y_te]).tolist()) == sorted(a.y.tolist())


def test_check_xy_errors():
    with pytest.raises(ValueError, match="X"):
        D.check_xy(np.array([[np.inf], [1.0]]), np.zeros(2))
    with pytest.raises(ValueError, match="y"):
        D.check_xy(np.zeros((3, 1)), np.zeros(2))
    with pytest.raises(ValueError, match="name"):
        D.load("boston")


def test_prior_dropout_and_jitter_schedule_and_released(small_bimodal):
    """Our schedule trains the BNN prior without dropout and with a 1e-2 jitter, and keeps the neural sampler's
    dropout and the 1e-5 jitter; "released" gives the released code's; a value applies to either prior."""
    x_tr, y_tr, _, _ = small_bimodal
    kw = {"epochs": 1, "batch_size": 50, "n_inducing": 10, "n_samples": 20}
    bnn = SIP(prior="bnn", **kw).fit(x_tr, y_tr)
    assert bnn.prior_.dropout == 0.0 and bnn._jitter() == 1e-2
    released = SIP(prior="bnn", prior_dropout="released", jitter="released", **kw).fit(x_tr, y_tr)
    assert released.prior_.dropout == 0.1 and released._jitter() == 1e-5
    ns = SIP(prior="ns", **kw).fit(x_tr, y_tr)
    assert ns.prior_.features.dropout == 0.05 and ns._jitter() == 1e-5
    ns0 = SIP(prior="ns", prior_dropout=0.0, jitter=0.1, **kw).fit(x_tr, y_tr)
    assert ns0.prior_.features.dropout == 0.0 and ns0._jitter() == 0.1


def test_a_prediction_between_epochs_leaves_the_training_as_it_was(small_bimodal):
    """The page predicts between epochs of iter_fit: the prior is back in training mode (dropout on) afterwards,
    and in evaluation mode once the fit has ended."""
    x_tr, y_tr, x_te, _ = small_bimodal
    model = SIP(epochs=2, batch_size=50, n_inducing=10, n_samples=20, prior_dropout="released")
    for _ in model.iter_fit(x_tr, y_tr):
        model.predict(x_te, n_samples=10)
        model.prior_samples(x_te, 3)
        assert model.prior_.training
    assert not model.prior_.training


def test_released_splits_follow_the_released_permutation_files(monkeypatch, tmp_path):
    """split(source="released") takes split k's order from row k of the released file, its first 90 % training in
    that order; a row that does not permute the data set's points is refused, naming the file."""
    from workbench import data

    n = 50
    toy = D.RegressionData("bimodal", np.arange(n, dtype=float)[:, None], 2.0 * np.arange(n), "toy", True)
    monkeypatch.setattr(D, "load", lambda name: toy)
    monkeypatch.setattr(data, "find", lambda name, **kw: tmp_path)
    rng = np.random.default_rng(0)
    perms = np.stack([rng.permutation(n) for _ in range(3)])
    np.savetxt(tmp_path / "permutations_bim_data.txt", perms, fmt="%d", delimiter=",")
    x_tr, y_tr, x_te, y_te = D.split(toy, 2, source="released")
    assert np.array_equal(x_tr[:, 0], perms[2, :45]) and np.array_equal(x_te[:, 0], perms[2, 45:])
    assert np.array_equal(y_tr, 2.0 * perms[2, :45]) and np.array_equal(y_te, 2.0 * perms[2, 45:])
    with pytest.raises(ValueError, match="index"):
        D.split(toy, 3, source="released")
    with pytest.raises(ValueError, match="source"):
        D.split(toy, 0, source="paper")
    with pytest.raises(ValueError, match="name"):
        D.released_permutations("engel")
    perms[1, 0] = perms[1, 1]
    np.savetxt(tmp_path / "permutations_bim_data.txt", perms, fmt="%d", delimiter=",")
    with pytest.raises(ValueError, match="permutations_bim_data"):
        D.released_permutations("bimodal")


def test_the_grid_asks_for_released_splits_only_where_they_exist():
    """Settings(split_source="released") puts the released splits on the bimodal and heteroscedastic tasks only;
    seeded tasks carry no split_source key, so their cache keys are those of the shipped run."""
    from workbench.implicit_processes.experiments import Settings, tasks

    released = tasks(Settings(datasets=("bimodal", "engel"), methods=("gp_exact",), splits=2, split_source="released"))
    assert [t.params.get("split_source") for t in released] == ["released", "released", None, None]
    seeded = tasks(Settings(datasets=("bimodal",), methods=("gp_exact",), splits=2))
    assert all("split_source" not in t.params for t in seeded)
    with pytest.raises(ValueError, match="split_source"):
        Settings(split_source="paper")
    with pytest.raises(ValueError, match="splits"):
        Settings(split_source="released", splits=21)
