"""Every registered topic has what the app, the CLI and the notebooks rely on."""

import inspect

import panel as pn
import pytest

from workbench.app import routes, topic_page
from workbench.topics import TOPICS, get_topic


@pytest.mark.parametrize("slug", list(TOPICS))
def test_topic_is_complete(slug):
    t = TOPICS[slug]
    assert issubclass(t.explorer, pn.viewable.Viewer)
    params = inspect.signature(t.reproduce).parameters
    assert {"quick", "seed", "progress", "settings", "runner"} <= set(params)
    assert t.notebook.is_file(), f"missing notebook {t.notebook}"
    assert hasattr(t.module, "__all__")
    assert f"/{slug}" in routes()


@pytest.mark.parametrize("slug", list(TOPICS))
def test_topic_page_renders(slug):
    page = topic_page(slug)
    assert isinstance(page, pn.template.BaseTemplate)
    for obj in [*page.main, *page.sidebar]:
        pn.panel(obj).get_root()
    alerts = [o for o in page.main if isinstance(o, pn.pane.Alert)]
    assert not alerts, alerts[0].object if alerts else ""


@pytest.mark.parametrize("slug", list(TOPICS))
def test_full_run_is_a_task_grid_for_the_runner(slug):
    """The full run's settings are a frozen dataclass and its tasks plain functions with JSON parameters, named by
    the module and function a Dask worker imports; the task version keys the cache."""
    import dataclasses
    import importlib
    import json

    from workbench.runner import Task

    ex = importlib.import_module(f"workbench.{slug}.experiments")
    assert dataclasses.is_dataclass(ex.FULL) and type(ex.FULL).__dataclass_params__.frozen
    assert ex.TASK_VERSION is not None and callable(ex.tasks)
    grid_args = {"nm_sparsity": (ex.FULL, [0, 1]), "structure_learning": (ex.FULL, [0, 1]),
                 "execution": (ex.FULL, ("continuous",), [0, 1]), "mesh_adaptation": (ex.FULL, {"weights": 0})}
    grid = ex.tasks(*grid_args[slug])
    assert grid and all(isinstance(t, Task) for t in grid)
    for t in {t.fn for t in grid}:
        module, name = t.split(":")
        assert module == f"workbench.{slug}.experiments" and callable(getattr(ex, name)), t
    assert all(json.loads(json.dumps(t.params)) == t.params for t in grid)


def test_get_topic_rejects_unknown_slug():
    with pytest.raises(ValueError, match="nm_sparsity"):
        get_topic("nope")
