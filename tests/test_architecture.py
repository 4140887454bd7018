"""The arrows point one way: UI -> explorers -> core -> kernels."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
UI_LIBS = {"panel", "holoviews", "plotly", "bokeh", "ipywidgets"}
UI_FILES = {"explorer.py", "app.py", "cli.py"}


def imported_modules(path: Path) -> set[str]:
    """The absolute module names ``path`` imports (``from a.b import c`` gives ``a.b`` and ``a.b.c``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return names


def imported_roots(path: Path) -> set[str]:
    return {m.split(".")[0] for m in imported_modules(path)}


def is_ui_file(path: Path) -> bool:
    """The app, the CLI, ``workbench/ui/`` and each topic's ``explorer.py``."""
    return path.name in UI_FILES or "ui" in path.relative_to(REPO / "workbench").parts


def test_core_never_imports_ui_libraries():
    bad = [
        str(p.relative_to(REPO))
        for p in (REPO / "workbench").rglob("*.py")
        if not is_ui_file(p) and imported_roots(p) & UI_LIBS
    ]
    assert not bad


def test_core_never_imports_an_explorer():
    """The arrow from explorers to core points one way: no core module imports a topic's explorer layer."""
    bad = {
        str(p.relative_to(REPO)): sorted(m for m in imported_modules(p) if m.split(".")[-1] == "explorer")
        for p in (REPO / "workbench").rglob("*.py")
        if not is_ui_file(p) and p.name != "__init__.py"
    }
    assert not {k: v for k, v in bad.items() if v}


def test_kernels_never_import_workbench():
    assert not [p for p in (REPO / "kernels").rglob("*.py") if "workbench" in imported_roots(p)]


IMPORT_EVERY_MODULE = """
import importlib, io, pkgutil, sys, contextlib
import workbench, kernels
sys.argv = ["workbench", "list"]  # an unguarded main() would print the topics
out = io.StringIO()
names = [m.name for pkg in (workbench, kernels)
         for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")]
with contextlib.redirect_stdout(out):
    for name in names:
        importlib.import_module(name)
print(len(names), repr(out.getvalue()))
"""


def test_importing_any_module_has_no_side_effect():
    """Panel's ``/components/<module>/`` route imports installed modules by name: importing one of ours (the CLI's
    ``__main__`` included) must not run anything, print anything or exit."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", IMPORT_EVERY_MODULE], capture_output=True, text=True, timeout=600,
                          cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    count, printed = done.stdout.strip().split(" ", 1)
    assert int(count) > 50 and printed == "''", done.stdout
