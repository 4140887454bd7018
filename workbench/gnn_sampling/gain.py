"""When importance sampling pays: the share of uniform sampling's stochastic variance that MVS's probabilities
keep, along a training run.

For per-node gradient norms ``ḡ`` ``(N,)`` and a batch of ``B``, the variance of the importance-weighted mean
gradient with independent draws of probability ``p_i`` is ``V(p) = Σ ḡ_i² (1/p_i − 1) / N²``
(:func:`~workbench.gnn_sampling.mvs.sampling_variance`). :func:`variance_ratio` is
``V(p_MVS) / V(B/N)``: at most 1 (the paper's Lemma 4.3: ``V(uniform) − V(MVS) ≥ 0``), equal to 1 when every norm is
the same, and small when a few nodes carry most of the gradient. It depends on how *unequal* the norms are, and
they are equal at initialisation: a model that fits no node yet has ``ḡ_i ≈`` the same for every ``i``.

:func:`gain_over_training` trains the grid's GCN with a sampler and, every ``eval_every`` steps, computes the ratio
for the current model from the exact norms of every training node, beside the validation F1. Its records say
how much variance MVS *could* remove at the step where a validation target is crossed, against the end of training.

``python -m workbench.gnn_sampling.gain [--graphs cora,citeseer] [--batch-sizes 16,64] [--seeds 5] [--steps N]
[--sampler mvs] [--on-the-fly] [--exact-step-every K] [--json PATH]``
prints, per graph and batch size, the mean ± standard error over seeds of the mini-batches to the graph's target
(:data:`~workbench.gnn_sampling.experiments.TARGETS`) and of the ratio at 10 % of the run, at that step, at half
and at the end.
"""

from __future__ import annotations

import argparse
import json
import numbers
import sys
from pathlib import Path

import torch

from workbench.checks import check_int
from workbench.gnn_sampling import experiments as ex
from workbench.gnn_sampling.graph import check_batch_size
from workbench.gnn_sampling.inspect import training_gradient_norms
from workbench.gnn_sampling.mvs import mvs_probabilities, sampling_variance, uniform_probabilities
from workbench.gnn_sampling.samplers import SAMPLERS
from workbench.gnn_sampling.training import iter_train

__all__ = ["variance_ratio", "gain_over_training", "summarise", "main"]


def variance_ratio(norms: torch.Tensor, batch_size: int) -> float:
    """``V(p_MVS) / V(p_uniform)`` in ``[0, 1]`` for gradient norms ``norms`` ``(N,)`` and batch size
    ``batch_size`` (``1 ≤ B ≤ N``); 1 where uniform sampling has no variance to remove (``B = N``, or every norm 0)."""
    p = mvs_probabilities(norms, batch_size)  # checks norms and batch_size, naming them
    g = norms.detach().to(torch.float64)
    uniform = sampling_variance(g, uniform_probabilities(len(g), batch_size))
    if uniform == 0:
        return 1.0
    return min(1.0, sampling_variance(g, p) / uniform)  # min: the lemma holds exactly, float64 round-off need not


def gain_over_training(graph: str, batch_size: int, seed: int = 0, steps: int | None = None, eval_every: int = 5,
                       sampler: str = "mvs", exact_step_every: int = 0, options: dict | None = None) -> dict:
    """Train on the grid's graph ``graph`` (:data:`~workbench.gnn_sampling.experiments.GRAPHS`) with ``sampler``
    as a grid task does (GCN 2 × 64, dropout 0.1, Adam lr 0.01, the sampler's grid options, ``steps``: the grid's
    for that graph) and, every ``eval_every`` steps, take the exact norms of every training node (dropout off);
    ``exact_step_every``: :func:`~workbench.gnn_sampling.training.iter_train`'s extra exact steps (0: none);
    ``options``: sampler options over the grid's (MVS with ``{"on_the_fly": True}`` and ``exact_step_every`` its
    refresh period, 10 on Cora and Citeseer: the authors' ``mvs_gcn_plus_otf``).

    Returns ``{"graph", "sampler", "batch_size", "seed", "exact_step_every", "options", "target_val_f1",
    "steps_to_target" (mini-batches, None if never), "records": [{"step", "val_f1", "train_loss", "ratio"}, ...]}``.
    """
    if graph not in ex.GRAPHS:
        raise ValueError(f"graph: expected one of {list(ex.GRAPHS)}, got {graph!r}")
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler: expected one of {list(SAMPLERS)}, got {sampler!r}")
    seed = check_int("seed", seed, 0)
    eval_every = check_int("eval_every", eval_every, 1)
    exact_step_every = check_int("exact_step_every", exact_step_every, 0)
    steps = ex.FULL.steps.get(graph, 400) if steps is None else check_int("steps", steps, 1)
    n = len(ex.load_graph(graph).train_idx)
    batch_size = check_batch_size(batch_size, n, f"training nodes of {graph}")
    # the ratio stays at batch_size, even for "full"
    g, _, s, model = ex.task_setup(graph, sampler, batch_size, seed, options)
    target = ex.TARGETS[graph]
    records = []
    for rec in iter_train(g, s, steps, lr=ex.LR, eval_every=eval_every, seed=seed, model=model,
                          exact_step_every=exact_step_every):
        ratio = variance_ratio(training_gradient_norms(model, g), batch_size)
        records.append({"step": rec["step"], "val_f1": rec["val_f1"], "train_loss": rec["train_loss"],
                        "ratio": ratio})
    return {"graph": graph, "sampler": sampler, "batch_size": batch_size, "seed": seed,
            "exact_step_every": exact_step_every, "options": options or {}, "target_val_f1": target,
            "steps_to_target": ex.steps_to_val_f1(records, target), "records": records}


