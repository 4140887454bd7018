"""Shared view helpers: extension loading (once, inline), app template, progress, errors, export.

Only the explorers, the app and the notebooks import this package; core code never does.
"""

from workbench.ui.base import ExplorerBase, as_ipywidget
from workbench.ui.errors import error_message, guarded, public_text
from workbench.ui.export import csv_download, save_html, save_png
from workbench.ui.extensions import load_extensions
from workbench.ui.progress import app_progress, notebook_progress
from workbench.ui.theme import ACCENT, explorer_layout, page_template

__all__ = [
    "load_extensions", "guarded", "error_message", "app_progress", "notebook_progress",
    "csv_download", "save_html", "save_png", "page_template", "explorer_layout", "ACCENT", "ExplorerBase",
    "as_ipywidget", "public_text",
]
