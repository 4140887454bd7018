"""Scale: ``python -m workbench.gnn_sampling.scale [--sizes 10000,100000,1000000] [--json PATH]``.

For each SBM graph size (degree 20, 32 features, 8 classes) and each sampler: the graph's build time and memory
(:attr:`Graph.nbytes`), the seconds per training step and per epoch (``N_train / B`` steps; the full batch: one
step) and the peak resident memory of the process that built the graph and trained on it. Each (size, sampler)
runs in a fresh process (multiprocessing ``spawn``), so its peak memory is its own. One core (``torch`` threads
1), batch 1,024, MVS refreshing its probabilities and histories every 20 steps from an exact pass over 10 % of the
training nodes and their neighbourhoods (counted in the steps it falls on: 20 steps, one refresh; the full batch: 3
steps).

Speed is a figure, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import resource
import time
from pathlib import Path

__all__ = ["measure", "scale_figures", "main"]

SIZES = (10_000, 100_000, 1_000_000)
#: GraphSAGE's fan-outs as in the paper's small-graph runs; MVS's checkpoint on 10 % of the training nodes (its
#: Reddit setting: an exact pass over every node of a million-node graph would dominate its time)
SAMPLER_OPTIONS = {"sage": {"fanouts": (5, 5)}, "mvs": {"checkpoint_ratio": 0.1}}


def measure(n: int, sampler: str, batch_size: int = 1024, steps: int | None = None) -> dict:
    """One (graph size, sampler) in this process: see the module."""
    import torch

    from workbench.gnn_sampling.model import GCN
    from workbench.gnn_sampling.samplers import make_sampler
    from workbench.gnn_sampling.sbm import sbm_graph
    from workbench.gnn_sampling.training import iter_train

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    graph = sbm_graph(n)
    built = time.perf_counter() - t0
    batch = len(graph.train_idx) if sampler == "full" else min(batch_size, len(graph.train_idx))
    steps = steps or (3 if sampler == "full" else 20)
    t0 = time.perf_counter()
    s = make_sampler(sampler, graph, batch, **SAMPLER_OPTIONS.get(sampler, {}))
    prepared = time.perf_counter() - t0
    model = GCN(graph.X.shape[1], graph.num_classes, hidden=64)
    last = None
    for last in iter_train(graph, s, steps, eval_every=steps, model=model):
        pass
    per_step = last["seconds"] / steps
    return {"nodes": n, "edges": graph.num_edges, "sampler": sampler, "batch_size": batch,
            "graph_seconds": built, "graph_mib": graph.nbytes / 2 ** 20, "sampler_seconds": prepared,
            "seconds_per_step": per_step, "seconds_per_epoch": per_step * len(graph.train_idx) / batch,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "val_f1": last["val_f1"]}


def _child(args, queue) -> None:
    try:
        queue.put(measure(*args))
    except Exception as exc:  # noqa: BLE001 - reported in the table, the other rows still run
        queue.put({"nodes": args[0], "sampler": args[1], "error": f"{type(exc).__name__}: {exc}"})


def scale_figures(sizes=SIZES, samplers=None, batch_size: int = 1024, steps: int | None = None,
                  timeout: float = 1800) -> list[dict]:
    """:func:`measure` for every size and sampler, each in a fresh process (``timeout`` seconds each)."""
    from workbench.gnn_sampling.samplers import SAMPLERS

    ctx = multiprocessing.get_context("spawn")
    rows = []
    for n in sizes:
        for sampler in samplers or list(SAMPLERS):
            queue = ctx.Queue()
            proc = ctx.Process(target=_child, args=((n, sampler, batch_size, steps), queue))
            proc.start()
            try:
                rows.append(queue.get(timeout=timeout))
            except Exception:  # noqa: BLE001 - a hang or a crash (e.g. out of memory): say so
                rows.append({"nodes": n, "sampler": sampler, "error": f"no result within {timeout:g} s "
                             f"(exit code {proc.exitcode})"})
            proc.join(timeout=60)
            if proc.is_alive():
                proc.kill()
    return rows


def _table(rows: list[dict]) -> str:
    head = f"{'nodes':>9}  {'sampler':8}  {'s/step':>8}  {'s/epoch':>9}  {'graph MiB':>9}  {'peak MiB':>9}"
    lines = [head, "-" * len(head)]
    for r in rows:
        if "error" in r:
            lines.append(f"{r['nodes']:>9}  {r['sampler']:8}  {r['error']}")
        else:
            lines.append(f"{r['nodes']:>9}  {r['sampler']:8}  {r['seconds_per_step']:8.3f}  "
                         f"{r['seconds_per_epoch']:9.2f}  {r['graph_mib']:9.1f}  {r['peak_mib']:9.0f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m workbench.gnn_sampling.scale", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma-separated node counts")
    p.add_argument("--samplers", default=None, help="comma-separated sampler names (default: all)")
    p.add_argument("--steps", type=int, default=None, help="training steps measured per row (default: 20; full: 3)")
    p.add_argument("--json", default="build/bench/gnn_sampling_scale.json", help="where to write the figures")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = scale_figures(sizes, args.samplers.split(",") if args.samplers else None, steps=args.steps)
    print("GNN sampling at scale (SBM graphs, degree 20; one core; batch 1,024)")
    print(_table(rows))
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": {"python": platform.python_version()}, "rows": rows}, indent=1))
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
