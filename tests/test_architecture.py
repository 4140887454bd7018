"""The arrows point one way: UI -> explorers -> core -> kernels."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
UI_LIBS = {"panel", "holoviews", "plotly", "bokeh", "ipywidgets"}
UI_FILES = {"explorer.py", "app.py", "cli.py"}  # and a topic's view helpers, named *_view.py (the explorer's layer)


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_core_never_imports_ui_libraries():
    bad = [
        str(p.relative_to(REPO))
        for p in (REPO / "workbench").rglob("*.py")
        if p.name not in UI_FILES and not p.name.endswith("_view.py") and "ui" not in p.relative_to(REPO / "workbench").parts
        and imported_roots(p) & UI_LIBS
    ]
    assert not bad


def test_kernels_never_import_workbench():
    assert not [p for p in (REPO / "kernels").rglob("*.py") if "workbench" in imported_roots(p)]
