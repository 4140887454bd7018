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
    assert {"quick", "seed", "progress"} <= set(params)
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


def test_get_topic_rejects_unknown_slug():
    with pytest.raises(ValueError, match="nm_sparsity"):
        get_topic("nope")
