"""The Dask runner: cached, resumable task grids; the same results on a cluster as in process; failures named."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.runner_tasks import calls
from workbench.runner import Runner, Task, TaskError, cached_results

REPO = Path(__file__).resolve().parent.parent
SQUARE = "tests.runner_tasks:square"


def grid(n, log=None, **kw):
    return [Task(SQUARE, {"x": x, "log": str(log) if log else None, **kw}) for x in range(n)]


def test_results_come_back_in_order_and_from_the_cache_without_calls(tmp_path):
    log = tmp_path / "calls.log"
    runner = Runner.in_process(cache=True)
    runner.cache_dir = tmp_path / "cache"
    first = runner.run("demo", grid(5, log), version=1)
    assert first == [{"x": x, "square": x * x} for x in range(5)]
    assert sorted(calls(log)) == list(range(5))
    again = runner.run("demo", grid(5, log), version=1)
    assert again == first and len(calls(log)) == 5  # nothing recomputed
    # a new task version, or fresh=True, recomputes
    runner.run("demo", grid(5, log), version=2)
    assert len(calls(log)) == 10
    Runner(workers=0, cache_dir=tmp_path / "cache", fresh=True).run("demo", grid(2, log), version=1)
    assert len(calls(log)) == 12


def test_a_killed_run_resumes_and_recomputes_only_the_missing_tasks(tmp_path):
    """Kill a run (SIGKILL, no clean-up) after some tasks finished; the rerun calls exactly the others."""
    log, cache, n = tmp_path / "calls.log", tmp_path / "cache", 8
    script = (f"from tests.test_runner import grid; from workbench.runner import Runner; "
              f"Runner(workers=0, cache_dir={str(cache)!r}).run('demo', grid({n}, {str(log)!r}, delay=0.4), 1)")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO)
    deadline = time.monotonic() + 120  # hang guard
    while len(calls(log)) < 4 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    tasks = grid(n, log, delay=0.4)
    done = [x for x, r in enumerate(cached_results("demo", tasks, 1, cache)) if r is not None]
    assert 2 <= len(done) < n, done  # killed part-way
    before = len(calls(log))
    results = Runner(workers=0, cache_dir=cache).run("demo", tasks, 1)
    rerun = calls(log)[before:]
    assert sorted(rerun) == sorted(set(range(n)) - set(done))  # each missing task once, no finished one again
    assert results == [{"x": x, "square": x * x} for x in range(n)]


@pytest.mark.parametrize("workers", [0, 2])
def test_a_failing_task_is_named_with_its_parameters_and_the_others_are_kept(tmp_path, workers):
    cache = tmp_path / "cache"
    tasks = grid(5, fail_on=3)
    with pytest.raises(TaskError) as err:
        Runner(workers=workers, cache_dir=cache).run("demo", tasks, 1)
    msg = str(err.value)
    assert "1 of 5 demo tasks failed" in msg and "square(fail_on=3, log=None, x=3)" in msg
    assert "ValueError: x: 3 is the value this task was told to fail on" in msg
    assert [f.task.params["x"] for f in err.value.failures] == [3]
    kept = cached_results("demo", tasks, 1, cache)
    assert [r and r["square"] for r in kept] == [0, 1, 4, None, 16]


def test_a_two_worker_local_cluster_gives_the_same_json_as_in_process(tmp_path):
    """A small LDS grid (Wine, 2 seeds, both k, a short schedule): bit-identical reports."""
    from workbench.structure_learning import experiments as sl

    cfg = sl.Settings(datasets=("wine",), seeds=2, ks=(10, 20), edges_retained=(),
                      lds={"max_inner_steps": 40, "max_outer": 3, "patience": 2})
    here = sl.reproduce(settings=cfg, runner=Runner.in_process()).data
    cluster = sl.reproduce(settings=cfg, runner=Runner(workers=2, cache_dir=tmp_path)).data
    here.pop("seconds"), cluster.pop("seconds")
    assert json.dumps(cluster) == json.dumps(here)
    assert len(list(tmp_path.rglob("*.json"))) == len(sl.tasks(cfg, [0, 1]))


def test_tasks_and_runners_refuse_bad_input():
    with pytest.raises(ValueError, match="fn: expected 'package.module:function'"):
        Task("no_colon", {})
    with pytest.raises(TypeError, match="params of m:f: expected JSON-serialisable"):
        Task("m:f", {"x": object()})
    with pytest.raises(ValueError, match="workers: expected a non-negative integer, got -1"):
        Runner(workers=-1)
    with pytest.raises(ValueError, match="workers: 0 runs in this process"):
        Runner(workers=0, scheduler="tcp://127.0.0.1:1")
    with pytest.raises(TypeError, match="tasks: expected a list of Task"):
        Runner.in_process().run("demo", [("m:f", {})], 1)


def test_equal_parameters_give_equal_keys_whatever_their_order_or_container():
    a = Task(SQUARE, {"x": 1, "shape": (2, 3)})
    b = Task(SQUARE, {"shape": [2, 3], "x": 1})
    assert a.key("t", 1) == b.key("t", 1)
    assert a.key("t", 1) != a.key("t", 2) != a.key("u", 1)


def test_an_unreachable_scheduler_is_named():
    from workbench.ui.browser import free_port

    with pytest.raises(ConnectionError, match=r"scheduler: no Dask scheduler answered at 'tcp://127.0.0.1:\d+'"):
        Runner(scheduler=f"tcp://127.0.0.1:{free_port()}", connect_timeout=2).run("demo", grid(1), 1)


def test_cached_only_computes_nothing_and_counts_the_missing(tmp_path):
    log, cache = tmp_path / "calls.log", tmp_path / "cache"
    Runner(workers=0, cache_dir=cache).run("demo", grid(3, log), 1)
    runner = Runner(workers=0, cache_dir=cache, cached_only=True)
    results = runner.run("demo", grid(5, log), 1)
    assert results[:3] == [{"x": x, "square": x * x} for x in range(3)] and results[3:] == [None, None]
    assert runner.missing == 2 and len(calls(log)) == 3
    with pytest.raises(ValueError, match="cached_only: a report from the cache needs"):
        Runner(cached_only=True, fresh=True)


def test_a_partial_lds_report_lists_the_seeds_each_row_has(tmp_path):
    """A cached-only LDS report from part of its grid: the rows it can fill, each with the seeds it has."""
    from workbench.runner import require_complete
    from workbench.structure_learning import experiments as sl

    cfg = sl.Settings(datasets=("wine",), seeds=2, ks=(20,), edges_retained=(),
                      lds={"max_inner_steps": 40, "max_outer": 3, "patience": 2})
    part = sl.Settings(datasets=("wine",), seeds=1, ks=(20,), edges_retained=(), lds=cfg.lds)
    sl.reproduce(settings=part, runner=Runner(workers=0, cache_dir=tmp_path))  # seed 0 only
    data = sl.reproduce(settings=cfg, runner=Runner(workers=0, cache_dir=tmp_path, cached_only=True)).data
    assert data["tasks_missing"] == 2 and {tuple(r["seeds"]) for r in data["results"]} == {(0,)}
    assert sl.markdown_tables(data)["status"].startswith("**Partial**: 2 of 4 tasks")  # the page says so
    full = sl.reproduce(settings=cfg, runner=Runner(workers=0, cache_dir=tmp_path)).data
    assert sl.markdown_tables(full)["status"] == "All 4 tasks of the grid."
    with pytest.raises(ValueError, match="1 of 2 demo tasks are not cached yet"):
        require_complete("demo", [{"x": 1}, None])


def test_exported_tasks_import_into_another_cache(tmp_path):
    from workbench.runner import export_cache, import_cache

    a, b, log = tmp_path / "a", tmp_path / "b", tmp_path / "calls.log"
    Runner(workers=0, cache_dir=a).run("demo", grid(4, log), 1)
    records = export_cache("demo", a)
    assert len(records) == 4 and import_cache(records, b) == 4 and import_cache(records, b) == 0
    Runner(workers=0, cache_dir=a).run("demo", grid(2, log), 2)  # a newer version of two of them
    assert len(export_cache("demo", a)) == 6 and [r["version"] for r in export_cache("demo", a, version=2)] == [2, 2]
    assert len(export_cache("demo", a, version=1)) == 4 and export_cache("demo", a, version=3) == []
    assert Runner(workers=0, cache_dir=b).run("demo", grid(4, log), 1) == [{"x": x, "square": x * x} for x in range(4)]
    assert len(calls(log)) == 4 + 2  # the two of version 2; nothing computed again on "the other machine"
    with pytest.raises(ValueError, match=r"records\[0\]: expected a task record"):
        import_cache([{"fn": "m:f"}], b)


def test_one_worker_starts_the_tasks_in_the_order_given(tmp_path):
    # full runs list the tasks their claim needs first (sobolev_inr: SIREN, then the gradients-only fits): one worker
    # must start them in that order, not in the order of their keys or as Dask's scheduler happens to pick
    log = tmp_path / "calls.log"
    order = [5, 0, 7, 3, 1, 6, 2, 4, 9, 8]
    kinds = [SQUARE, SQUARE + "_too", SQUARE + "_too", SQUARE, SQUARE, SQUARE + "_too", SQUARE, SQUARE + "_too",
             SQUARE, SQUARE]  # two task groups, interleaved (Dask schedules by group)
    tasks = [Task(fn, {"x": x, "log": str(log), "delay": 0.05}) for fn, x in zip(kinds, order)]
    Runner(workers=1, cache_dir=tmp_path / "cache").run("demo", tasks, 1)
    assert calls(log) == order


def test_the_cache_command_writes_and_reads_gzip_when_the_name_ends_in_gz(tmp_path, monkeypatch, capsys):
    import gzip

    from workbench.cli import main

    from workbench.nm_sparsity.experiments import TASK_VERSION

    log = tmp_path / "calls.log"
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "a"))
    Runner(workers=0).run("nm_sparsity", grid(2, log), "stale")  # an older version's tasks stay in the cache
    Runner(workers=0).run("nm_sparsity", grid(3, log), TASK_VERSION)
    plain, packed, every = tmp_path / "tasks.jsonl", tmp_path / "tasks.jsonl.gz", tmp_path / "all.jsonl"
    assert main(["cache", "export", "nm_sparsity", "--all-versions", "-o", str(every)]) == 0
    assert len(every.read_text().splitlines()) == 2 + 3
    assert main(["cache", "export", "nm_sparsity", "-o", str(plain)]) == 0  # the current version's only
    assert main(["cache", "export", "nm_sparsity", "-o", str(packed)]) == 0
    assert packed.read_bytes()[:2] == b"\x1f\x8b"  # gzip's magic number, not text
    with gzip.open(packed, "rt") as f:
        assert f.read() == plain.read_text() and len(plain.read_text().splitlines()) == 3  # the same records
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "b"))
    capsys.readouterr()
    assert main(["cache", "import", str(packed)]) == 0
    assert "3 new of 3 task records" in capsys.readouterr().out
    assert Runner(workers=0).run("nm_sparsity", grid(3, log), TASK_VERSION) == [{"x": x, "square": x * x}
                                                                                for x in range(3)]
    assert len(calls(log)) == 2 + 3  # the second cache answered from the imported records: nothing computed again
