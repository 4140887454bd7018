import json
import subprocess
import sys

KEYS = {"op", "n", "m", "dtype", "numel", "device", "backend", "ours_s", "reference_s", "clone_s"}


def test_bench_json_has_the_documented_fields():
    proc = subprocess.run([sys.executable, "-m", "kernels.bench", "--json", "--sizes", "64K", "--repeat", "1"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["results"]
    for r in data["results"]:
        assert KEYS <= set(r)
        assert r["ours_s"] > 0 and r["clone_s"] > 0 and r["reference_s"] > 0
    assert {(r["op"], r["n"], r["m"]) for r in data["results"]} >= {("nm_prune", 2, 4), ("mvue_prune", 2, 4)}
