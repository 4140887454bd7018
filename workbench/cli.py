"""``workbench serve | list | reproduce <slug> | bench | data | cache``."""

from __future__ import annotations

import argparse
import contextlib
import inspect
import sys

from workbench.topics import TOPICS

__all__ = ["main"]


def _cmd_list(_args) -> int:
    width = max(len(s) for s in TOPICS)
    for t in TOPICS.values():
        print(f"{t.slug.ljust(width)}  {t.title}  [{t.paper}]")
    return 0


def _cmd_reproduce(args) -> int:
    if args.slug not in TOPICS:
        print(f"workbench reproduce: unknown topic {args.slug!r}; valid slugs: {', '.join(TOPICS)}", file=sys.stderr)
        return 2
    from tqdm.auto import tqdm

    reproduce = TOPICS[args.slug].reproduce
    kwargs = {}
    if not args.quick and "runner" not in inspect.signature(reproduce).parameters:
        print(f"workbench reproduce: topic {args.slug!r} has no task grid for the runner", file=sys.stderr)
        return 2
    if args.only:
        if "only" not in inspect.signature(reproduce).parameters:
            print(f"workbench reproduce: topic {args.slug!r} has no --only option", file=sys.stderr)
            return 2
        kwargs["only"] = [name.strip() for name in args.only.split(",") if name.strip()]
    from workbench.runner import Runner, TaskError

    try:
        if args.quick and (args.workers is not None or args.scheduler or args.cached_only):
            raise ValueError("--quick runs in this process: drop --workers / --scheduler / --cached-only, or --quick")
        runner = None if args.quick else Runner(workers=args.workers, scheduler=args.scheduler, fresh=args.fresh,
                                                cached_only=args.cached_only)
    except ValueError as e:
        print(f"workbench reproduce: {e}", file=sys.stderr)
        return 2
    if runner is not None:
        kwargs["runner"] = runner
    # tqdm on stderr shows each task grid's progress with its ETA (the terminal's bar, or --json's log lines)
    def progress(it, **kw):
        return tqdm(it, file=sys.stderr, mininterval=1.0 if args.json else 0.1, **kw)
    # with --json, stdout carries the JSON object alone: anything else printed goes to stderr
    try:
        with contextlib.redirect_stdout(sys.stderr):
            report = reproduce(quick=args.quick, seed=args.seed, progress=progress, **kwargs)
    except ValueError as e:
        print(f"workbench reproduce: {e}", file=sys.stderr)
        return 2
    except (TaskError, ConnectionError) as e:
        print(f"workbench reproduce: {e}", file=sys.stderr)
        return 1
    print(report.to_json() if args.json else report)
    return 0


def _cmd_serve(args) -> int:
    from workbench.app import serve

    from workbench.app import check_serve_args

    origins = args.allow_websocket_origin or None
    try:  # before any work: a bad setting fails in milliseconds, not after the warm-up
        check_serve_args(args.port, args.address, origins, args.num_procs, args.unix_socket)
        if args.max_jobs is not None and args.max_jobs < 1:
            raise ValueError(f"max_jobs: expected an integer >= 1, got {args.max_jobs}")
    except ValueError as e:
        print(f"workbench serve: {e}", file=sys.stderr)
        return 2
    serve(port=args.port, address=args.address, show=args.show, prefix=args.prefix, websocket_origins=origins,
          num_procs=args.num_procs, unix_socket=args.unix_socket, max_jobs=args.max_jobs)
    return 0


def _cmd_bench(args) -> int:
    from kernels.bench import main as bench_main

    return bench_main(["--json"] if args.json else [])


def _cmd_data(_args) -> int:
    from workbench.data import DATASETS, DataNotFoundError, find

    for ds in DATASETS.values():
        if not ds.files:
            where = "ships with its Python package"
        else:
            try:
                where = str(find(ds.name, download=False))
            except DataNotFoundError:
                where = "MISSING (see `python -c \"from workbench.data import find; find('%s')\"`)" % ds.name
        print(f"{ds.name:10s} {where}\n           {ds.description}; {ds.provenance}")
    return 0


