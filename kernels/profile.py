"""Where the time of an N:M op goes: passes over memory, host syncs, random numbers, per op and path.

``python -m kernels.profile [--size 16M] [--device cpu|cuda] [--repeat 5]`` runs ``nm_prune`` 2:4 / 1:2 and
``mvue_prune`` 2:4 / 1:2 under ``torch.profiler`` on each path this machine has (``generic``: the vectorised
PyTorch ops; ``fused``: the one-pass Numba kernels, CPU float32/float64; ``triton``: CUDA) and prints, per call:

* ``passes``: top-level PyTorch operators that run on a tensor of at least an eighth of ``x``'s size (``x`` or a
  per-block tensor: each reads and/or writes that much memory), with their names; our own kernels (Numba,
  Triton) are listed apart as ``kernels``;
* ``syncs``: host syncs (``aten::item``: a device-to-host read of a scalar; drawing the key is one);
* ``rng``: those of the passes that make the uniforms (inside ``kernels._random.counter_uniforms``: the generic
  path materialises a hash of a counter tensor; the kernels hash the counter in registers);
* the median wall time of ``repeat`` calls and of ``x.clone()`` (the bandwidth bound), timed interleaved.

JSON (``--json FILE``): one row per (op, path) with those fields.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from contextlib import contextmanager

import torch

from kernels import _numba, _triton, mvue_prune, nm_prune
from kernels._random import RNG_LABEL
from kernels.bench import SIZES, _median_times_interleaved

# operators that only allocate, view or reshape: not a pass over memory
METADATA_OPS = frozenset({
    "aten::empty", "aten::empty_like", "aten::empty_strided", "aten::view", "aten::reshape", "aten::_reshape_alias",
    "aten::as_strided", "aten::movedim", "aten::permute", "aten::alias", "aten::contiguous", "aten::detach",
    "aten::lift_fresh", "aten::unsqueeze", "aten::resolve_conj", "aten::resolve_neg", "aten::_unsafe_view",
    "aten::expand", "aten::t", "aten::to", "aten::zeros", "aten::zero_", "aten::fill_", "aten::slice", "aten::select",
})
SYNC_OPS = frozenset({"aten::_local_scalar_dense"})  # under aten::item: one device-to-host read
OPS = (("nm_prune", 2, 4), ("nm_prune", 1, 2), ("mvue_prune", 2, 4), ("mvue_prune", 1, 2))


@contextmanager
def _env(**values):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def paths(device: str) -> dict[str, dict]:
    """The paths this machine can run on ``device``, as environment settings that select them."""
    if device == "cuda":
        return {"generic": dict(WORKBENCH_KERNELS="torch"), "triton": dict(WORKBENCH_KERNELS="triton")}
    found = {"generic": dict(WORKBENCH_KERNELS="torch", WORKBENCH_FUSED="0")}
    if _numba.numba_ok():
        found["fused"] = dict(WORKBENCH_KERNELS="torch", WORKBENCH_FUSED="1")
    return found


def _call(op: str, n: int, m: int, x: torch.Tensor, gen: torch.Generator):
    return nm_prune(x, n, m) if op == "nm_prune" else mvue_prune(x, n, m, generator=gen)


def profile_call(fn, x: torch.Tensor) -> dict:
    """Run ``fn()`` once under the profiler -> ``passes`` (full-size PyTorch operators, in call order),
    ``kernels`` (device kernels launched, CUDA), ``syncs`` and ``rng`` counts."""
    activities = [torch.profiler.ProfilerActivity.CPU]
    if x.device.type == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=activities, record_shapes=True) as prof:
        fn()
        if x.device.type == "cuda":
            torch.cuda.synchronize()
    big = x.numel() // 8  # x, or a per-block tensor of 2:4 (a quarter of x's entries)
    passes, syncs, rng, kernels = [], 0, 0, []
    for e in prof.events():
        if e.device_type == torch.autograd.DeviceType.CUDA:
            kernels.append(e.name)
            continue
        syncs += e.name in SYNC_OPS
        if not e.name.startswith("aten::") or e.name in METADATA_OPS or _inside_aten_op(e):
            continue  # an operator inside another (isfinite's abs, ne, ...) is part of that one's pass
        if any(math.prod(shape) >= big for shape in e.input_shapes if shape) or _is_full_size_arange(e, big):
            passes.append(e.name)
            rng += _inside(e, RNG_LABEL)
    return dict(passes=passes, kernels=kernels, syncs=syncs, rng=rng)


def _inside_aten_op(event) -> bool:
    return _inside(event, "aten::")


def _inside(event, prefix: str) -> bool:
    """Whether an enclosing event's name starts with ``prefix``."""
    parent = event.cpu_parent
    while parent is not None:
        if parent.name.startswith(prefix):
            return True
        parent = parent.cpu_parent
    return False


def _is_full_size_arange(event, big: int) -> bool:
    """``arange`` takes its size, not a tensor: count one that makes a full-size tensor (the generic path's
    counters for its uniforms)."""
    return event.name == "aten::arange" and any(
        isinstance(a, int) and a >= big for a in (getattr(event, "concrete_inputs", None) or []))


def run(size: str = "16M", device: str = "cpu", repeat: int = 5, dtype: torch.dtype = torch.float32) -> list[dict]:
    """One row per (op, path): see the module docstring."""
    x = torch.randn(SIZES[size], device=device, dtype=dtype)
    gen = torch.Generator(device=device).manual_seed(0)
    rows = []
    for op, n, m in OPS:
        for path, env in paths(device).items():
            with _env(**env):
                fn = lambda op=op, n=n, m=m: _call(op, n, m, x, gen)  # noqa: E731
                seconds = _median_times_interleaved({"ours": fn, "clone": x.clone}, repeat)
                times = {k: v * 1e3 for k, v in seconds.items()}
                prof = profile_call(fn, x)
            kernels = prof["kernels"] or (["numba " + op + f" {n}:{m}"] if path == "fused" else [])
            rows.append(dict(op=op, n=n, m=m, path=path, device=device, dtype=str(dtype).replace("torch.", ""),
                             numel=x.numel(), ms=times["ours"], clone_ms=times["clone"],
                             ours_over_clone=times["ours"] / times["clone"], passes=prof["passes"],
                             kernels=kernels, syncs=prof["syncs"], rng=prof["rng"]))
    return rows


def format_rows(rows: list[dict]) -> str:
    lines = [f"{'op':<12}{'n:m':<5}{'path':<9}{'ms':>8}{'/clone':>8}{'passes':>8}{'syncs':>6}{'rng':>5}  what runs"]
    for r in rows:
        what = ", ".join(r["passes"]) or "-"
        if r["kernels"]:
            what += " | kernels: " + ", ".join(sorted(set(r["kernels"])))
        lines.append(f"{r['op']:<12}{r['n']}:{r['m']:<3}{r['path']:<9}{r['ms']:8.2f}{r['ours_over_clone']:8.2f}"
                     f"{len(r['passes']):8d}{r['syncs']:6d}{r['rng']:5d}  {what}")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="16M", choices=list(SIZES))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", choices=["cpu", "cuda"])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not (torch.cuda.is_available() and _triton.available()):
        parser.error("--device cuda: needs a CUDA GPU and triton")
    rows = run(args.size, args.device, args.repeat)
    print(f"device={args.device} torch={torch.__version__} threads={torch.get_num_threads()} numel={SIZES[args.size]}")
    print(format_rows(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
