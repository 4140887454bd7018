import json

from workbench.report import Report


def test_report_renders_everywhere():
    r = Report("T", {"a": [1, 2]}, [{"x": 1.23456, "y": None}, {"x": 2, "z": [2, 4]}], ["note"])
    text = str(r)
    assert text.splitlines()[0] == "T" and "1.235" in text and "2:4" in text and "note" in text
    assert r.columns == ["x", "y", "z"]
    assert json.loads(r.to_json()) == {"a": [1, 2]}
    assert "<table>" in r._repr_html_()


class _Runner:
    def __init__(self, missing):
        self.missing = missing

    def describe(self):
        return "2 workers"


def test_grid_notes_put_a_partial_run_first_and_the_timing_last():
    from workbench.report import grid_notes

    full = grid_notes(["topic note"], 12, _Runner(0), 3.14159)
    assert full == ["topic note", "12 tasks (2 workers). Took 3.1 s."]
    partial = grid_notes(["a", "b"], 12, _Runner(5), 1.0, quick="Quick run: less.", partial_detail="; rows say which")
    assert partial[0] == "PARTIAL: 5 of 12 tasks are not computed yet (a report from the cache); rows say which."
    assert partial[1:] == ["Quick run: less.", "a", "b", "12 tasks (2 workers). Took 1.0 s."]
