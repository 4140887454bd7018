"""The Binder entry serves the dashboard under a prefix, with only the registered pages, on a Unix socket that
only Jupyter's authenticated proxy reaches (no TCP port)."""

import http.client
import socket
import subprocess
import sys
import time

import pytest

from tests.ui.conftest import REPO, stop
from workbench.topics import TOPICS
from workbench.ui.server_proxy import setup_dashboard

pytestmark = pytest.mark.ui


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a Unix socket, as jupyter-server-proxy talks to the dashboard."""

    def __init__(self, path: str, timeout: float = 30):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


def get(path: str, url: str) -> int:
    conn = UnixHTTPConnection(path)
    try:
        conn.request("GET", url)
        return conn.getresponse().status
    finally:
        conn.close()


def test_proxy_command_serves_registered_pages_on_a_unix_socket(tmp_path):
    cfg = setup_dashboard()
    assert cfg["unix_socket"] is True and not any("{port}" in a for a in cfg["command"])
    path = str(tmp_path / "dashboard.sock")
    cmd = [a.format(unix_socket=path, base_url="/user/test/") for a in cfg["command"]]
    assert cmd[0] == "workbench"
    proc = subprocess.Popen([sys.executable, "-m", "workbench", *cmd[1:]], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120  # a hang guard for the server's start
        while True:
            assert proc.poll() is None, f"server exited with {proc.returncode}"
            try:
                if get(path, "/user/test/panel/") == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the dashboard did not answer on its socket within 120 s"
            time.sleep(0.25)
        for slug in TOPICS:
            assert get(path, f"/user/test/panel/{slug}") == 200
        assert get(path, "/user/test/panel/conftest") == 404
    finally:
        stop(proc)
