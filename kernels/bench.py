"""Benchmark the kernels: ours vs the straightforward reference vs ``torch.clone`` (bandwidth bound).

``python -m kernels.bench [--json] [--sizes 1M,16M] [--repeat 5] [--tables nm,factorized]`` prints, per op,
dtype and size, the median times and the ratios ours/reference and ours/clone, and which backend and device
ran (table ``nm``); and (table ``factorized``) ``factorized_linear`` against the dense ``x @ W.T`` with ``W``
materialised once, per layer: ms per batch and the bytes each stores. The factorized bytes are given twice:
``stored``, the ``nbytes`` of the tensors as held (int64 indices, int8 codes, float32 scales), and ``packed``,
what they would take packed (codes at ``bits``, indices at ``ceil(log2 k)`` bits, float32 scales). Biases
are left out of both sides. JSON: ``results`` (table ``nm``) and ``factorized``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time

import torch

from kernels import _fused_cpu, factorized_linear, factorized_weight, mvue_prune, nm_prune
from kernels._backend import choose_backend
from kernels.reference import mvue_prune_sorted, nm_prune_topk

SIZES = {"64K": 1 << 16, "1M": 1 << 20, "16M": 1 << 24, "64M": 1 << 26}
TABLES = ("nm", "factorized")
# (n, d) of the factorized layers: a digits-MLP hidden layer and an MNIST CNN's first linear layer (64*7*7 -> 128)
FACTORIZED_LAYERS = {"256x256": (256, 256), "128x3136": (128, 3136)}
FACTORIZED = dict(k=64, s=8, bits=4, batch=256)


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


def _factors(n: int, d: int, k: int, s: int, bits: int, device: str) -> dict:
    """Random factors of an ``n x d`` layer: ``s`` distinct columns of ``k`` per row, ``bits``-bit codes."""
    g = torch.Generator().manual_seed(0)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    f = dict(z_index=torch.argsort(torch.rand(n, k, generator=g), dim=1)[:, :s],
             z_code=torch.randint(lo, hi + 1, (n, s), generator=g, dtype=torch.int8),
             z_scale=torch.rand(n, generator=g) / s,  # one per row of Z (output channel)
             c_code=torch.randint(lo, hi + 1, (k, d), generator=g, dtype=torch.int8),
             c_scale=torch.rand(k, generator=g) / (d ** 0.5 * hi))
    return {name: t.to(device) for name, t in f.items()}


def run_factorized(repeat: int, device: str) -> list[dict]:
    """``factorized_linear`` vs the dense ``x @ W.T`` (``W = factorized_weight(...)``, float32, built once)."""
    k, s, bits, batch = FACTORIZED["k"], FACTORIZED["s"], FACTORIZED["bits"], FACTORIZED["batch"]
    results = []
    for layer, (n, d) in FACTORIZED_LAYERS.items():
        f = _factors(n, d, k, s, bits, device)
        w = factorized_weight(**f)
        x = torch.randn(batch, d, generator=torch.Generator().manual_seed(1)).to(device)
        dense_s = _median_time(lambda: x @ w.T, repeat)
        ours_s = _median_time(lambda: factorized_linear(x, **f), repeat)
        packed = (math.ceil(n * s * bits / 8) + math.ceil(n * s * math.ceil(math.log2(k)) / 8)
                  + math.ceil(k * d * bits / 8) + (n + k) * 4)  # float32 scales: n of Z, k of C
        results.append({
            "op": "factorized_linear", "layer": layer, "n": n, "d": d, "k": k, "s": s, "bits": bits,
            "batch": batch, "dtype": "float32", "device": device,
            "backend": choose_backend(x, supported=True, what="benchmark"), "ours_s": ours_s, "dense_s": dense_s,
            "dense_bytes": w.nbytes, "stored_bytes": sum(t.nbytes for t in f.values()), "packed_bytes": packed,
        })
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kernels.bench", description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--sizes", default="1M,16M,64M", help=f"comma-separated among {list(SIZES)}")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--tables", default=",".join(TABLES), help=f"comma-separated among {list(TABLES)}")
    args = p.parse_args(argv)
    sizes = [s for s in args.sizes.split(",") if s]
    bad = [s for s in sizes if s not in SIZES]
    if bad:
        p.error(f"--sizes: expected names among {list(SIZES)}, got {bad}")
    tables = [t for t in args.tables.split(",") if t]
    bad = [t for t in tables if t not in TABLES]
    if bad:
        p.error(f"--tables: expected names among {list(TABLES)}, got {bad}")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    results = run(sizes, args.repeat, device) if "nm" in tables else []
    factorized = run_factorized(args.repeat, device) if "factorized" in tables else []
    if args.json:
        print(json.dumps({"device": device, "torch": torch.__version__, "threads": torch.get_num_threads(),
                          "results": results, "factorized": factorized}))
        return 0
    print(f"device={device} torch={torch.__version__} threads={torch.get_num_threads()}")
    if results:
        _print_nm(results)
    if factorized:
        _print_factorized(factorized)
    return 0


def _print_nm(results: list[dict]) -> None:
    print(f"{'op':12s} {'n:m':5s} {'backend':14s} {'dtype':9s} {'numel':>9s} {'ours ms':>9s} {'ref ms':>9s} {'clone ms':>9s} "
          f"{'ours/ref':>9s} {'ours/clone':>10s}")
    for r in results:
        ref = f"{1e3 * r['reference_s']:9.2f}" if r["reference_s"] else f"{'-':>9s}"
        ratio = f"{r['ours_s'] / r['reference_s']:9.2f}" if r["reference_s"] else f"{'-':>9s}"
        print(f"{r['op']:12s} {r['n']}:{r['m']:<3d} {r['backend']:14s} {r['dtype']:9s} {r['numel']:9d} {1e3 * r['ours_s']:9.2f} {ref} "
              f"{1e3 * r['clone_s']:9.2f} {ratio} {r['ours_s'] / r['clone_s']:10.2f}")


def _print_factorized(results: list[dict]) -> None:
    r0 = results[0]
    print(f"\nfactorized_linear, W = Z C: k={r0['k']} s={r0['s']} bits={r0['bits']} batch={r0['batch']} float32; "
          "dense = x @ W.T with W materialised; stored = tensors' nbytes, packed = codes at bits + indices at "
          "ceil(log2 k) bits + float32 scales")
    print(f"{'layer':10s} {'backend':8s} {'ours ms':>9s} {'dense ms':>9s} {'ours/dense':>10s} {'dense B':>9s} "
          f"{'stored B':>9s} {'packed B':>9s} {'dense/packed':>12s}")
    for r in results:
        print(f"{r['layer']:10s} {r['backend']:8s} {1e3 * r['ours_s']:9.3f} {1e3 * r['dense_s']:9.3f} "
              f"{r['ours_s'] / r['dense_s']:10.2f} {r['dense_bytes']:9d} {r['stored_bytes']:9d} "
              f"{r['packed_bytes']:9d} {r['dense_bytes'] / r['packed_bytes']:12.1f}")


if __name__ == "__main__":
    sys.exit(main())
