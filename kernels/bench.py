"""Benchmark the kernels: ours vs the straightforward reference vs ``torch.clone`` (bandwidth bound).

``python -m kernels.bench [--json] [--sizes 1M,16M] [--repeat 5]`` prints, per op, dtype and size,
the median times and the ratios ours/reference and ours/clone, and which backend and device ran.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import torch

from kernels import _fused_cpu, mvue_prune, nm_prune
from kernels._backend import choose_backend
from kernels.reference import mvue_prune_sorted, nm_prune_topk

SIZES = {"64K": 1 << 16, "1M": 1 << 20, "16M": 1 << 24, "64M": 1 << 26}


def _median_time(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _backend_name(x: torch.Tensor) -> str:
    """The path our ops take for ``x``: ``triton``, ``torch+compile`` (fused CPU) or ``torch``."""
    if choose_backend(x, supported=True, what="benchmark") == "triton":
        return "triton"
    return "torch+compile" if _fused_cpu.fused_available(x) else "torch"


def run(sizes: list[str], repeat: int, device: str) -> list[dict]:
    results = []
    dtypes = [torch.float32] + ([torch.float16, torch.bfloat16] if device == "cuda" else [])
    for size in sizes:
        numel = SIZES[size]
        for dtype in dtypes:
            x = torch.randn(numel, device=device, dtype=dtype)
            gen = torch.Generator(device=device).manual_seed(0)
            clone_s = _median_time(lambda: x.clone(), repeat)
            ops = [
                ("nm_prune", 2, 4, lambda: nm_prune(x, 2, 4), lambda: nm_prune_topk(x, 2, 4)),
                ("mvue_prune", 2, 4, lambda: mvue_prune(x, 2, 4, generator=gen),
                 lambda: mvue_prune_sorted(x, 2, 4, generator=gen)),
                ("mvue_prune", 1, 2, lambda: mvue_prune(x, 1, 2, generator=gen),
                 lambda: mvue_prune_sorted(x, 1, 2, generator=gen)),
            ]
            for op, n, m, ours, ref in ops:
                ours_s = _median_time(ours, repeat)
                ref_s = _median_time(ref, repeat) if ref else None
                results.append({
                    "op": op, "n": n, "m": m, "dtype": str(dtype).replace("torch.", ""), "numel": numel,
                    "device": device, "backend": _backend_name(x), "ours_s": ours_s, "reference_s": ref_s,
                    "clone_s": clone_s,
                })
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kernels.bench", description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--sizes", default="1M,16M,64M", help=f"comma-separated among {list(SIZES)}")
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args(argv)
    sizes = [s for s in args.sizes.split(",") if s]
    bad = [s for s in sizes if s not in SIZES]
    if bad:
        p.error(f"--sizes: expected names among {list(SIZES)}, got {bad}")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    results = run(sizes, args.repeat, device)
    if args.json:
        print(json.dumps({"device": device, "torch": torch.__version__, "threads": torch.get_num_threads(),
                          "results": results}))
        return 0
    print(f"device={device} torch={torch.__version__} threads={torch.get_num_threads()}")
    print(f"{'op':12s} {'n:m':5s} {'backend':14s} {'dtype':9s} {'numel':>9s} {'ours ms':>9s} {'ref ms':>9s} {'clone ms':>9s} "
          f"{'ours/ref':>9s} {'ours/clone':>10s}")
    for r in results:
        ref = f"{1e3 * r['reference_s']:9.2f}" if r["reference_s"] else f"{'-':>9s}"
        ratio = f"{r['ours_s'] / r['reference_s']:9.2f}" if r["reference_s"] else f"{'-':>9s}"
        print(f"{r['op']:12s} {r['n']}:{r['m']:<3d} {r['backend']:14s} {r['dtype']:9s} {r['numel']:9d} {1e3 * r['ours_s']:9.2f} {ref} "
              f"{1e3 * r['clone_s']:9.2f} {ratio} {r['ours_s'] / r['clone_s']:10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
