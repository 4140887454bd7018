"""Load the Panel/HoloViews extensions once, with inline resources.

Inline resources matter in notebooks: otherwise Panel/Bokeh output loads its JavaScript from a CDN
and stays blank offline (workshops and CI are offline). ``panel serve`` serves its own files.
"""

from __future__ import annotations

__all__ = ["load_extensions"]

_loaded: set[str] = set()


def load_extensions(*extra: str) -> None:
    """``pn.extension(*extra, inline=True)`` and the HoloViews Bokeh renderer, at most once per name."""
    import holoviews as hv
    import panel as pn

    wanted = {"base", *extra}
    if wanted <= _loaded:
        return
    pn.extension(*sorted(set(extra)), inline=True, notifications=True, sizing_mode="stretch_width")
    hv.renderer("bokeh")  # loads the Bokeh plotting backend without emitting notebook JS
    # HoloViews draws with WebGL by default. Our plots hold at most ~10k glyphs, which a 2-D canvas draws in a few
    # milliseconds, whereas WebGL costs a compositing copy on every redraw, and without a GPU (headless Chromium,
    # many workshop and CI machines) a software rasteriser: a slider step took 0.40 s there with WebGL, 0.2 s without
    hv.plotting.bokeh.BokehRenderer.webgl = False
    hv.Store.set_current_backend("bokeh")
    _loaded.update(wanted)
