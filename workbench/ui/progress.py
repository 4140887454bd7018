"""Progress callables with the tqdm signature ``progress(iterable, total=None, desc=None)``."""

from __future__ import annotations

__all__ = ["notebook_progress", "app_progress"]


def notebook_progress():
    """``tqdm.auto.tqdm``: an ipywidgets bar in notebooks, text in terminals."""
    from tqdm.auto import tqdm

    return tqdm


def app_progress(**kwargs):
    """A ``pn.widgets.Tqdm`` (callable like tqdm) to place in a dashboard."""
    import panel as pn

    # width=None: Tqdm has a fixed default width, which contradicts a width-responsive sizing mode
    return pn.widgets.Tqdm(**{"sizing_mode": "stretch_width", "width": None, **kwargs})
