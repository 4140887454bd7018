import subprocess
import sys

import pytest

from workbench.cli import main
from workbench.topics import TOPICS


def test_list_has_one_line_per_topic(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(TOPICS)
    for line, t in zip(lines, TOPICS.values()):
        assert line.startswith(t.slug) and t.title in line and t.paper in line


def test_unknown_slug_exits_2_and_lists_valid_slugs():
    proc = subprocess.run([sys.executable, "-m", "workbench", "reproduce", "nope"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stdout == ""
    for slug in TOPICS:
        assert slug in proc.stderr


def test_data_command_finds_shared_sets(capsys):
    assert main(["data"]) == 0
    out = capsys.readouterr().out
    assert "digits" in out and "planetoid" in out


def test_only_is_checked_before_any_work(capsys):
    # a topic without parts refuses --only; a bad part name is reported with the valid ones
    assert main(["reproduce", "nm_sparsity", "--quick", "--only", "x"]) == 2
    assert "--only" in capsys.readouterr().err
    assert main(["reproduce", "structure_learning", "--quick", "--only", "nope"]) == 2
    err = capsys.readouterr().err
    assert "only" in err and "nope" in err and "cora" in err


def test_runner_options_are_checked_before_any_work(capsys):
    assert main(["reproduce", "nm_sparsity", "--quick", "--workers", "2"]) == 2
    assert "--quick runs in this process" in capsys.readouterr().err
    assert main(["reproduce", "nm_sparsity", "--workers", "-1"]) == 2
    assert "workers: expected a non-negative integer, got -1" in capsys.readouterr().err


def test_serve_settings_are_checked_before_any_work(capsys, monkeypatch):
    """A setting the server cannot honour fails at once with the argument named (it used to be an AssertionError
    after the 15-20 s warm-up); nothing is served or warmed."""
    import workbench.app

    monkeypatch.setattr(workbench.app, "serve", lambda **kw: pytest.fail(f"serve() reached with {kw}"))
    cases = [
        (["--port", "99999"], "port: expected an integer in 0..65535"),
        (["--port", "-1"], "port: expected an integer in 0..65535"),
        (["--num-procs", "0"], "num_procs: expected an integer >= 1, got 0"),
        (["--address", "0.0.0.0"], "address: serving on '0.0.0.0' exposes the server"),
        (["--allow-websocket-origin", "*"], "allow_websocket_origin: '*' would let any web site"),
        (["--unix-socket", "/no/such/folder/x.sock"], "unix_socket: the folder of '/no/such/folder/x.sock'"),
        (["--max-jobs", "0"], "max_jobs: expected an integer >= 1, got 0"),
    ]
    for args, message in cases:
        assert main(["serve", *args]) == 2, args
        assert message in capsys.readouterr().err, args
