"""scripts/relocate_firedrake_rpaths.py: cached Firedrake wheels must not load libraries from the venv that built
them."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "relocate_firedrake_rpaths.py"


def load():
    spec = importlib.util.spec_from_file_location("relocate_firedrake_rpaths", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_site_packages_entries_become_relative_and_missing_folders_are_dropped():
    relocated = load().relocated
    # the run path Firedrake 2026.10's rtree extension was built with (pip's build env, the building clone's venv,
    # the user site), plus a PETSc lib folder that exists and one that does not
    rpath = ":".join([
        "/usr/lib/python3.11",
        "/tmp/pip-build-env-b5pug4v5/overlay/lib/python3.11/site-packages/firedrake_rtree/firedrake_rtree",
        "/tmp/tmp.YlhULwfoS6/main/.venv/lib/python3.11/site-packages/firedrake_rtree/firedrake_rtree",
        "/root/.local/lib/python3.11/site-packages/Rtree.libs",
        "/root/.cache/workbench/petsc-3.26.0/arch-workbench/lib",
        "/gone/lib",
    ])
    present = {"/usr/lib/python3.11", "/root/.cache/workbench/petsc-3.26.0/arch-workbench/lib"}
    assert relocated(rpath, exists=present.__contains__) == ":".join([
        "/usr/lib/python3.11",
        "$ORIGIN/../../firedrake_rtree/firedrake_rtree",  # the three copies of one package collapse to one entry
        "$ORIGIN/../../Rtree.libs",
        "/root/.cache/workbench/petsc-3.26.0/arch-workbench/lib",
    ])
    # idempotent: a relocated run path is left as it is
    once = relocated(rpath, exists=present.__contains__)
    assert relocated(once, exists=present.__contains__) == once
