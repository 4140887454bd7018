"""The house's lint: ruff's pycodestyle (E, W) and pyflakes (F) rules at 120 columns, as ``pyproject.toml`` sets
them, over the package, the kernels, the tests and the scripts. An unused name or import is often a test that
checks less than it says, so it fails here rather than waiting for a reviewer."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ruff() -> list[str] | None:
    exe = Path(sys.executable).with_name("ruff")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("ruff")
    return [found] if found else None


def test_ruff_finds_nothing():
    ruff = _ruff()
    if ruff is None:
        pytest.skip("ruff is not installed (it comes with the [test] extra: make test installs it)")
    done = subprocess.run([*ruff, "check", "--no-cache", "--output-format", "concise", "."], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"ruff check reports:\n{done.stdout}{done.stderr}"
