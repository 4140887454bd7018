"""``Report``: the one result object of ``experiments.reproduce``.

The same object prints as a table in a terminal (``str``), renders as HTML in a notebook
(``_repr_html_``), serialises to JSON for the CLI (``to_json``) and feeds the dashboards.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field

__all__ = ["Report", "grid_notes"]


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return ":".join(str(x) for x in v)
    return str(v)


def grid_notes(notes: list[str], tasks: int, runner, seconds: float, quick: str | None = None,
               partial_detail: str = "") -> list[str]:
    """The notes of a task grid's report, in the order every topic prints them: a partial run's warning
    (``runner.missing`` of the ``tasks`` not computed yet; ``partial_detail`` ends its sentence), ``quick`` (what a
    quick run leaves out; None for a full run), the topic's own ``notes``, and the grid's size, where it ran
    (``runner.describe()``) and the ``seconds`` the report took."""
    out = []
    if runner.missing:
        out.append(f"PARTIAL: {runner.missing} of {tasks} tasks are not computed yet (a report from the cache)"
                   f"{partial_detail}.")
    if quick:
        out.append(quick)
    return out + list(notes) + [f"{tasks} tasks ({runner.describe()}). Took {seconds:.1f} s."]


@dataclass
class Report:
    """A reproduced result.

    Attributes:
        title: what was reproduced (paper and setting).
        data: JSON-serialisable results; its keys are the topic's documented output.
        table: rows (dicts with the same keys) for the readable view.
        notes: lines printed under the table (settings, caveats, timings).
    """

    title: str
    data: dict
    table: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        cols: list[str] = []
        for row in self.table:
            cols += [k for k in row if k not in cols]
        return cols

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.data, **kwargs)

    def __str__(self) -> str:
        cols = self.columns
        cells = [[_fmt(r.get(c)) for c in cols] for r in self.table]
        widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]
        line = "  ".join("-" * w for w in widths)
        out = [self.title, "=" * len(self.title)]
        if cols:
            out += ["  ".join(c.ljust(w) for c, w in zip(cols, widths)), line]
            out += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
        out += [""] + self.notes if self.notes else []
        return "\n".join(out)

    def _repr_html_(self) -> str:
        cols = self.columns
        head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c)))}</td>" for c in cols) + "</tr>" for r in self.table
        )
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (
            f"<div><h4>{html.escape(self.title)}</h4><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>{f'<ul>{notes}</ul>' if notes else ''}</div>"
        )
