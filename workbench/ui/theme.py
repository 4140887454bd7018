"""The app template and theme shared by every page."""

from __future__ import annotations

__all__ = ["ACCENT", "page_template", "explorer_layout"]

ACCENT = "#2f6f4f"  # seed green


def page_template(title: str, main, sidebar=()):
    """A ``BootstrapTemplate`` with the workbench header, a link home and the given content."""
    import panel as pn

    tpl = pn.template.BootstrapTemplate(
        title=f"Seed Workbench · {title}", header_background=ACCENT,
        sidebar_width=330, site_url="./", logo="",
    )
    nav = pn.pane.HTML('<a href="./" style="font-weight:600">← all topics</a>', sizing_mode="stretch_width")
    tpl.sidebar.append(nav)
    for item in sidebar:
        tpl.sidebar.append(item)
    for item in main if isinstance(main, (list, tuple)) else [main]:
        tpl.main.append(item)
    return tpl


def explorer_layout(controls, main):
    """An explorer outside the app (a notebook cell): its controls in a 320 px column left of its views."""
    import panel as pn

    return pn.Row(pn.Column(controls, width=320, sizing_mode="fixed"), main, sizing_mode="stretch_width")
