"""``python -m workbench.results_pages``: fill the results tables of ``docs/<slug>.md`` from the JSON a full run
wrote to ``docs/results/<slug>.json`` (``workbench reproduce <slug> --json > docs/results/<slug>.json``), so that
no figure in the docs is retyped by hand.

A topic whose experiments module has ``markdown_tables(data) -> {name: markdown}`` gets each table written
between the markers ``<!-- results:NAME -->`` and ``<!-- /results:NAME -->`` of its page. ``--check`` only
reports pages whose tables differ from their JSON (exit status 1).
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
from pathlib import Path

__all__ = ["fill", "grid_status", "main"]

DOCS = Path(__file__).resolve().parent.parent / "docs"


def grid_status(data: dict, partial_detail: str = "") -> str:
    """A results page's ``status`` line from a full run's JSON: all of its ``tasks``, or how many of them the JSON
    holds (``tasks_missing``), with ``partial_detail`` after the partial line."""
    total, missing = data.get("tasks"), data.get("tasks_missing", 0)
    if not missing:
        return f"All {total} tasks of the grid."
    return f"**Partial**: {total - missing} of {total} tasks computed so far (`--cached-only`){partial_detail}."


def fill(page: str, tables: dict[str, str]) -> str:
    """``page`` with each ``<!-- results:NAME -->`` ... ``<!-- /results:NAME -->`` block replaced by its table;
    ``ValueError`` naming a table that has no markers on the page."""
    for name, table in tables.items():
        pattern = re.compile(rf"(<!-- results:{re.escape(name)} -->\n).*?(<!-- /results:{re.escape(name)} -->)", re.S)
        if not pattern.search(page):
            raise ValueError(f"tables: the page has no '<!-- results:{name} -->' ... '<!-- /results:{name} -->' block")
        page = pattern.sub(lambda m: m.group(1) + table.rstrip("\n") + "\n" + m.group(2), page)
    return page


def main(argv=None) -> int:
    from workbench.topics import TOPICS

    p = argparse.ArgumentParser(prog="python -m workbench.results_pages", description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="report pages that differ from their JSON, change nothing")
    args = p.parse_args(argv)
    stale = []
    for slug in TOPICS:
        source, page = DOCS / "results" / f"{slug}.json", DOCS / f"{slug}.md"
        experiments = importlib.import_module(f"workbench.{slug}.experiments")
        if not (source.is_file() and page.is_file() and hasattr(experiments, "markdown_tables")):
            continue
        text = page.read_text()
        new = fill(text, experiments.markdown_tables(json.loads(source.read_text())))
        if new != text:
            stale.append(str(page.relative_to(DOCS.parent)))
            if not args.check:
                page.write_text(new)
    print(("stale: " if args.check else "updated: ") + (", ".join(stale) or "none"))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
