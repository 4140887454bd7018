"""Figure and data export that needs no browser: HTML, PNG (matplotlib backend), CSV downloads."""

from __future__ import annotations

import csv
import io
from pathlib import Path

__all__ = ["save_html", "save_png", "csv_text", "csv_download"]


def save_html(obj, path: str | Path) -> Path:
    """Save a Panel/HoloViews object as a standalone HTML file with inline resources."""
    import panel as pn
    from bokeh.resources import INLINE

    path = Path(path)
    pn.panel(obj).save(str(path), resources=INLINE, embed=False)
    return path


def save_png(hv_obj, path: str | Path) -> Path:
    """Render a HoloViews object to PNG with the matplotlib backend (no browser needed)."""
    import holoviews as hv

    hv.renderer("matplotlib")  # loads the backend, no notebook output
    path = Path(path)
    hv.save(hv_obj, str(path), backend="matplotlib", fmt="png")
    return path


def csv_text(rows: list[dict]) -> str:
    """Rows of dicts as CSV text (columns in first-seen order)."""
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols)
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def csv_download(rows_fn, filename: str, label: str = "Download CSV"):
    """A ``pn.widgets.FileDownload`` that writes ``rows_fn()`` (list of dicts) as CSV on click."""
    import panel as pn

    return pn.widgets.FileDownload(
        callback=lambda: io.BytesIO(csv_text(rows_fn()).encode()), filename=filename, label=label,
        color="light", embed=False,
    )
