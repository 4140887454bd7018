"""Benchmark the kernels: ours vs the straightforward reference vs ``torch.clone`` (bandwidth bound).

``python -m kernels.bench [--json [PATH]] [--sizes 1M,16M] [--repeat 5] [--tables nm,factorized]`` prints, per op,
dtype and size, the median times of ours, the reference and ``x.clone()`` (the three calls interleaved, so that
each ratio is measured under one load), the ratios ours/reference and ours/clone, and which backend (``triton``,
``numba``: the fused CPU kernels, or ``torch``) and device ran (table ``nm``); and (table ``factorized``)
``factorized_linear`` against the dense ``x @ W.T`` with ``W`` materialised once, per layer: ms per batch and the
bytes each stores. The factorized bytes are given twice:
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
Table ``nm_linear``: :func:`kernels.nm_linear` with ``w = to_semi_structured(w_dense)`` (2:4 along ``in``; on an
NVIDIA GPU of capability >= 8.0 PyTorch's semi-structured tensor, cuSPARSELt or CUTLASS, in float16 and bfloat16;
on CPU the dense fallback in float32, where the speed-up should be ~1) against the dense ``F.linear(x, w_pruned)``,
per ``OUTxIN:BATCH`` (``--nm-linear-shapes``; by default the topics' MLP/CNN layers at batch 256 and a 4096x4096
layer at batch 4096/8192/16384; on CPU shapes over 1e9 multiply-adds are skipped, with a ``skipped`` row), the
forward and forward + backward (gradient to ``x`` only: the compressed weight is a constant, and its backward is
dense, see :mod:`kernels.semi_structured`), four calls interleaved; speed-ups dense/sparse; ``path``; and the
sparse output checked against the dense one (``max_abs_err``, ``matches``; a mismatch or a failing sparse kernel
makes the command exit 1, after printing everything).
JSON (``--json``: printed instead of the tables; ``--json PATH``: written to PATH, tables printed): ``results``
(table ``nm``, with ``ours_over_reference`` and ``ours_over_clone``), ``factorized``, ``lif``, ``image_gradients``
and ``nm_linear``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time

import torch

import torch.nn.functional as F

from kernels import (
    _fused_cpu, _lif_cpu, factorized_linear, factorized_weight, image_gradients, lif, mvue_prune, nm_linear, nm_prune,
    to_semi_structured,
)
from kernels._backend import choose_backend
from kernels.image_gradients import GRADIENT_KINDS
from kernels.reference import image_gradients_reference, lif_reference, mvue_prune_sorted, nm_prune_topk
from kernels.semi_structured import semi_structured_backend

SIZES = {"64K": 1 << 16, "1M": 1 << 20, "16M": 1 << 24, "64M": 1 << 26}
TABLES = ("nm", "factorized", "lif", "image_gradients", "nm_linear")
# (n, d) of the factorized layers: a digits-MLP hidden layer and an MNIST CNN's first linear layer (64*7*7 -> 128)
FACTORIZED_LAYERS = {"256x256": (256, 256), "128x3136": (128, 3136)}
FACTORIZED = dict(k=64, s=8, bits=4, batch=256)
# (B, T, H) of the lif table: 256 flows x 100 steps x 100 neurons; on a GPU also a larger layer
LIF_SHAPES = {"cpu": "256x100x100", "cuda": "256x100x100,1024x200x512"}
# (..., H, W) of the image_gradients table: one RGB image and a batch of 16; on a GPU also a batch of 64 at 512
IMAGE_SHAPES = {"cpu": "3x512x512,16x3x256x256", "cuda": "3x512x512,16x3x256x256,64x3x512x512"}
# OUTxIN:BATCH of the nm_linear table: the digits MLP's 64->256 and 256->256 layers and the MNIST CNN's 3136->128
# (the layers the N:M sparsity and pruning topics train, batch 256), then a 4096x4096 layer at three batches
NM_LINEAR_SHAPES = "256x64:256,256x256:256,128x3136:256,4096x4096:4096,4096x4096:8192,4096x4096:16384"
NM_LINEAR_CPU_MAX_MACS = 10 ** 9  # on CPU, shapes of more multiply-adds per call are skipped (minutes each)
NM_LINEAR_PATHS = {"cusparselt": "semi-structured (cuSPARSELt)", "cutlass": "semi-structured (CUTLASS)",
                   None: "dense fallback"}
NM_LINEAR_BACKWARD = ("gradient to x only, on both sides: the 2:4 weight is a constant (torch's "
                      "SparseSemiStructuredTensor has no weight gradient or update); the sparse side's backward is "
                      "the dense grad @ W_pruned (nm_linear's autograd function; torch's own raises "
                      "NotImplementedError, W being 2:4 along in, not along out)")


def _median_time(fn, repeat: int) -> float:
    """Median time of ``fn`` over ``repeat`` calls after one warm-up call."""
    return _median_times_interleaved({"fn": fn}, repeat)["fn"]


def _median_times_interleaved(fns: dict, repeat: int) -> dict:
    """Median time of each of ``fns`` (name -> callable), calls interleaved (one of each per round), so that on a
    shared machine both sides of a ratio see the same load; each round starts one further along the list, so that
    no call always runs first, or always after the same other one (cache state)."""
    for fn in fns.values():
        fn()  # warm-up
    times = {name: [] for name in fns}
    items = list(fns.items())
    for r in range(repeat):
        for name, fn in items[r % len(items):] + items[:r % len(items)]:
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            t = time.perf_counter()
            fn()
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(ts) for name, ts in times.items()}


def _backend_name(x: torch.Tensor, n: int, m: int, method: str) -> str:
    """The path our op ``method`` (``"mse"``: ``nm_prune``; ``"exact"`` / ``"approx"``: ``mvue_prune``) takes at
    ``n:m`` on ``x``: ``triton``, ``numba`` (the fused CPU kernels of :mod:`kernels._fused_cpu`) or ``torch``."""
    if choose_backend(x, supported=True, what="benchmark") == "triton":
        return "triton"
    return "numba" if _fused_cpu.fused_available(x, n, m, method) else "torch"


def run(sizes: list[str], repeat: int, device: str) -> list[dict]:
    results = []
    dtypes = [torch.float32] + ([torch.float16, torch.bfloat16] if device == "cuda" else [])
    for size in sizes:
        numel = SIZES[size]
        for dtype in dtypes:
            x = torch.randn(numel, device=device, dtype=dtype)
            gen = torch.Generator(device=device).manual_seed(0)
            ops = [
                ("nm_prune", 2, 4, "mse", lambda: nm_prune(x, 2, 4), lambda: nm_prune_topk(x, 2, 4)),
                ("mvue_prune", 2, 4, "exact", lambda: mvue_prune(x, 2, 4, generator=gen),
                 lambda: mvue_prune_sorted(x, 2, 4, generator=gen)),
                ("mvue_prune", 1, 2, "exact", lambda: mvue_prune(x, 1, 2, generator=gen),
                 lambda: mvue_prune_sorted(x, 1, 2, generator=gen)),
            ]
            for op, n, m, method, ours, ref in ops:
                # interleaved: ours, the reference and the clone see the same load, so their ratios mean something
                times = _median_times_interleaved(
                    {"ours_s": ours, **({"reference_s": ref} if ref else {}), "clone_s": lambda: x.clone()}, repeat)
                ref_s = times.get("reference_s")
                results.append({
                    "op": op, "n": n, "m": m, "method": method, "dtype": str(dtype).replace("torch.", ""),
                    "numel": numel, "device": device, "backend": _backend_name(x, n, m, method),
                    "ours_s": times["ours_s"], "reference_s": ref_s, "clone_s": times["clone_s"],
                    "ours_over_reference": times["ours_s"] / ref_s if ref_s else None,
                    "ours_over_clone": times["ours_s"] / times["clone_s"],
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


def _lif_backend(current: torch.Tensor) -> str:
    """The path of ``lif`` on ``current``: ``triton``, ``numba`` (CPU forward; the backward is PyTorch's) or
    ``torch``."""
    if choose_backend(current, supported=True, what="lif") == "triton":
        return "triton"
    return "numba" if _lif_cpu.available(current) else "torch"


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
            "backend": _lif_backend(current), **times,
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


def _nm_linear_shapes(text: str) -> list[tuple[int, int, int]]:
    """``"256x64:256,8x16:4"`` (``OUTxIN:BATCH``) -> ``[(256, 64, 256), (8, 16, 4)]``; ``ValueError`` otherwise
    (``IN`` must be a multiple of 4)."""
    shapes = []
    for item in text.split(","):
        layer, _, batch = item.strip().lower().partition(":")
        dims = layer.split("x") + [batch]
        if len(dims) != 3 or not all(d.isdigit() and int(d) > 0 for d in dims) or int(dims[1]) % 4:
            raise ValueError(f"--nm-linear-shapes: expected OUTxIN:BATCH with positive integers, IN a multiple of 4 "
                             f"(2:4 blocks), got {item!r}")
        shapes.append(tuple(int(d) for d in dims))
    return shapes


def _nm_linear_error(got: torch.Tensor, want: torch.Tensor, x: torch.Tensor, w: torch.Tensor) -> tuple[float, float]:
    """``(max |got - want|, max of |got - want| / tol)`` with the elementwise tolerance
    ``tol = eps (2 |want| + 4 sqrt(k) s)``: ``eps`` the dtype's epsilon, ``k`` the most kept weights of a row,
    ``s = sqrt(x^2 @ (w^2).T)`` the size of a dot product's terms. Two roundings of the result, plus a
    random-walk allowance for sums accumulated at reduced precision; a wrong or missing operand is off by ~``s``."""
    eps = torch.finfo(w.dtype).eps
    k = int(w.ne(0).sum(1).max())
    s = (x.float().square() @ w.float().square().T).sqrt()
    err = (got.float() - want.float()).abs()
    tol = eps * (2 * want.float().abs() + 4 * math.sqrt(max(k, 1)) * s) + torch.finfo(torch.float32).tiny
    return float(err.max()) if err.numel() else 0.0, float((err / tol).max()) if err.numel() else 0.0


def run_nm_linear(shapes: list[tuple[int, int, int]], repeat: int, device: str, *,
                  dtypes: list[torch.dtype] | None = None, max_macs: int | None = None) -> list[dict]:
    """``nm_linear(x, to_semi_structured(w, keep_dense=True))`` vs the dense ``F.linear(x, w_pruned)``, per
    ``(out, in, batch)`` and dtype (float16 and bfloat16 on CUDA, float32 on CPU), no bias: the forward and
    forward + backward (gradient to ``x`` only, see ``NM_LINEAR_BACKWARD``), the four calls interleaved. Each row
    also checks the sparse output against the dense one (``max_abs_err``, ``max_err_over_tolerance`` <= 1, see
    :func:`_nm_linear_error`). On CPU (where the sparse path is the dense fallback) shapes of more than
    ``max_macs`` (default ``NM_LINEAR_CPU_MAX_MACS``) multiply-adds per call give a row with ``skipped`` only."""
    if dtypes is None:
        dtypes = [torch.float16, torch.bfloat16] if device == "cuda" else [torch.float32]
    if max_macs is None and device == "cpu":
        max_macs = NM_LINEAR_CPU_MAX_MACS
    results = []
    for out, inp, batch in shapes:
        base = {"op": "nm_linear", "out": out, "in": inp, "batch": batch, "macs": out * inp * batch, "device": device}
        if max_macs is not None and out * inp * batch > max_macs:
            results.append({**base, "skipped": f"{out * inp * batch:.2g} multiply-adds per call, over "
                                               f"{max_macs:.2g} on {device}"})
            continue
        for dtype in dtypes:
            g = torch.Generator().manual_seed(out * 7919 + inp * 31 + batch)
            x = torch.randn(batch, inp, generator=g).to(device=device, dtype=dtype)
            w = torch.randn(out, inp, generator=g).to(device=device, dtype=dtype) / math.sqrt(inp / 2)
            up = torch.randn(batch, out, generator=g).to(device=device, dtype=dtype)
            row = {**base, "dtype": str(dtype).replace("torch.", ""), "backward": NM_LINEAR_BACKWARD}
            try:
                ws = to_semi_structured(w, keep_dense=True)
                pruned = nm_prune(w, 2, 4)
                backend = semi_structured_backend(ws)
                row["path"] = NM_LINEAR_PATHS.get(backend, f"semi-structured ({backend})")
                with torch.no_grad():
                    got, want = nm_linear(x, ws), F.linear(x, pruned)
                row["max_abs_err"], row["max_err_over_tolerance"] = _nm_linear_error(got, want, x, pruned)
                row["matches"] = row["max_err_over_tolerance"] <= 1
                del got, want
                xg = x.clone().requires_grad_()
                times = _median_times_interleaved({
                    "sparse_forward_s": lambda: nm_linear(x, ws),
                    "dense_forward_s": lambda: F.linear(x, pruned),
                    "sparse_forward_backward_s": lambda: torch.autograd.grad(nm_linear(xg, ws), xg, up),
                    "dense_forward_backward_s": lambda: torch.autograd.grad(F.linear(xg, pruned), xg, up),
                }, repeat)
            except (RuntimeError, NotImplementedError) as e:  # a failing sparse kernel: say so, go on
                results.append({**row, "error": f"{type(e).__name__}: {e}"})
                continue
            results.append({
                **row, **times, "forward_speedup": times["dense_forward_s"] / times["sparse_forward_s"],
                "forward_backward_speedup": times["dense_forward_backward_s"] / times["sparse_forward_backward_s"],
            })
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kernels.bench", description=__doc__.splitlines()[0])
    p.add_argument("--json", nargs="?", const="-", default=None, metavar="PATH",
                   help="print one JSON object instead of the tables; with PATH, print the tables and write the "
                        "JSON object to PATH")
    p.add_argument("--sizes", default="1M,16M,64M", help=f"comma-separated among {list(SIZES)}")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--tables", default=",".join(TABLES), help=f"comma-separated among {list(TABLES)}")
    p.add_argument("--lif-shapes", default=None,
                   help=f"comma-separated BxTxH of the lif table (default {LIF_SHAPES['cpu']}; on CUDA "
                        f"{LIF_SHAPES['cuda']})")
    p.add_argument("--image-shapes", default=None,
                   help=f"comma-separated ...xHxW of the image_gradients table (default {IMAGE_SHAPES['cpu']}; on "
                        f"CUDA {IMAGE_SHAPES['cuda']})")
    p.add_argument("--nm-linear-shapes", default=NM_LINEAR_SHAPES,
                   help=f"comma-separated OUTxIN:BATCH of the nm_linear table (default {NM_LINEAR_SHAPES}; on CPU "
                        f"those over {NM_LINEAR_CPU_MAX_MACS:.0e} multiply-adds are skipped)")
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
        nm_linear_shapes = _nm_linear_shapes(args.nm_linear_shapes)
    except ValueError as e:
        p.error(str(e))
    results = run(sizes, args.repeat, device) if "nm" in tables else []
    factorized = run_factorized(args.repeat, device) if "factorized" in tables else []
    lif_rows = run_lif(lif_shapes, args.repeat, device) if "lif" in tables else []
    image_rows = run_image_gradients(image_shapes, args.repeat, device) if "image_gradients" in tables else []
    linear_rows = run_nm_linear(nm_linear_shapes, args.repeat, device) if "nm_linear" in tables else []
    # a sparse result off the dense one, or a failing sparse kernel, is a bug: exit 1 after reporting everything
    rc = int(any("error" in r or r.get("matches") is False for r in linear_rows))
    if args.json is not None:
        text = json.dumps({"device": device, "torch": torch.__version__, "threads": torch.get_num_threads(),
                           "results": results, "factorized": factorized, "lif": lif_rows,
                           "image_gradients": image_rows, "nm_linear": linear_rows})
        if args.json == "-":
            print(text)
            return rc
        with open(args.json, "w") as f:
            f.write(text + "\n")
    print(f"device={device} torch={torch.__version__} threads={torch.get_num_threads()}")
    if results:
        _print_nm(results)
    if factorized:
        _print_factorized(factorized)
    if lif_rows:
        _print_lif(lif_rows)
    if image_rows:
        _print_image_gradients(image_rows)
    if linear_rows:
        _print_nm_linear(linear_rows)
    return rc


def _print_nm(results: list[dict]) -> None:
    print(f"{'op':12s} {'n:m':5s} {'backend':14s} {'dtype':9s} {'numel':>9s} {'ours ms':>9s} {'ref ms':>9s} "
          f"{'clone ms':>9s} {'ours/ref':>9s} {'ours/clone':>10s}")
    for r in results:
        ref = f"{1e3 * r['reference_s']:9.2f}" if r["reference_s"] else f"{'-':>9s}"
        ratio = f"{r['ours_over_reference']:9.2f}" if r["reference_s"] else f"{'-':>9s}"
        print(f"{r['op']:12s} {r['n']}:{r['m']:<3d} {r['backend']:14s} {r['dtype']:9s} {r['numel']:9d} "
              f"{1e3 * r['ours_s']:9.2f} {ref} {1e3 * r['clone_s']:9.2f} {ratio} {r['ours_over_clone']:10.2f}")


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


def _print_nm_linear(results: list[dict]) -> None:
    print("\nnm_linear: x @ W.T with W = to_semi_structured(w) (2:4 along in; cuSPARSELt/CUTLASS on CUDA, else the "
          "dense fallback) vs dense F.linear(x, W_pruned), no bias; fwd+bwd: gradient to x only (the 2:4 weight is a "
          "constant; the sparse side's backward is dense); speed-up = dense / sparse; err: max |sparse - dense|")
    print(f"{'out x in':11s} {'batch':>6s} {'dtype':9s} {'path':29s} {'fwd ms':>9s} {'dense':>9s} {'speed-up':>8s} "
          f"{'f+b ms':>9s} {'dense':>9s} {'speed-up':>8s} {'err':>9s}")
    for r in results:
        head = f"{r['out']}x{r['in']:<{10 - len(str(r['out']))}d} {r['batch']:6d}"
        if "skipped" in r:
            print(f"{head} skipped: {r['skipped']}")
        elif "error" in r:
            print(f"{head} {r['dtype']:9s} {r.get('path', '-'):29s} ERROR {r['error']}")
        else:
            flag = "" if r["matches"] else f"  MISMATCH ({r['max_err_over_tolerance']:.1f} x tolerance)"
            print(f"{head} {r['dtype']:9s} {r['path']:29s} {1e3 * r['sparse_forward_s']:9.3f} "
                  f"{1e3 * r['dense_forward_s']:9.3f} {r['forward_speedup']:8.2f} "
                  f"{1e3 * r['sparse_forward_backward_s']:9.3f} {1e3 * r['dense_forward_backward_s']:9.3f} "
                  f"{r['forward_backward_speedup']:8.2f} {r['max_abs_err']:9.2g}{flag}")


if __name__ == "__main__":
    sys.exit(main())
