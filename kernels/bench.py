"""Benchmark the kernels: ours vs the straightforward reference vs ``torch.clone`` (bandwidth bound).

``python -m kernels.bench [--json] [--sizes 1M,16M] [--repeat 5] [--tables nm,factorized]`` prints, per op,
dtype and size, the median times and the ratios ours/reference and ours/clone, and which backend and device
ran (table ``nm``); and (table ``factorized``) ``factorized_linear`` against the dense ``x @ W.T`` with ``W``
materialised once, per layer: ms per batch and the bytes each stores. The factorized bytes are given twice:
``stored``, the ``nbytes`` of the tensors as held (int64 indices, int8 codes, float32 scales), and ``packed``,
what they would take packed (codes at ``bits``, indices at ``ceil(log2 k)`` bits, float32 scales). Biases
are left out of both sides. Table ``lif``: the LIF time loop ``lif`` against the naive loop ``lif_reference``
(float32, sigmoid surrogate), median times of the forward and of forward + backward (upstream gradients on both
outputs, gradients to the current, ``beta`` and ``threshold``; the four calls interleaved, so that both sides
see the same load on a shared machine) and the ratios reference/ours, per ``BxTxH`` shape (``--lif-shapes``).
Table ``image_gradients``: :func:`kernels.image_gradients` (both kinds, float32; on CUDA also float16) against
``image_gradients_reference`` (replicate ``F.pad`` + shifted slices) and against ``x.clone()`` of the same image,
per ``...xHxW`` shape (``--image-shapes``), the three calls interleaved; ratios ours/reference and ours/clone. The
op reads the image once and writes two planes per plane, so a bandwidth-bound op takes about 1.5 clones.
JSON: ``results`` (table ``nm``), ``factorized``, ``lif`` and ``image_gradients``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time

import torch

from kernels import _fused_cpu, factorized_linear, factorized_weight, image_gradients, lif, mvue_prune, nm_prune
from kernels._backend import choose_backend
from kernels.image_gradients import GRADIENT_KINDS
from kernels.reference import image_gradients_reference, lif_reference, mvue_prune_sorted, nm_prune_topk

SIZES = {"64K": 1 << 16, "1M": 1 << 20, "16M": 1 << 24, "64M": 1 << 26}
TABLES = ("nm", "factorized", "lif", "image_gradients")
# (n, d) of the factorized layers: a digits-MLP hidden layer and an MNIST CNN's first linear layer (64*7*7 -> 128)
FACTORIZED_LAYERS = {"256x256": (256, 256), "128x3136": (128, 3136)}
FACTORIZED = dict(k=64, s=8, bits=4, batch=256)
# (B, T, H) of the lif table: 256 flows x 100 steps x 100 neurons; on a GPU also a larger layer
LIF_SHAPES = {"cpu": "256x100x100", "cuda": "256x100x100,1024x200x512"}
# (..., H, W) of the image_gradients table: one RGB image and a batch of 16; on a GPU also a batch of 64 at 512
IMAGE_SHAPES = {"cpu": "3x512x512,16x3x256x256", "cuda": "3x512x512,16x3x256x256,64x3x512x512"}


def _median_time(fn, repeat: int) -> float:
    """Median time of ``fn`` over ``repeat`` calls after one warm-up call."""
    return _median_times_interleaved({"fn": fn}, repeat)["fn"]


def _median_times_interleaved(fns: dict, repeat: int) -> dict:
    """Median time of each of ``fns`` (name -> callable), calls interleaved (one of each per round), so that on a
    shared machine both sides of a ratio see the same load."""
    for fn in fns.values():
        fn()  # warm-up
    times = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            t = time.perf_counter()
            fn()
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(ts) for name, ts in times.items()}


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


def _lif_shapes(text: str) -> list[tuple[int, int, int]]:
    """``"256x100x100,8x5x3"`` -> ``[(256, 100, 100), (8, 5, 3)]``; ``ValueError`` on anything else."""
    shapes = []
    for item in text.split(","):
        dims = item.strip().lower().split("x")
        if len(dims) != 3 or not all(d.isdigit() and int(d) > 0 for d in dims):
            raise ValueError(f"--lif-shapes: expected BxTxH with positive integers, got {item!r}")
        shapes.append(tuple(int(d) for d in dims))
    return shapes


def run_lif(shapes: list[tuple[int, int, int]], repeat: int, device: str) -> list[dict]:
    """``lif`` vs ``lif_reference``, float32, sigmoid surrogate (slope 10): the forward alone (no autograd
    graph: nothing requires grad), and forward + backward with every input requiring grad."""
    results = []
    for b, t, h in shapes:
        g = torch.Generator().manual_seed(0)
        current = (1.6 * torch.randn(b, t, h, generator=g) + 0.8).to(device)  # about a third of the steps spike
        beta = (0.3 + 0.6 * torch.rand(h, generator=g)).to(device)
        threshold = (0.5 + torch.rand(h, generator=g)).to(device)
        grads = [torch.randn(b, t, h, generator=g).to(device) for _ in range(2)]
        leaves = [x.clone().requires_grad_() for x in (current, beta, threshold)]

        def forward_backward(fn):
            def call():
                torch.autograd.backward(list(fn(*leaves)), grads)
                for x in leaves:
                    x.grad = None
            return call

        times = _median_times_interleaved({
            "forward_s": lambda: lif(current, beta, threshold),
            "reference_forward_s": lambda: lif_reference(current, beta, threshold),
            "forward_backward_s": forward_backward(lif),
            "reference_forward_backward_s": forward_backward(lif_reference),
        }, repeat)
        results.append({
            "op": "lif", "B": b, "T": t, "H": h, "dtype": "float32", "surrogate": "sigmoid", "device": device,
            "backend": choose_backend(current, supported=True, what="lif"), **times,
            "forward_ratio": times["reference_forward_s"] / times["forward_s"],
            "forward_backward_ratio": times["reference_forward_backward_s"] / times["forward_backward_s"],
        })
    return results


def _image_shapes(text: str) -> list[tuple[int, ...]]:
    """``"3x512x512,64x64"`` -> ``[(3, 512, 512), (64, 64)]``; ``ValueError`` on anything else."""
    shapes = []
    for item in text.split(","):
        dims = item.strip().lower().split("x")
        if len(dims) < 2 or not all(d.isdigit() and int(d) > 0 for d in dims):
            raise ValueError(f"--image-shapes: expected ...xHxW (at least two positive integers), got {item!r}")
        shapes.append(tuple(int(d) for d in dims))
    return shapes


def run_image_gradients(shapes: list[tuple[int, ...]], repeat: int, device: str) -> list[dict]:
    """``image_gradients`` vs ``image_gradients_reference`` vs ``x.clone()``, per shape, kind and dtype (float32;
    on CUDA also float16), the three calls interleaved; nothing requires grad."""
    results = []
    dtypes = [torch.float32] + ([torch.float16] if device == "cuda" else [])
    for shape in shapes:
        for dtype in dtypes:
            x = torch.rand(shape, generator=torch.Generator().manual_seed(0)).to(device=device, dtype=dtype)
            backend = choose_backend(x, supported=dtype != torch.float64, what="image_gradients")
            for kind in GRADIENT_KINDS:
                times = _median_times_interleaved({
                    "ours_s": lambda: image_gradients(x, kind),
                    "reference_s": lambda: image_gradients_reference(x, kind),
                    "clone_s": lambda: x.clone(),
                }, repeat)
                results.append({
                    "op": "image_gradients", "kind": kind, "shape": list(shape), "numel": x.numel(),
                    "dtype": str(dtype).replace("torch.", ""), "device": device, "backend": backend, **times,
                    "ours_over_reference": times["ours_s"] / times["reference_s"],
                    "ours_over_clone": times["ours_s"] / times["clone_s"],
                })
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kernels.bench", description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--sizes", default="1M,16M,64M", help=f"comma-separated among {list(SIZES)}")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--tables", default=",".join(TABLES), help=f"comma-separated among {list(TABLES)}")
    p.add_argument("--lif-shapes", default=None,
                   help=f"comma-separated BxTxH of the lif table (default {LIF_SHAPES['cpu']}; on CUDA "
                        f"{LIF_SHAPES['cuda']})")
    p.add_argument("--image-shapes", default=None,
                   help=f"comma-separated ...xHxW of the image_gradients table (default {IMAGE_SHAPES['cpu']}; on "
                        f"CUDA {IMAGE_SHAPES['cuda']})")
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
    try:
        lif_shapes = _lif_shapes(args.lif_shapes or LIF_SHAPES[device])
        image_shapes = _image_shapes(args.image_shapes or IMAGE_SHAPES[device])
    except ValueError as e:
        p.error(str(e))
    results = run(sizes, args.repeat, device) if "nm" in tables else []
    factorized = run_factorized(args.repeat, device) if "factorized" in tables else []
    lif_rows = run_lif(lif_shapes, args.repeat, device) if "lif" in tables else []
    image_rows = run_image_gradients(image_shapes, args.repeat, device) if "image_gradients" in tables else []
    if args.json:
        print(json.dumps({"device": device, "torch": torch.__version__, "threads": torch.get_num_threads(),
                          "results": results, "factorized": factorized, "lif": lif_rows,
                          "image_gradients": image_rows}))
        return 0
    print(f"device={device} torch={torch.__version__} threads={torch.get_num_threads()}")
    if results:
        _print_nm(results)
    if factorized:
        _print_factorized(factorized)
    if lif_rows:
        _print_lif(lif_rows)
    if image_rows:
        _print_image_gradients(image_rows)
    return 0


def _print_nm(results: list[dict]) -> None:
    print(f"{'op':12s} {'n:m':5s} {'backend':14s} {'dtype':9s} {'numel':>9s} {'ours ms':>9s} {'ref ms':>9s} "
          f"{'clone ms':>9s} {'ours/ref':>9s} {'ours/clone':>10s}")
    for r in results:
        ref = f"{1e3 * r['reference_s']:9.2f}" if r["reference_s"] else f"{'-':>9s}"
        ratio = f"{r['ours_s'] / r['reference_s']:9.2f}" if r["reference_s"] else f"{'-':>9s}"
        print(f"{r['op']:12s} {r['n']}:{r['m']:<3d} {r['backend']:14s} {r['dtype']:9s} {r['numel']:9d} "
              f"{1e3 * r['ours_s']:9.2f} {ref} {1e3 * r['clone_s']:9.2f} {ratio} {r['ours_s'] / r['clone_s']:10.2f}")


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


def _print_lif(results: list[dict]) -> None:
    print("\nlif (leaky integrate-and-fire over T steps, float32, sigmoid surrogate) vs lif_reference (Python loop "
          "+ autograd); fwd+bwd: gradients to current, beta, threshold; ratio = reference / ours")
    print(f"{'B x T x H':16s} {'backend':8s} {'fwd ms':>9s} {'ref fwd':>9s} {'ratio':>7s} {'fwd+bwd':>9s} "
          f"{'ref f+b':>9s} {'ratio':>7s}")
    for r in results:
        shape = f"{r['B']}x{r['T']}x{r['H']}"
        print(f"{shape:16s} {r['backend']:8s} {1e3 * r['forward_s']:9.2f} "
              f"{1e3 * r['reference_forward_s']:9.2f} {r['forward_ratio']:7.2f} {1e3 * r['forward_backward_s']:9.2f} "
              f"{1e3 * r['reference_forward_backward_s']:9.2f} {r['forward_backward_ratio']:7.2f}")



def _print_image_gradients(results: list[dict]) -> None:
    print("\nimage_gradients ((..., H, W) -> (..., 2, H, W), replicate border) vs image_gradients_reference (F.pad + "
          "slices) and x.clone(); a bandwidth-bound op takes about 1.5 clones")
    print(f"{'shape':16s} {'kind':8s} {'backend':8s} {'dtype':8s} {'ours ms':>9s} {'ref ms':>9s} {'clone ms':>9s} "
          f"{'ours/ref':>9s} {'ours/clone':>10s}")
    for r in results:
        shape = "x".join(str(d) for d in r["shape"])
        print(f"{shape:16s} {r['kind']:8s} {r['backend']:8s} {r['dtype']:8s} {1e3 * r['ours_s']:9.2f} "
              f"{1e3 * r['reference_s']:9.2f} {1e3 * r['clone_s']:9.2f} {r['ours_over_reference']:9.2f} "
              f"{r['ours_over_clone']:10.2f}")


if __name__ == "__main__":
    sys.exit(main())
