"""Fixtures that serve the app (or JupyterLab) on a free localhost port and drive Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.ui.browser import CHROMIUM, chromium, free_port, served_app, stop, wait_http

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    with chromium() as b:
        yield b


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    with served_app(tmp_path_factory.mktemp("serve") / "serve.log") as (url, _proc):
        yield url


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(30_000)
    pg.console_errors = []
    pg.on("console", lambda m: pg.console_errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.console_errors.append(str(e)))
    # offline, a resource fetched from the network (a CDN) fails: that is an error of ours
    pg.on("requestfailed", lambda r: pg.console_errors.append(f"request failed: {r.url}"))
    pg.on("response", lambda r: pg.console_errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    yield pg
    ctx.close()


@pytest.fixture(scope="session")
def lab_root(tmp_path_factory):
    """The folder JupyterLab serves: a copy of notebooks/ (tests may add notebooks to it)."""
    return tmp_path_factory.mktemp("lab") / "notebooks"


@pytest.fixture(scope="session")
def lab_url(lab_root):
    """JupyterLab on a copy of notebooks/ with a token, as `make lab` runs it."""
    root = lab_root.parent
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    port, token = free_port(), "workbench-test"
    log = open(root / "lab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root / 'notebooks'}",
         "--LabApp.news_url=", *(["--allow-root"] if os.geteuid() == 0 else [])],
        stdout=log, stderr=subprocess.STDOUT, cwd=root, env={**os.environ, "JUPYTER_CONFIG_DIR": str(root / "cfg")},
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/api/status?token={token}", proc, timeout=120)
        yield f"http://127.0.0.1:{port}", token
    finally:
        stop(proc)
