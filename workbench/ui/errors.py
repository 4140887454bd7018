"""Errors become a visible message, never a traceback, for dashboard users."""

from __future__ import annotations

import functools
import logging
import re

__all__ = ["error_message", "guarded", "public_text"]

log = logging.getLogger("workbench.ui")

# an absolute path (``/a/b/name`` not inside a URL or a relative path): shown to users as its last component
_ABSOLUTE_PATH = re.compile(r"(?<![\w:/.~-])/(?:[\w.@+~-]+/)+([\w.@+~-]+)")


def public_text(text: str) -> str:
    """``text`` with every absolute file-system path shortened to its last component: what a page may show of a
    server's error (the layout of the server's disk is not the visitor's business; the full message is logged)."""
    return _ABSOLUTE_PATH.sub(r"\1", text)


def error_message(exc: BaseException):
    """A red alert pane with the exception's message, absolute paths shortened (:func:`public_text`); the full
    message and the traceback go to the server log."""
    import panel as pn

    log.warning("view failed: %s", exc, exc_info=exc)
    text = public_text(str(exc)) or type(exc).__name__
    return pn.pane.Alert(f"**{type(exc).__name__}:** {text}", alert_type="danger", sizing_mode="stretch_width")


def guarded(view):
    """Decorate a view function so that an exception renders as :func:`error_message`."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - shown to the user instead of a traceback
            return error_message(exc)

    return wrapper
