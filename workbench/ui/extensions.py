"""Load the Panel/HoloViews extensions once, with inline resources.

Inline resources matter in notebooks: otherwise Panel/Bokeh output loads its JavaScript from a CDN
and stays blank offline (workshops and CI are offline). ``panel serve`` serves its own files.
"""

from __future__ import annotations

import os

__all__ = ["load_extensions"]

_loaded: set[str] = set()


def load_extensions(*extra: str) -> None:
    """``pn.extension(*extra, inline=True)`` and the HoloViews Bokeh renderer, at most once per name."""
    import holoviews as hv
    import panel as pn

    wanted = {"base", *extra}
    if wanted <= _loaded:
        return
    # inline by default (offline notebooks); `make notebooks-html` asks for the CDN, so that the published copies,
    # read online, stay small
    inline = os.environ.get("WORKBENCH_NOTEBOOK_RESOURCES", "inline") != "cdn"
    pn.extension(*sorted(set(extra)), inline=inline, sizing_mode="stretch_width")
    if _in_kernel() and inline:
        _serve_later_stylesheets_from_jupyter()
    hv.renderer("bokeh")  # loads the Bokeh plotting backend without emitting notebook JS
    # HoloViews draws with WebGL by default. Our plots hold at most ~10k glyphs, which a 2-D canvas draws in a few
    # milliseconds, whereas WebGL costs a compositing copy on every redraw, and without a GPU (headless Chromium,
    # many workshop and CI machines) a software rasteriser: a slider step took 0.40 s there with WebGL, 0.2 s without
    hv.plotting.bokeh.BokehRenderer.webgl = False
    hv.Store.set_current_backend("bokeh")
    _loaded.update(wanted)


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _serve_later_stylesheets_from_jupyter() -> None:
    """In a notebook, Panel inlines the stylesheets of what it displays (``inline=True``), but the components it
    creates or updates afterwards (a text that changes, a view that is replaced) link theirs from Panel's CDN: offline
    they stay unstyled, and the browser logs a failed request for each. Panel's Jupyter server extension serves the
    same files under ``<base url>panel-preview/static/extensions/panel/`` (the path Panel itself uses for its
    Jupyter preview); point the fallback there. The base URL is JupyterHub's (Binder's) service prefix when there is
    one. ``panel.reactive.CDN_DIST`` is the fallback Panel reads when a document names no ``dist_url``; the
    JupyterLab test (tests/ui/test_jupyterlab.py) fails on any failed request, so a Panel release that changes this
    is caught."""
    import panel.reactive

    base = os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or "/"
    panel.reactive.CDN_DIST = base.rstrip("/") + "/panel-preview/static/extensions/panel/"
