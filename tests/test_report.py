import json

from workbench.report import Report


def test_report_renders_everywhere():
    r = Report("T", {"a": [1, 2]}, [{"x": 1.23456, "y": None}, {"x": 2, "z": [2, 4]}], ["note"])
    text = str(r)
    assert text.splitlines()[0] == "T" and "1.235" in text and "2:4" in text and "note" in text
    assert r.columns == ["x", "y", "z"]
    assert json.loads(r.to_json()) == {"a": [1, 2]}
    assert "<table>" in r._repr_html_()
