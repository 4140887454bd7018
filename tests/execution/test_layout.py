"""House order of the execution package: small modules with an explicit ``__all__``, and no module reading another
object's private attributes."""

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "workbench" / "execution"
MODULES = sorted(PACKAGE.rglob("*.py"))
PRIVATE = re.compile(r"\b([A-Za-z_][A-Za-z_0-9]*)\._[a-z][a-z_]*")  # obj._name, where obj is not self / cls


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_is_small_and_declares_its_api(path):
    text = path.read_text()
    assert len(text.splitlines()) <= 500
    names = {t.id for node in ast.parse(text).body if isinstance(node, ast.Assign) for t in node.targets
             if isinstance(t, ast.Name)}
    assert "__all__" in names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_reads_another_objects_privates(path):
    code = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    bad = [(n, line.strip()) for n, line in enumerate(code, 1)
           for m in PRIVATE.finditer(line) if m.group(1) not in ("self", "cls")]
    assert not bad
