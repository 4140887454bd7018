"""Task functions for the runner's tests (importable by name in Dask workers)."""

import os
import time
from pathlib import Path


def square(x: int, log: str | None = None, delay: float = 0.0, fail_on: int | None = None) -> dict:
    """``{"x": x, "square": x * x}``; appends ``x`` to the file ``log`` when it starts (to count calls), sleeps
    ``delay`` seconds, and raises ``ValueError`` when ``x == fail_on``."""
    if log:
        with open(log, "a") as f:
            f.write(f"{x} {os.getpid()}\n")
    time.sleep(delay)
    if x == fail_on:
        raise ValueError(f"x: {x} is the value this task was told to fail on")
    return {"x": x, "square": x * x}


def square_too(**params) -> dict:
    """:func:`square` under another name: a second Dask task group (a grid with two kinds of task)."""
    return square(**params)


def calls(log) -> list[int]:
    p = Path(log)
    return [int(line.split()[0]) for line in p.read_text().splitlines()] if p.exists() else []
