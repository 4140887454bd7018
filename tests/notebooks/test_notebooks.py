"""Execute every registered topic's notebook top to bottom, with a per-cell timeout."""

import json
import os
import re

import nbformat
import pytest
from nbclient import NotebookClient

from workbench.topics import TOPICS

CELL_TIMEOUT = 300  # seconds; the slowest cell (reproduce quick) takes ~15 s on 2 cores


def execute(path):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
                   extra_arguments=[]).execute(env=dict(os.environ))
    return nb


@pytest.mark.notebook
@pytest.mark.parametrize("slug", list(TOPICS))
def test_notebook_runs_and_its_widgets_render_offline(slug):
    nb = execute(TOPICS[slug].notebook)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    # the Explorer cell renders as a live Panel/Bokeh model...
    assert any("application/vnd.holoviews_exec.v0+json" in o.get("data", {}) for o in outputs)
    # ...and the JavaScript it needs is inline: the extension loaders fetch no URL (a CDN stays blank offline)
    loaders = [o["data"]["application/javascript"] for o in outputs
               if "application/vnd.holoviews_load.v0+json" in o.get("data", {})]
    assert loaders, "no Panel extension was loaded in the notebook"
    for js in loaders:
        for kind in ("js_urls", "css_urls", "js_modules"):
            urls = re.search(kind + r"\s*=\s*(\[[^\]]*\])", js)
            if urls:
                assert not json.loads(urls.group(1)), f"extension loads {kind} from the network: {urls.group(1)}"
    # a workshop notebook: at least two checked exercises, and its solutions pass their checks
    exercises = [c for c in nb.cells if c.cell_type == "code" and "check(" in c.source
                 and "solution" not in c.metadata.get("tags", [])]
    solutions = [c for c in nb.cells if "solution" in c.metadata.get("tags", [])]
    assert len(exercises) >= 2 and len(solutions) >= len({re.search(r'check\("([^"]+)"', c.source).group(1)
                                                            for c in exercises})
    for c in solutions:
        shown = " ".join(o.get("data", {}).get("text/plain", "") for o in c.outputs)
        assert shown.startswith("✓") and "✗" not in shown, (c.source, shown)
