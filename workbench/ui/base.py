"""What every topic's Explorer shares: its layout outside the app and its life as an ipywidget."""

from __future__ import annotations

import panel as pn

from workbench.ui.extensions import load_extensions
from workbench.ui.theme import explorer_layout

__all__ = ["ExplorerBase", "as_ipywidget"]


def as_ipywidget(obj, **kwargs):
    """``obj`` (any Panel object) as an ipywidget, like ``pn.ipywidget`` (``jupyter_bokeh``), with its stylesheets
    inline: ``pn.ipywidget`` links them from Panel's CDN, which an offline notebook cannot reach (the widget then
    renders unstyled). Composes with ``ipywidgets.interact``, ``VBox`` and other ipywidgets-based tools."""
    from bokeh.document import Document
    from bokeh.models import UIElement
    from jupyter_bokeh.widgets import BokehModel
    from panel.io.notebook import patch_inline_stylesheets  # what Panel's own notebook display does when inline

    load_extensions()
    model = pn.panel(obj, **kwargs).get_root(doc=Document())
    for sub in model.select({"type": UIElement}):
        patch_inline_stylesheets(sub)
    return BokehModel(model, combine_events=True)


class ExplorerBase(pn.viewable.Viewer):
    """A topic's Explorer: ``controls()`` (the sidebar) and ``main_view()`` (the views). In a notebook it shows as
    controls left of the views; ``ipywidget()`` gives the same as an ipywidget."""

    def controls(self):
        raise NotImplementedError

    def main_view(self):
        raise NotImplementedError

    def __panel__(self):
        return explorer_layout(self.controls(), self.main_view())

    def ipywidget(self):
        """This Explorer as an ipywidget (see :func:`as_ipywidget`)."""
        return as_ipywidget(self)
