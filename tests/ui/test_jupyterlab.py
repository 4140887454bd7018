"""JupyterLab in Chromium, offline: every Explorer renders inline, one works as an ipywidget driven by
``ipywidgets.interact``, and the Plotly view renders. Fails if a notebook's widgets stop rendering (e.g. extension
JavaScript fetched from a CDN, which an offline workshop cannot reach)."""

import nbformat
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from workbench.topics import TOPICS

pytestmark = pytest.mark.ui

KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}}
# JupyterLab's own offline noise (its news and extension-manager feeds, the browser's note on each failed request,
# which the request's own entry names): not ours
IGNORED = ("Failed to load resource", "lab/api/news", "lab/api/extensions")


def run_all(page, url, token, notebook):
    page.goto(f"{url}/lab/tree/{notebook}?token={token}", wait_until="domcontentloaded")
    page.locator(".jp-Notebook-cell").first.wait_for(timeout=90_000)
    select = page.locator(".jp-Dialog").get_by_role("button", name="Select")
    try:  # a notebook that never ran may ask for its kernel first
        select.wait_for(timeout=5_000)
        select.click()
    except PlaywrightTimeout:
        pass
    # the kernel has started (the notebook toolbar's indicator), then Run > Run All Cells from the menu bar
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(state="attached",
                                                                                      timeout=120_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()


def our_errors(page):
    return [e for e in page.console_errors if not any(s in e for s in IGNORED)]


def test_explorer_renders_and_reacts_in_jupyterlab(page, lab_url):
    url, token = lab_url
    run_all(page, url, token, "nm_sparsity.ipynb")
    # the Explorer (last cell) renders Bokeh canvases inside the output area
    out = page.locator(".jp-OutputArea-output .bk-Canvas, .jp-OutputArea-output canvas")
    out.first.wait_for(state="attached", timeout=600_000)  # a hang guard: the notebook trains and reproduces
    page.get_by_text("gradient of shape").first.wait_for(timeout=60_000)
    page.get_by_role("button", name="weight", exact=True).last.click()
    page.get_by_text("weight of shape").first.wait_for(timeout=60_000)
    assert not our_errors(page), our_errors(page)


def test_every_explorer_renders_and_one_works_as_an_ipywidget(page, lab_url, lab_root):
    """A notebook showing every registered Explorer, the N:M Explorer as an ipywidget whose draw count an
    ``ipywidgets.interact`` text box sets, and the mesh topic's Plotly surface; nothing is fetched from the network
    (a failed request is an error) and no script fails."""
    cells = ["from workbench.ui import load_extensions\nload_extensions('plotly')\n"
             "import ipywidgets\nimport panel as pn\nfrom workbench.topics import TOPICS"]
    cells += [f"TOPICS[{slug!r}].explorer()" for slug in TOPICS]
    cells += ["from workbench.nm_sparsity import Explorer\nex = Explorer()\n"
              "box = ipywidgets.BoundedIntText(value=200, min=10, max=2000, description='draws')\n"
              "ipywidgets.interact(lambda draws: setattr(ex, 'samples', draws), draws=box)\n"
              "ex.ipywidget()",
              "from workbench.mesh_adaptation.store import load_case\n"
              "from workbench.mesh_adaptation.explorer import speed_surface\n"
              "pn.pane.Plotly(speed_surface(load_case('aligned').runs['dwr'][-1], 'aligned', 'DWR, last iteration'))"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells], metadata=KERNEL)
    nbformat.write(nb, lab_root / "explorers.ipynb")
    url, token = lab_url
    run_all(page, url, token, "explorers.ipynb")
    outputs = page.locator(".jp-OutputArea-output")
    # one Bokeh root per Explorer (as Panel output) and one more inside the ipywidget
    page.wait_for_function(
        "n => [...document.querySelectorAll('.jp-OutputArea-output')].filter(o => o.querySelector('.bk-root, "
        "[data-root-id], .bk-Canvas, canvas') || [...o.querySelectorAll('*')].some(e => e.shadowRoot)).length >= n",
        arg=len(TOPICS) + 1, timeout=300_000)
    page.locator(".js-plotly-plot").first.wait_for(state="attached", timeout=120_000)
    assert outputs.count() >= len(TOPICS) + 2
    # the ipywidget reacts to an ipywidgets control: a new draw count reaches the Explorer's text
    page.get_by_text("over 200 draws").first.wait_for(timeout=120_000)
    field = page.locator(".widget-inline-hbox", has_text="draws").locator("input").first
    field.fill("300")
    field.press("Enter")
    page.get_by_text("over 300 draws").first.wait_for(timeout=60_000)
    assert not our_errors(page), our_errors(page)
