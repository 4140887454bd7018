import csv
import io

import holoviews as hv

from workbench.ui import load_extensions, save_html, save_png
from workbench.ui.export import csv_text


def test_csv_text_round_trips():
    rows = [{"a": 1, "b": 2.5}, {"a": 3, "c": "x"}]
    back = list(csv.DictReader(io.StringIO(csv_text(rows))))
    assert back == [{"a": "1", "b": "2.5", "c": ""}, {"a": "3", "b": "", "c": "x"}]


def test_png_and_html_export_without_a_browser(tmp_path):
    load_extensions()
    curve = hv.Curve([(0, 0), (1, 1), (2, 4)])
    png = save_png(curve, tmp_path / "c.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = save_html(curve, tmp_path / "c.html").read_text()
    assert "<html" in html.lower() and "cdn.bokeh.org" not in html  # inline resources: works offline