def _ratio_at(records: list, step: numbers.Real | None) -> float | None:
    """The ratio at the last record at or before ``step``."""
    if step is None:
        return None
    before = [r for r in records if r["step"] <= step]
    return (before[-1] if before else records[0])["ratio"]


def summarise(runs: list[dict]) -> dict:
    """Means ± standard errors over the runs of one (graph, sampler, batch size): ``steps_to_target`` and the
    ratio at 10 % of the run (``ratio_early``), at each run's own target step (``ratio_at_target``; runs that
    never reach it are left out), at half (``ratio_half``) and at the end (``ratio_end``); each ``[mean, se]``."""
    if not runs:
        raise ValueError("runs: expected at least one run of gain_over_training, got none")
    last = runs[0]["records"][-1]["step"]
    out = {k: runs[0][k] for k in ("graph", "sampler", "batch_size", "target_val_f1")}
    out["exact_step_every"], out["options"] = runs[0].get("exact_step_every", 0), runs[0].get("options", {})
    out["seeds"] = [r["seed"] for r in runs]
    out["steps_to_target"] = list(ex.mean_se([r["steps_to_target"] for r in runs]))
    for key, at in (("ratio_early", lambda r: 0.1 * last), ("ratio_at_target", lambda r: r["steps_to_target"]),
                    ("ratio_half", lambda r: 0.5 * last), ("ratio_end", lambda r: last)):
        out[key] = list(ex.mean_se([_ratio_at(r["records"], at(r)) for r in runs]))
    return out


def _pm(pair: list, digits: int) -> str:
    return ex.plus_minus(*pair, f".{digits}f")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workbench.gnn_sampling.gain", description=__doc__.split("\n")[0])
    parser.add_argument("--graphs", default="cora,citeseer")
    parser.add_argument("--batch-sizes", default="16,64")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--sampler", default="mvs")
    parser.add_argument("--steps", type=int, default=None, help="mini-batches per run (default: the grid's)")
    parser.add_argument("--on-the-fly", action="store_true",
                        help="MVS refreshes the drawn nodes' norms every step (with --exact-step-every 10 on Cora and "
                             "Citeseer: the authors' mvs_gcn_plus_otf)")
    parser.add_argument("--exact-step-every", type=int, default=0,
                        help="an extra exact full-batch step every K mini-batches (MVS-GNN's Alg. 1; 0: none)")
    parser.add_argument("--json", type=Path, default=None, help="write every run's records here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    try:
        try:
            sizes = [int(b) for b in args.batch_sizes.split(",")]
        except ValueError:
            raise ValueError(f"--batch-sizes: expected integers separated by commas, got {args.batch_sizes!r}")
        if any(b < 1 for b in sizes):
            raise ValueError(f"--batch-sizes: expected positive integers, got {args.batch_sizes!r}")
        graphs = args.graphs.split(",")
        unknown = [g for g in graphs if g not in ex.GRAPHS]
        if unknown:
            raise ValueError(f"--graphs: expected names from {list(ex.GRAPHS)}, got {unknown[0]!r}")
        if args.seeds < 1:
            raise ValueError(f"--seeds: expected at least 1, got {args.seeds}")
        if args.exact_step_every < 0:
            raise ValueError(f"--exact-step-every: expected 0 (none) or a positive K, got {args.exact_step_every}")
        if args.sampler not in SAMPLERS:
            raise ValueError(f"--sampler: expected one of {list(SAMPLERS)}, got {args.sampler!r}")
        if args.on_the_fly and args.sampler != "mvs":
            raise ValueError(f"--on-the-fly: expected with --sampler mvs, got --sampler {args.sampler}")
        for graph in graphs:
            check_batch_size(max(sizes), len(ex.load_graph(graph).train_idx), f"training nodes of {graph}",
                             name="--batch-sizes")
        return _print_table(args, graphs, sizes)
    except ValueError as e:
        print(f"{parser.prog}: {e}", file=sys.stderr)
        return 2


def _print_table(args: argparse.Namespace, graphs: list[str], sizes: list[int]) -> int:
    rows, runs_out = [], []
    print("| graph | B | mini-batches to the target | V(MVS)/V(uniform) at 10 % | at the target | at half | "
          "at the end |")
    print("|---|---|---|---|---|---|---|")
    for graph in graphs:
        for b in sizes:
            runs = [gain_over_training(graph, b, seed=s, steps=args.steps, sampler=args.sampler,
                                       exact_step_every=args.exact_step_every,
                                       options={"on_the_fly": True} if args.on_the_fly else None)
                    for s in range(args.seeds)]
            runs_out += runs
            rows.append(summarise(runs))
            r = rows[-1]
            print(f"| {graph} | {b:,} | {_pm(r['steps_to_target'], 0)} | {_pm(r['ratio_early'], 2)} | "
                  f"{_pm(r['ratio_at_target'], 2)} | {_pm(r['ratio_half'], 2)} | {_pm(r['ratio_end'], 2)} |",
                  flush=True)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"summary": rows, "runs": runs_out}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
