"""The task records a topic ships beside its results (``docs/results/<slug>.tasks.jsonl[.gz]``) assemble, through
today's code and with nothing computed, exactly the results its page's tables come from
(``docs/results/<slug>.json``): a change to how the rows are read from the tasks must regenerate that JSON (and
the tables) or this fails, and a user who imports the records gets the published tables."""

import importlib
import json

import pytest

from workbench.results_pages import DOCS
from workbench.runner import Runner, import_cache, read_task_records

SHIPPED = sorted((DOCS / "results").glob("*.tasks.jsonl*"))


def _without_timings(x):
    """``x`` without the keys that hold wall-clock figures (seconds per epoch, a run's seconds): the same records
    give the same rows, but the report also times its own assembly."""
    if isinstance(x, dict):
        return {k: _without_timings(v) for k, v in x.items() if "second" not in k}
    if isinstance(x, list):
        return [_without_timings(v) for v in x]
    return x


def test_some_topics_ship_their_task_records():
    assert len(SHIPPED) >= 5, SHIPPED


@pytest.mark.timeout(300)
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name.split(".")[0])
def test_shipped_task_records_assemble_the_published_results(path, tmp_path):
    slug = path.name.split(".tasks.jsonl")[0]
    records = read_task_records(path)
    ex = importlib.import_module(f"workbench.{slug}.experiments")
    assert {r["version"] for r in records} == {ex.TASK_VERSION}  # export writes the current version only
    assert import_cache(records, tmp_path) == len(records)
    data = ex.reproduce(runner=Runner(cache_dir=tmp_path, cached_only=True)).data
    assert data["tasks_missing"] == 0, f"{data['tasks_missing']} of the grid's tasks are not in {path.name}"
    published = json.loads((DOCS / "results" / f"{slug}.json").read_text())
    assert _without_timings(data["results"]) == _without_timings(published["results"])
