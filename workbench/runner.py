"""Full runs as grids of independent tasks on Dask distributed, cached and resumable.

A full ``reproduce`` is a list of :class:`Task`: a plain function named by ``"module:function"`` and its keyword
arguments (JSON), returning JSON. :meth:`Runner.run` executes the tasks that are not cached yet

* on a Dask ``LocalCluster`` of ``workers`` processes (default: one per core, one thread each), or
* on an existing cluster (``scheduler="tcp://HOST:PORT"``, or ``WORKBENCH_SCHEDULER``), or
* in this process (``workers=0``; what ``--quick`` runs use),

and stores each finished task under ``<WORKBENCH_CACHE>/runs/<topic>/<function>/<key>.json`` as soon as it
arrives, keyed by the topic, the function, its parameters and the topic's task version (a topic bumps its
``TASK_VERSION`` when a task's result would change). A run that is killed and started again recomputes only
the missing tasks; ``fresh=True`` recomputes everything. Results come back in the order of the tasks, each
passed through JSON, so a cached result and a fresh one are the same object.

A task that raises does not stop the others: they finish and are cached, then :class:`TaskError` names every
failed task with its parameters.

Example::

    tasks = [Task("workbench.structure_learning.experiments:knn_task", {"dataset": "wine", "seed": s, ...})
             for s in range(5)]
    results = Runner(workers=2).run("structure_learning", tasks, version=1, progress=tqdm)
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import importlib
import json
import logging
import os
import platform
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from workbench.cache import runs_dir

__all__ = ["Task", "Runner", "TaskError", "TaskFailure", "default_workers", "cached_results", "export_cache",
           "import_cache", "read_task_records", "write_task_records", "require_complete"]


def _canonical(value: Any, what: str, sort_keys: bool = True) -> str:
    try:  # parameters are canonical (sorted, no NaN: they make the cache key); results keep their order and NaN
        return json.dumps(value, sort_keys=sort_keys, separators=(",", ":"), allow_nan=not sort_keys)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{what}: expected JSON-serialisable values, got {value!r} ({e})") from None


@dataclass(frozen=True)
class Task:
    """One call ``fn(**params)``: ``fn`` is ``"package.module:function"``, ``params`` a JSON object."""

    fn: str
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.fn, str) or self.fn.count(":") != 1:
            raise ValueError(f"fn: expected 'package.module:function', got {self.fn!r}")
        if not isinstance(self.params, dict):
            raise TypeError(f"params: expected a dict, got {type(self.params).__name__}")
        # a plain, canonical copy: tuples become lists, so equal parameters give equal keys
        object.__setattr__(self, "params", json.loads(_canonical(self.params, f"params of {self.fn}")))

    @property
    def name(self) -> str:
        return self.fn.split(":")[1]

    def key(self, topic: str, version) -> str:
        """A hash of the topic, the function, the parameters and the task version."""
        blob = _canonical({"topic": topic, "fn": self.fn, "params": self.params, "version": version}, "task")
        return hashlib.sha256(blob.encode()).hexdigest()[:24]

    def describe(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({args})"


@dataclass
class TaskFailure:
    task: Task
    error: str  # the exception's type and message
    traceback: str


class TaskError(RuntimeError):
    """Some tasks raised; the others finished (and are cached). ``failures``: one :class:`TaskFailure` each."""

    def __init__(self, topic: str, failures: list[TaskFailure], total: int):
        self.failures = failures
        lines = [f"{len(failures)} of {total} {topic} tasks failed (the others are cached: running the same command "
                 "again computes only the failed ones):"]
        lines += [f"  {f.task.describe()}: {f.error}" for f in failures]
        super().__init__("\n".join(lines))


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _resolve(fn: str) -> Callable:
    module, name = fn.split(":")
    return getattr(importlib.import_module(module), name)


def execute(fn: str, params: dict, threads: int | None = None):
    """Run one task (in a Dask worker or in this process) and return its result passed through JSON.

    ``threads``: limit PyTorch's and the BLAS libraries' threads to this many while the task runs (a worker
    process per core should not start a thread per core each)."""
    func = _resolve(fn)
    if threads is None:
        return _through_json(func(**params), fn)
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(threads):
            result = func(**params)
    finally:
        torch.set_num_threads(before)
    return _through_json(result, fn)


def _through_json(result, fn: str):
    """The result as JSON gives it back (keys in their order), so a fresh result equals a cached one."""
    return json.loads(_canonical(result, f"result of {fn}", sort_keys=False))


def _commit() -> str | None:
    head = Path(__file__).resolve().parent.parent / ".git" / "HEAD"
    try:
        ref = head.read_text().strip()
        if ref.startswith("ref: "):
            return (head.parent / ref[5:]).read_text().strip()
        return ref
    except OSError:
        return None


class _Cache:
    """One JSON file per finished task."""

    def __init__(self, root: Path, topic: str, version):
        self.root, self.topic, self.version = Path(root), topic, version

    def path(self, task: Task) -> Path:
        return self.root / self.topic / task.name / f"{task.key(self.topic, self.version)}.json"

    def get(self, task: Task):
        """``(True, result)`` when the task is cached, ``(False, None)`` otherwise (or when the file is unreadable)."""
        try:
            record = json.loads(self.path(task).read_text())
        except (OSError, ValueError):
            return False, None
        if record.get("fn") != task.fn or record.get("params") != task.params:  # a hash collision, or a hand edit
            return False, None
        return True, record["result"]

    def put(self, task: Task, result, seconds: float) -> None:
        path = self.path(task)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {"topic": self.topic, "fn": task.fn, "params": task.params, "version": self.version,
                  "result": result, "seconds": seconds,
                  "finished": datetime.datetime.now().isoformat(timespec="seconds"),
                  "host": platform.node(), "commit": _commit()}
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(record))
        tmp.replace(path)  # atomic: a killed run never leaves half a file


def require_complete(topic: str, results: list) -> list:
    """``results`` when every task is there; ``ValueError`` saying how many are missing otherwise (a ``cached_only``
    runner on a topic whose report needs the whole grid)."""
    missing = sum(r is None for r in results)
    if missing:
        raise ValueError(f"cached_only: {missing} of {len(results)} {topic} tasks are not cached yet, and this "
                         "topic reports only a complete run: run it without --cached-only")
    return results


def export_cache(topic: str, cache_dir: Path | None = None, version=None) -> list[dict]:
    """Every finished task of ``topic`` in the cache, as the records the cache holds (parameters, result, version,
    seconds, host, commit): what :func:`import_cache` takes on another machine, so that a run can be finished
    there, or its finished part kept beside its results. ``version``: only the tasks of that version (the cache
    keeps a task's older versions beside it); None: all."""
    root = Path(cache_dir or runs_dir()) / topic
    records = []
    for path in sorted(root.glob("*/*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if version is None or record.get("version") == version:
            records.append(record)
    return records


def _records_file(path, mode: str):
    """``path`` opened as text for ``mode`` ("r" or "w"), through gzip when its name ends in ``.gz``."""
    if str(path).endswith(".gz"):
        return gzip.open(path, mode + "t", encoding="utf-8")
    return open(path, mode, encoding="utf-8")


def write_task_records(records: list[dict], path) -> None:
    """Write task records (:func:`export_cache`'s) to ``path``, one JSON object per line; gzip when the name ends in
    ``.gz`` (records with training curves compress 4–10×)."""
    with _records_file(path, "w") as f:
        f.write("".join(json.dumps(r) + "\n" for r in records))


def read_task_records(path) -> list[dict]:
    """The task records of a file :func:`write_task_records` (``workbench cache export``) wrote."""
    with _records_file(path, "r") as f:
        return [json.loads(line) for line in f if line.strip()]


def import_cache(records: list[dict], cache_dir: Path | None = None) -> int:
    """Write exported task records into the cache (a record already there is kept); returns how many were new.
    ``ValueError`` names a record that is not a task record."""
    new = 0
    for k, r in enumerate(records):
        if not isinstance(r, dict) or not {"topic", "fn", "params", "version", "result"} <= set(r):
            raise ValueError(f"records[{k}]: expected a task record with topic, fn, params, version and result")
        cache = _Cache(cache_dir or runs_dir(), r["topic"], r["version"])
        task = Task(r["fn"], r["params"])
        if not cache.get(task)[0]:
            path = cache.path(task)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(r))
            new += 1
    return new


def cached_results(topic: str, tasks: list[Task], version, cache_dir: Path | None = None) -> list:
    """The cached result of each task, or ``None`` where it is not cached (nothing is computed)."""
    cache = _Cache(cache_dir or runs_dir(), topic, version)
    return [cache.get(t)[1] for t in tasks]


@dataclass
class Runner:
    """Where and how the tasks of a full run execute.

    Args:
        workers: processes of the ``LocalCluster`` (default: one per core); ``0`` runs the tasks in this
            process, one after the other.
        scheduler: address of a running Dask scheduler (``tcp://HOST:PORT``); default ``WORKBENCH_SCHEDULER``.
            Its workers must be able to import ``workbench`` (start them from the same environment).
        cache: read and write finished tasks under ``cache_dir`` (default ``<WORKBENCH_CACHE>/runs``).
        fresh: ignore what is cached (the new results are still written).
        threads: PyTorch/BLAS threads per task on a cluster (default 1: one task per core); in this process
            the thread settings are left alone unless it is given.
        connect_timeout: seconds to wait for the scheduler at ``scheduler``.
        cached_only: compute nothing: the tasks that are not cached come back as ``None`` (and are counted in
            ``missing``), for a report of the part of a run that is done.
    """

    workers: int | None = None
    scheduler: str | None = None
    cache: bool = True
    fresh: bool = False
    cache_dir: Path | None = None
    threads: int | None = None
    connect_timeout: float = 30.0
    cached_only: bool = False
    missing: int = field(default=0, init=False)  # tasks the last run() left uncomputed (cached_only)

    def __post_init__(self):
        if self.workers is not None and (not isinstance(self.workers, int) or isinstance(self.workers, bool)
                                         or self.workers < 0):
            raise ValueError(f"workers: expected a non-negative integer, got {self.workers!r}")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise ValueError(f"threads: expected a positive integer, got {self.threads!r}")
        if self.scheduler is None:
            self.scheduler = os.environ.get("WORKBENCH_SCHEDULER") or None
        if self.scheduler is not None and self.workers == 0:
            raise ValueError(f"workers: 0 runs in this process, which contradicts scheduler={self.scheduler!r}")
        if self.cached_only and (self.fresh or not self.cache):
            raise ValueError("cached_only: a report from the cache needs cache=True and fresh=False")

    @classmethod
    def in_process(cls, cache: bool = False) -> "Runner":
        """Tasks run here, one after the other (``--quick`` runs: no cluster, nothing cached)."""
        return cls(workers=0, scheduler=None, cache=cache)

    @property
    def inline(self) -> bool:
        return self.workers == 0

    def describe(self) -> str:
        if self.inline:
            return "in process"
        if self.scheduler:
            return f"Dask cluster at {self.scheduler}"
        n = self.workers or default_workers()
        return f"Dask LocalCluster, {n} worker{'s' if n > 1 else ''}"

    def run(self, topic: str, tasks: list[Task], version, progress: Callable | None = None,
            desc: str | None = None) -> list:
        """Execute the tasks that are not cached, started in the order given; return every task's result, in order
        (``None`` for the tasks a ``cached_only`` runner did not compute).

        Raises:
            TaskError: after every other task finished, when some raised.
        """
        if not all(isinstance(t, Task) for t in tasks):
            raise TypeError("tasks: expected a list of Task")
        cache = _Cache(self.cache_dir or runs_dir(), topic, version) if self.cache else None
        results: list = [None] * len(tasks)
        todo = []
        for i, task in enumerate(tasks):
            hit, value = cache.get(task) if cache is not None and not self.fresh else (False, None)
            if hit:
                results[i] = value
            else:
                todo.append(i)
        desc = desc or f"{topic} tasks"
        if len(todo) < len(tasks):
            desc += f" ({len(tasks) - len(todo)} of {len(tasks)} cached)"
        failures: list[TaskFailure] = []
        self.missing = len(todo) if self.cached_only else 0
        if self.cached_only:
            return results

        def finished(i: int, value, seconds: float) -> None:
            results[i] = value
            if cache is not None:
                cache.put(tasks[i], value, seconds)

        if todo:
            if self.inline:
                self._run_here(tasks, todo, finished, failures, progress, desc)
            else:
                self._run_on_dask(topic, tasks, todo, finished, failures, progress, desc)
        if failures:
            raise TaskError(topic, failures, len(tasks))
        return results

    def _run_here(self, tasks, todo, finished, failures, progress, desc):
        it = progress(todo, total=len(todo), desc=desc) if progress else todo
        for i in it:
            t0 = time.perf_counter()
            try:
                value = execute(tasks[i].fn, tasks[i].params, self.threads)
            except Exception as e:  # noqa: BLE001 - reported with the task's parameters once the others ran
                failures.append(TaskFailure(tasks[i], f"{type(e).__name__}: {e}", traceback.format_exc()))
                continue
            finished(i, value, time.perf_counter() - t0)

    def _client(self):
        from distributed import Client, LocalCluster

        if self.scheduler:
            try:
                return Client(self.scheduler, timeout=f"{self.connect_timeout}s"), None
            except (OSError, TimeoutError) as e:
                raise ConnectionError(f"scheduler: no Dask scheduler answered at {self.scheduler!r} within "
                                      f"{self.connect_timeout:g} s "
                                      f"({type(e).__name__}); start one with `dask scheduler` and workers with "
                                      "`dask worker ADDRESS` from this environment") from None
        cluster = LocalCluster(n_workers=self.workers or default_workers(), threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=logging.ERROR)
        return Client(cluster), cluster

    def _run_on_dask(self, topic, tasks, todo, finished, failures, progress, desc):
        from distributed import as_completed

        client, cluster = self._client()
        try:
            print(f"{topic}: {len(todo)} tasks on {self.describe()}; Dask dashboard: {client.dashboard_link}",
                  file=sys.stderr)
            threads = self.threads or 1
            futures = {}
            for rank, i in enumerate(todo):
                key = f"{tasks[i].name}-{tasks[i].key(topic, 'submit')}"
                # in the order given (a grid lists first what its claim needs): without priorities Dask starts the
                # tasks of one kind (task group) together, whatever their place in the list
                futures[client.submit(_timed, tasks[i].fn, tasks[i].params, threads, key=key, pure=False,
                                      priority=len(todo) - rank)] = i
            done = as_completed(list(futures))
            for future in progress(done, total=len(futures), desc=desc) if progress else done:
                i = futures[future]
                if future.status == "error":
                    exc = future.exception()
                    tb = "".join(traceback.format_tb(future.traceback())) if future.traceback() else ""
                    failures.append(TaskFailure(tasks[i], f"{type(exc).__name__}: {exc}", tb))
                else:
                    value, seconds = future.result()
                    finished(i, value, seconds)
                future.release()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


def _timed(fn: str, params: dict, threads: int | None):
    t0 = time.perf_counter()
    value = execute(fn, params, threads)
    return value, time.perf_counter() - t0
