import json
import math
import subprocess
import sys

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels import nm_prune
from kernels.bench import _nm_linear_error, run_nm_linear

KEYS = {"op", "n", "m", "dtype", "numel", "device", "backend", "ours_s", "reference_s", "clone_s"}
FACTORIZED_KEYS = {"op", "layer", "n", "d", "k", "s", "bits", "batch", "dtype", "device", "backend", "ours_s",
                   "dense_s", "dense_bytes", "stored_bytes", "packed_bytes"}
LIF_KEYS = {"op", "B", "T", "H", "dtype", "surrogate", "device", "backend", "forward_s", "reference_forward_s",
            "forward_backward_s", "reference_forward_backward_s", "forward_ratio", "forward_backward_ratio"}


def bench_json(*args):
    proc = subprocess.run([sys.executable, "-m", "kernels.bench", "--json", "--repeat", "1", *args],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_bench_json_has_the_documented_fields():
    data = bench_json("--sizes", "64K")
    assert data["results"]
    for r in data["results"]:
        assert KEYS <= set(r)
        assert r["ours_s"] > 0 and r["clone_s"] > 0 and r["reference_s"] > 0
    assert {(r["op"], r["n"], r["m"]) for r in data["results"]} >= {("nm_prune", 2, 4), ("mvue_prune", 2, 4)}
    assert {r["layer"] for r in data["factorized"]} == {"256x256", "128x3136"}


def test_bench_factorized_table():
    data = bench_json("--tables", "factorized")
    assert data["results"] == []
    for r in data["factorized"]:
        assert FACTORIZED_KEYS <= set(r) and r["op"] == "factorized_linear"
        assert r["ours_s"] > 0 and r["dense_s"] > 0  # figures, never compared
        assert r["dense_bytes"] == r["n"] * r["d"] * 4
        # stored as held: int64 indices, int8 codes (n s + k d), float32 scales (n of Z's rows, k of C's)
        assert r["stored_bytes"] == r["n"] * r["s"] * 9 + r["k"] * r["d"] + (r["n"] + r["k"]) * 4
        assert r["packed_bytes"] < r["stored_bytes"] < r["dense_bytes"]


def test_bench_lif_table():
    data = bench_json("--tables", "lif", "--lif-shapes", "4x5x3,2x1x6")
    assert data["results"] == [] and data["factorized"] == []
    assert [(r["B"], r["T"], r["H"]) for r in data["lif"]] == [(4, 5, 3), (2, 1, 6)]
    for r in data["lif"]:
        assert LIF_KEYS <= set(r) and r["op"] == "lif" and r["backend"] in ("torch", "numba", "triton")
        assert r["forward_s"] > 0 and r["reference_forward_backward_s"] > 0  # figures, never compared
        assert r["forward_ratio"] == r["reference_forward_s"] / r["forward_s"]
        assert r["forward_backward_ratio"] == r["reference_forward_backward_s"] / r["forward_backward_s"]


def test_bench_rejects_bad_lif_shapes():
    proc = subprocess.run([sys.executable, "-m", "kernels.bench", "--tables", "lif", "--lif-shapes", "4x5"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "--lif-shapes: expected BxTxH" in proc.stderr


NM_LINEAR_KEYS = {"op", "out", "in", "batch", "macs", "dtype", "device", "path", "backward", "sparse_forward_s",
                  "dense_forward_s", "sparse_forward_backward_s", "dense_forward_backward_s", "forward_speedup",
                  "forward_backward_speedup", "max_abs_err", "max_err_over_tolerance", "matches"}


def test_bench_nm_ratios_are_in_the_json():
    data = bench_json("--sizes", "64K", "--tables", "nm")
    assert data["factorized"] == [] and data["nm_linear"] == []
    for r in data["results"]:
        assert r["backend"] in ("numba", "torch", "triton")
        assert r["method"] == ("mse" if r["op"] == "nm_prune" else "exact")
        assert r["ours_over_clone"] == r["ours_s"] / r["clone_s"]
        assert r["ours_over_reference"] == r["ours_s"] / r["reference_s"]


def _check_linear_row(r, path):
    assert NM_LINEAR_KEYS <= set(r) and r["op"] == "nm_linear" and r["path"] == path
    assert r["macs"] == r["out"] * r["in"] * r["batch"]
    times = [r[k] for k in ("sparse_forward_s", "dense_forward_s", "sparse_forward_backward_s",
                            "dense_forward_backward_s")]
    assert all(math.isfinite(t) and t > 0 for t in times)
    assert r["forward_speedup"] == r["dense_forward_s"] / r["sparse_forward_s"]
    assert r["forward_backward_speedup"] == r["dense_forward_backward_s"] / r["sparse_forward_backward_s"]
    assert r["matches"] and 0 <= r["max_err_over_tolerance"] <= 1 and r["max_abs_err"] >= 0
    assert "gradient to x only" in r["backward"]


def test_run_nm_linear_on_cpu_is_the_dense_fallback():
    rows = run_nm_linear([(8, 16, 4), (32, 64, 3), (4096, 4096, 4096)], repeat=2, device="cpu")
    assert [(r["out"], r["in"], r["batch"]) for r in rows] == [(8, 16, 4), (32, 64, 3), (4096, 4096, 4096)]
    for r in rows[:2]:
        _check_linear_row(r, "dense fallback")
        assert r["dtype"] == "float32" and r["device"] == "cpu"
        assert r["max_abs_err"] == 0  # the same F.linear on both sides
    assert set(rows[2]) == {"op", "out", "in", "batch", "macs", "device", "skipped"}
    assert "6.9e+10 multiply-adds" in rows[2]["skipped"] and "over 1e+09 on cpu" in rows[2]["skipped"]
    assert "skipped" not in run_nm_linear([(4, 8, 2)], repeat=1, device="cpu", max_macs=64)[0]
    assert "skipped" in run_nm_linear([(4, 8, 3)], repeat=1, device="cpu", max_macs=64)[0]


def test_run_nm_linear_through_a_compressed_weight(monkeypatch):
    """The bench's sparse branch on CPU, with the CPU stand-in for the semi-structured classes: forward through
    torch's dispatch, backward through nm_linear's autograd function, output checked against the dense one."""
    import kernels.semi_structured as ss
    from tests.kernels.test_semi_structured_linear import FakeSemiStructured

    monkeypatch.setattr(ss, "semi_structured_supported", lambda w: True)
    monkeypatch.setattr(ss, "_compress", FakeSemiStructured.from_dense)
    rows = run_nm_linear([(8, 16, 4), (16, 32, 5)], repeat=1, device="cpu", dtypes=[torch.float32, torch.float64])
    assert [r["dtype"] for r in rows] == ["float32", "float64"] * 2
    for r in rows:
        _check_linear_row(r, "semi-structured (fake)")


def test_run_nm_linear_reports_a_failing_sparse_kernel(monkeypatch):
    import kernels.semi_structured as ss

    def broken(dense):
        raise RuntimeError("CUDA error: no kernel image")

    monkeypatch.setattr(ss, "semi_structured_supported", lambda w: True)
    monkeypatch.setattr(ss, "_compress", broken)
    (r,) = run_nm_linear([(8, 16, 4)], repeat=1, device="cpu")
    assert r["error"] == "RuntimeError: CUDA error: no kernel image" and "sparse_forward_s" not in r


@settings(max_examples=25, deadline=None)
@given(out=st.integers(1, 24), k4=st.integers(1, 24), batch=st.integers(1, 9),
       dtype=st.sampled_from([torch.float32, torch.float16, torch.bfloat16]), seed=st.integers(0, 2 ** 16))
def test_nm_linear_error_accepts_rounding_and_rejects_a_wrong_operand(out, k4, batch, dtype, seed):
    """Property: the sparse output (here: the product of the pruned weight in float64, rounded to the dtype, as an
    exactly-accumulating kernel would give) is within tolerance of the dense one computed in the dtype; the product
    with the unpruned weight (a kernel reading the wrong operand) is not, given enough outputs to tell apart."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 4 * k4, generator=g).to(dtype)
    w = torch.randn(out, 4 * k4, generator=g).to(dtype)
    pruned = nm_prune(w, 2, 4)
    dense = F.linear(x, pruned)
    exact = F.linear(x.double(), pruned.double()).to(dtype)
    err, over = _nm_linear_error(exact, dense, x, pruned)
    assert over <= 1 and err == float((exact.float() - dense.float()).abs().max())
    assert _nm_linear_error(dense, dense, x, pruned) == (0.0, 0.0)
    wrong = F.linear(x.double(), w.double()).to(dtype)  # the dropped half of the weights included
    if out * batch >= 16:  # a few outputs in bfloat16 can miss it (over 6000 draws, 16 outputs gave >= 2.8x)
        assert _nm_linear_error(wrong, dense, x, pruned)[1] > 1


def test_bench_nm_linear_cli(tmp_path):
    data = bench_json("--tables", "nm_linear", "--nm-linear-shapes", "8x16:4,4096x4096:4096")
    assert data["results"] == [] and data["lif"] == []
    (r, skipped) = data["nm_linear"]
    _check_linear_row(r, "dense fallback" if data["device"] == "cpu" else r["path"])
    assert (skipped["out"], skipped["batch"]) == (4096, 4096) and "skipped" in skipped
    path = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "kernels.bench", "--tables", "nm_linear", "--repeat", "1",
                           "--nm-linear-shapes", "8x16:4", "--json", str(path)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "nm_linear: x @ W.T" in proc.stdout and "dense fallback" in proc.stdout  # the table, printed
    assert json.loads(path.read_text())["nm_linear"][0]["out"] == 8
    for bad in ("8x15:4", "8x16", "8x16:0"):
        proc = subprocess.run([sys.executable, "-m", "kernels.bench", "--tables", "nm_linear", "--nm-linear-shapes",
                               bad], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 2 and "--nm-linear-shapes: expected OUTxIN:BATCH" in proc.stderr
