"""The quick run: the documented keys, Sobolev training ahead for SIREN, the tables, the grid and the settings."""

import json

import pytest

from tests.strategies import assert_names
from workbench.sobolev_inr.experiments import FULL, QUICK, Settings, markdown_tables, prepared_image, reproduce, tasks
from workbench.sobolev_inr.images import SET5
from workbench.sobolev_inr.networks import NETWORKS

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def quick():
    return reproduce(quick=True).data


def test_quick_run_has_the_documented_keys(quick):
    json.dumps(quick)  # the CLI prints it as JSON
    assert len(quick["results"]) == 2 * len(NETWORKS) * 2  # two images × networks × two losses
    for r in quick["results"]:
        assert {"image", "network", "loss", "psnr_test", "ssim_test", "steps", "seconds"} <= set(r)
        assert r["loss"] in ("value", "sobolev") and r["steps"] == QUICK.steps and 0 < r["ssim_test"] <= 1
    assert [p["image"] for p in quick["poisson"]] == ["camera"] and quick["poisson"][0]["psnr"] > 0
    assert quick["tasks_missing"] == 0


def test_the_quick_runs_camera_comes_back_from_its_gradients(quick):
    """The 32×32 camera from its central differences and one value (the stencil fit: 200 L-BFGS iterations on the
    per-pixel loss, ω₀ = 30) reaches 69.5 dB here (the pointwise Adam fit with 2 levels and jitter: 23.0 dB; the
    stencil fit with the pyramid over the whole grid: 51.3 dB); 50 dB leaves room for BLAS rounding and fails if
    L-BFGS or the consistency of the stencil is lost, or the anchor (the image shifted by 0.3: 6 dB)."""
    p = quick["poisson"][0]
    assert p["method"] == "stencil" and p["psnr"] > 50


def test_sobolev_training_wins_for_siren_in_the_quick_run(quick):
    """On both 48×48 crops SIREN gains ~3 dB in test PSNR from the derivatives after 200 steps (the full run's
    claim, in small); requiring a win on both with a mean gain above 1 dB leaves room for BLAS rounding."""
    w = quick["wins"]["siren"]
    assert w["sobolev_better"] == 2 and w["mean_gain_db"] > 1.0


def test_results_tables(quick):
    tables = markdown_tables(quick)
    assert {"status", "psnr", "wins", "poisson"} <= set(tables)
    assert "SIREN" in tables["psnr"] and "camera" in tables["poisson"] and "2 of 2" in tables["wins"]


def test_the_full_grid_is_every_set5_image_network_and_loss_plus_the_gradient_fits():
    grid = tasks(FULL)
    fits = [t for t in grid if t.fn.endswith("run_task")]
    assert len(fits) == len(SET5) * len(NETWORKS) * 2
    assert {(t.params["image"], t.params["network"], t.params["loss"]) for t in fits} == {
        (i, n, lo) for i in SET5 for n in NETWORKS for lo in ("value", "sobolev")}
    assert all(t.params["steps"] == FULL.steps and t.params["seed"] == 0 for t in fits)  # same steps, same seed
    assert fits[0].params["network"] == "siren"  # the claim's network first
    assert sum(t.fn.endswith("run_poisson") for t in grid) == len(FULL.poisson_kernels)


def test_prepared_image_reduces_by_block_means():
    img = prepared_image("camera", size=64)
    assert img.shape == (64, 64, 1)
    assert img.mean() == pytest.approx(prepared_image("camera").mean(), abs=1e-12)  # block means keep the mean


@pytest.mark.parametrize("kwargs, name", [
    (dict(images=("lena",)), "images"), (dict(networks=("cnn",)), "networks"), (dict(losses=("l1",)), "losses"),
    (dict(lam=-1.0), "lam"), (dict(kernel="prewitt"), "kernel"), (dict(steps=0), "steps"),
    (dict(stride=0), "stride"), (dict(poisson_size=4), "poisson_size"), (dict(poisson_levels=-1), "poisson_levels"),
    (dict(poisson_jitter="yes"), "poisson_jitter"), (dict(poisson_method="multigrid"), "poisson_method"),
    (dict(poisson_jitter=True), "poisson_jitter"),  # jitter is the pointwise fit's; the stencil scores pixels only
])
def test_bad_settings_are_refused_by_name(kwargs, name):
    with pytest.raises((ValueError, TypeError)) as e:
        Settings(**kwargs)
    assert_names(e.value, name)
