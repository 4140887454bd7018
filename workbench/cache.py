"""Where the workbench keeps what it computes, outside the repository.

``WORKBENCH_CACHE`` (default ``~/.cache/workbench``) holds the PETSc build of ``make firedrake``, Firedrake's
compiled kernels (``firedrake-kernels/``) and the finished tasks of full runs (``runs/``, :mod:`workbench.runner`).
The package sets these defaults itself when the variables are unset, so ``.venv/bin/workbench ...`` run
directly finds the same caches as the make targets.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_root", "runs_dir", "firedrake_kernels_dir", "use_firedrake_kernel_cache"]


def cache_root() -> Path:
    """``$WORKBENCH_CACHE``, or ``~/.cache/workbench``."""
    return Path(os.environ.get("WORKBENCH_CACHE") or Path.home() / ".cache" / "workbench").expanduser()


def runs_dir() -> Path:
    """Finished tasks of full runs: ``<cache_root>/runs``."""
    return cache_root() / "runs"


def firedrake_kernels_dir() -> Path:
    """Firedrake's compiled kernels: ``$FIREDRAKE_CACHE_DIR``, or ``<cache_root>/firedrake-kernels``."""
    return Path(os.environ.get("FIREDRAKE_CACHE_DIR") or cache_root() / "firedrake-kernels").expanduser()


def use_firedrake_kernel_cache() -> Path:
    """Point Firedrake at :func:`firedrake_kernels_dir` (unless ``FIREDRAKE_CACHE_DIR`` is set) before it is
    imported: by default it compiles into the venv, so every fresh clone would compile every kernel again."""
    path = firedrake_kernels_dir()
    os.environ.setdefault("FIREDRAKE_CACHE_DIR", str(path))
    return path
