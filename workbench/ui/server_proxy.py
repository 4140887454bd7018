"""jupyter-server-proxy entry: serve the dashboard at ``<base_url>panel/`` inside JupyterLab (Binder).

The dashboard listens on a Unix socket in a private folder that jupyter-server-proxy creates, so the only way in is
through Jupyter's authenticated proxy: no TCP port that another user of the machine, or a page of another web site,
could reach. Behind the proxy the browser's origin is the Jupyter host, which is not known in advance, hence the
wildcard origin, which :func:`workbench.app.check_serve_args` accepts on a Unix socket only. Only the registered
topic pages are served (the app's explicit route list), never tests or helpers.
"""

from __future__ import annotations

__all__ = ["setup_dashboard"]


def setup_dashboard() -> dict:
    return {
        "command": [
            "workbench", "serve", "--unix-socket", "{unix_socket}", "--prefix", "{base_url}panel",
            "--allow-websocket-origin", "*",
        ],
        "unix_socket": True,
        "absolute_url": True,
        "timeout": 120,
        "launcher_entry": {"title": "Seed Workbench", "path_info": "panel/"},
    }
