"""Whether Firedrake is installed, and the one error that says how to get it.

Firedrake needs a PETSc built for it, which ``make firedrake`` builds from the package registries (about
16 minutes on 2 cores, cached). Modules that solve import Firedrake through :func:`require_firedrake`;
the rest of the topic (farms, metrics, Mmg remeshing, the network, the shipped results) works without it.
"""

from __future__ import annotations

import importlib.util
import os
import warnings

__all__ = ["firedrake_available", "require_firedrake", "INSTALL_HINT"]

INSTALL_HINT = "Firedrake is not installed: run `make firedrake` (or one `make test`) to build it (about 16 min)"


def firedrake_available() -> bool:
    """True when ``import firedrake`` can work (checked without importing it)."""
    return importlib.util.find_spec("firedrake") is not None


def require_firedrake():
    """Import and return the ``firedrake`` module; ``ImportError`` with the install command otherwise."""
    from workbench.cache import use_firedrake_kernel_cache

    os.environ.setdefault("OMP_NUM_THREADS", "1")  # Firedrake warns (and slows down) otherwise
    use_firedrake_kernel_cache()  # compiled kernels outside the venv, as the make targets set it
    if not firedrake_available():
        raise ImportError(INSTALL_HINT)
    import petsc4py

    petsc4py.init(["workbench"])  # not sys.argv: PETSc would read pytest's or Jupyter's arguments as its options
    with warnings.catch_warnings():  # Firedrake notes that PETSc is initialised already: that is the point
        warnings.filterwarnings("ignore", message="Calling petsctools.init")
        import firedrake

    return firedrake
