"""Errors become a visible message, never a traceback, for dashboard users."""

from __future__ import annotations

import functools
import logging

__all__ = ["error_message", "guarded"]

log = logging.getLogger("workbench.ui")


def error_message(exc: BaseException):
    """A red alert pane with the exception's message (the traceback goes to the server log)."""
    import panel as pn

    log.warning("view failed: %s", exc, exc_info=exc)
    text = str(exc) or type(exc).__name__
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
