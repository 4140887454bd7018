"""JupyterLab in Chromium: the topic notebook's Explorer renders inline and reacts.

Fails if the notebook's widgets stop rendering (e.g. extension JavaScript fetched from a CDN offline).
"""

import pytest

pytestmark = pytest.mark.ui


def test_explorer_renders_and_reacts_in_jupyterlab(page, lab_url):
    url, token = lab_url
    page.goto(f"{url}/lab/tree/nm_sparsity.ipynb?token={token}", wait_until="domcontentloaded")
    page.locator(".jp-Notebook").first.wait_for(timeout=90_000)
    page.locator(".jp-Notebook-cell").first.wait_for(timeout=90_000)
    page.wait_for_timeout(2000)  # kernel start
    page.locator(".jp-Notebook").first.click()
    # Run > Run All Cells, through JupyterLab's command palette-free keyboard route
    page.keyboard.press("Escape")
    page.evaluate("() => window.jupyterapp && window.jupyterapp.commands.execute('notebook:run-all-cells')")
    if not page.evaluate("() => !!window.jupyterapp"):
        page.get_by_text("Run", exact=True).first.click()
        page.get_by_text("Run All Cells", exact=True).first.click()
    # the Explorer (last cell) renders Bokeh canvases inside the output area
    out = page.locator(".jp-OutputArea-output .bk-Canvas, .jp-OutputArea-output canvas")
    out.first.wait_for(state="attached", timeout=240_000)
    page.get_by_text("gradient of shape").first.wait_for(timeout=60_000)
    page.get_by_role("button", name="weight", exact=True).last.click()
    page.get_by_text("weight of shape").first.wait_for(timeout=60_000)
