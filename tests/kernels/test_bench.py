import json
import subprocess
import sys

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
        assert LIF_KEYS <= set(r) and r["op"] == "lif" and r["backend"] in ("torch", "triton")
        assert r["forward_s"] > 0 and r["reference_forward_backward_s"] > 0  # figures, never compared
        assert r["forward_ratio"] == r["reference_forward_s"] / r["forward_s"]
        assert r["forward_backward_ratio"] == r["reference_forward_backward_s"] / r["forward_backward_s"]


def test_bench_rejects_bad_lif_shapes():
    proc = subprocess.run([sys.executable, "-m", "kernels.bench", "--tables", "lif", "--lif-shapes", "4x5"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "--lif-shapes: expected BxTxH" in proc.stderr
