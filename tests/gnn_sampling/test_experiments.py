"""The quick run: one object per sampler with the documented keys, the variances where they must vanish, every
sampler learning Cora, and the settings checked."""

import math

import pytest

from workbench.gnn_sampling.experiments import FULL, QUICK, Settings, reproduce, tasks

KEYS = {"graph", "sampler", "batch_size", "test_f1_micro", "gradient_variance", "variance_embedding",
        "variance_stochastic", "steps_to_target", "seconds_per_epoch", "seeds", "curve", "variance_along", "train_loss",
        "steps_to_loss", "steps_to_val_f1"}

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def quick():
    return reproduce(quick=True).data


def test_quick_run_has_every_sampler_with_the_documented_keys(quick):
    rows = {r["sampler"]: r for r in quick["results"]}
    assert set(rows) == {"full", "uniform", "sage", "ladies", "saint", "mvs"}
    for r in rows.values():
        assert KEYS <= set(r), r["sampler"]
        assert r["graph"] == "cora" and r["seeds"] == [0]
        # 120 Adam steps learn Cora far above the majority class's 30 %: every sampler's estimate points downhill
        assert r["test_f1_micro"] > 0.6, r["sampler"]
        assert math.isfinite(r["gradient_variance"]) and r["seconds_per_epoch"] > 0
        # the full-batch training loss falls below log 7, a uniform guess's, and is the last record's (one seed)
        assert r["train_loss"] == r["curve"][-1]["train_loss"] < math.log(7), r["sampler"]
        counts = [lv["steps"] for lv in r["steps_to_loss"] if lv["steps"] is not None]
        assert counts == sorted(counts), r["sampler"]  # a lower loss is reached no sooner
        ladder = r["steps_to_val_f1"]
        assert [lv["val_f1"] for lv in ladder] == [0.8, 0.82, 0.84, 0.86, 0.88]  # Cora's target 0.84 ± 0.04
        counts = [lv["steps"] for lv in ladder if lv["steps"] is not None]
        assert counts == sorted(counts), r["sampler"]  # a higher F1 is reached no sooner
        assert ladder[2]["steps"] == r["steps_to_target"], r["sampler"]  # the target is the ladder's middle
    assert rows["full"]["batch_size"] == 1208  # the full batch holds every training node
    assert rows["full"]["gradient_variance"] < 1e-12  # the reference against itself
    assert rows["uniform"]["variance_embedding"] < 1e-12  # exact computation: only the batch is random
    # MVS on Cora computes the neighbourhoods exactly (the paper's small-graph study); GraphSAGE drops neighbours
    assert rows["mvs"]["variance_embedding"] < 1e-12 and rows["sage"]["variance_embedding"] > 0


def test_the_full_grid_and_bad_settings():
    grid = tasks(FULL)
    # full batch once per graph and seed, the five others at each batch size
    assert len(grid) == (5 + 5 + 3) * (1 + 5 * 2)  # seeds: Cora 5, Citeseer 5, SBM 3
    assert len(tasks(QUICK)) == 6
    for kw, name in (({"graphs": ("pubmed",)}, "graphs"), ({"samplers": ("cluster",)}, "samplers"),
                     ({"seeds": 0}, "seeds"), ({"graphs": ("cora",), "seeds": {"cora": 0}}, "seeds"),
                     ({"checkpoints": (0.0,)}, "checkpoints"),
                     ({"graphs": ("cora",), "batch_sizes": {"cora": (0,)}, "steps": {"cora": 5}}, "batch_sizes")):
        with pytest.raises((ValueError, TypeError), match=name):
            Settings(**kw)


def test_scale_figures_come_from_a_fresh_process_per_row():
    from workbench.gnn_sampling.scale import scale_figures

    rows = scale_figures(sizes=(1500,), samplers=["uniform", "mvs"], batch_size=64, steps=3, timeout=300)
    assert [r["sampler"] for r in rows] == ["uniform", "mvs"] and not any("error" in r for r in rows)
    for r in rows:
        # the graph's own tensors are a small part of what the process holds (Python, torch): both are measured
        assert 0 < r["graph_mib"] < r["peak_mib"] and r["seconds_per_step"] > 0 and r["edges"] > 0
        assert r["seconds_per_epoch"] == pytest.approx(r["seconds_per_step"] * 900 / 64, rel=1e-9)  # 60 % train


def test_a_history_task_measures_its_variance_over_a_cycle_and_again_with_fresh_histories():
    from workbench.gnn_sampling.experiments import train_task

    kw = dict(graph="sbm-10k", batch_size=200, seed=0, steps=40, eval_every=20, checkpoints=[1.0], draws=10)
    mvs, uniform = train_task(sampler="mvs", **kw), train_task(sampler="uniform", **kw)
    assert uniform["variance_fresh_history"] is None  # nothing stale to refresh
    fresh, end = mvs["variance_fresh_history"], mvs["variance"][-1]
    assert fresh["step"] == end["step"] == 40
    # with fresh histories the values are exact but nothing flows back through them: the embedding part stays
    # positive; the batches are drawn alike, so the stochastic part is of the same size (a factor 3 covers 10 draws
    # of a heavy-tailed squared norm)
    assert fresh["embedding"]["mean"] > 0 and end["embedding"]["mean"] > 0
    assert 1 / 3 < fresh["stochastic"]["mean"] / end["stochastic"]["mean"] < 3
