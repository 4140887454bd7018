"""jupyter-server-proxy entry: serve the dashboard at ``<base_url>panel/`` inside JupyterLab (Binder).

Only the registered topic pages are served (the app's explicit route list), never tests or helpers.
"""

from __future__ import annotations

__all__ = ["setup_dashboard"]


def setup_dashboard() -> dict:
    return {
        "command": [
            "workbench", "serve", "--port", "{port}", "--prefix", "{base_url}panel",
            # behind Jupyter's authenticated proxy the browser's origin is the Binder host, unknown in advance
            "--allow-websocket-origin", "*",
        ],
        "absolute_url": True,
        "timeout": 120,
        "launcher_entry": {"title": "Seed Workbench", "path_info": "panel/"},
    }