def _task_version(slug: str):
    """The topic's current ``TASK_VERSION`` (its full run's tasks), None if its experiments module has none."""
    import importlib

    return getattr(importlib.import_module(f"workbench.{slug}.experiments"), "TASK_VERSION", None)


def _cmd_cache(args) -> int:
    """``cache export SLUG [-o FILE] [--all-versions]``: one JSON object per line per finished task of the topic's
    current task version (every version with ``--all-versions``); ``cache import FILE``. A file
    whose name ends in ``.gz`` is written and read gzip-compressed (task records with curves compress about 4×)."""
    import json

    from workbench.runner import export_cache, import_cache, read_task_records, write_task_records

    if args.action == "export":
        if args.target not in TOPICS:
            print(f"workbench cache: unknown topic {args.target!r}; valid slugs: {', '.join(TOPICS)}", file=sys.stderr)
            return 2
        version = None if args.all_versions else _task_version(args.target)
        records = export_cache(args.target, version=version)
        if args.output:
            write_task_records(records, args.output)
        else:
            sys.stdout.writelines(json.dumps(r) + "\n" for r in records)
        return 0
    try:
        records = read_task_records(args.target)
        new = import_cache(records)
    except (OSError, ValueError) as e:
        print(f"workbench cache: {e}", file=sys.stderr)
        return 2
    print(f"{new} new of {len(records)} task records")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="workbench", description="Seed Workbench: explore, reproduce, teach.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve the dashboard")
    s.add_argument("--port", type=int, default=5006, help="0: any free port (the one printed)")
    s.add_argument("--address", default="localhost",
                   help="the interface to listen on (default localhost only; another needs --allow-websocket-origin)")
    s.add_argument("--prefix", default="", help="URL prefix (behind a proxy)")
    s.add_argument("--allow-websocket-origin", action="append",
                   help="host[:port] that browsers use to reach the server (repeatable; replaces the localhost "
                        "default)")
    s.add_argument("--num-procs", type=int, default=1,
                   help="server processes sharing the port (a workshop: one per core)")
    s.add_argument("--unix-socket", default=None, help="listen on this Unix socket instead of a port (behind a proxy)")
    s.add_argument("--max-jobs", type=int, default=None,
                   help="trainings and live runs at once, per process (default: $WORKBENCH_MAX_JOBS or one per core); "
                        "one more gets 'busy, try again in a moment'")
    s.add_argument("--show", action="store_true", help="open a browser")
    s.set_defaults(func=_cmd_serve)
    s = sub.add_parser("list", help="one line per topic")
    s.set_defaults(func=_cmd_list)
    s = sub.add_parser("reproduce", help="run a topic's experiments")
    s.add_argument("slug")
    s.add_argument("--quick", action="store_true", help="the fast version (under a minute on 2 cores)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    s.add_argument("--only", help="comma-separated parts, for topics that have them (structure_learning: data sets; "
                   "execution: learners)")
    s.add_argument("--workers", type=int, default=None,
                   help="processes of the local Dask cluster of a full run (default: one per core; 0: in this process)")
    s.add_argument("--scheduler", default=None,
                   help="run a full run's tasks on this Dask scheduler, tcp://HOST:PORT (default $WORKBENCH_SCHEDULER)")
    s.add_argument("--fresh", action="store_true", help="recompute every task instead of reading the cache")
    s.add_argument("--cached-only", action="store_true",
                   help="compute nothing: report the part of a full run that is cached (topics that can)")
    s.set_defaults(func=_cmd_reproduce)
    s = sub.add_parser("bench", help="kernel benchmarks")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_cmd_bench)
    s = sub.add_parser("data", help="where each data set is found")
    s.set_defaults(func=_cmd_data)
    s = sub.add_parser("cache", help="export or import the finished tasks of full runs")
    s.add_argument("action", choices=["export", "import"])
    s.add_argument("target", help="export: a topic's slug; import: a file that export wrote (.gz: gzip)")
    s.add_argument("-o", "--output", help="export: write here instead of stdout (a name ending in .gz: gzip)")
    s.add_argument("--all-versions", action="store_true",
                   help="export: also the tasks of the topic's older task versions (default: its current one)")
    s.set_defaults(func=_cmd_cache)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
