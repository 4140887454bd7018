import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_reproduce_quick_json():
    proc = subprocess.run([sys.executable, "-m", "workbench", "reproduce", "structure_learning", "--quick", "--json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    rows = {(r["dataset"], r["method"]): r for r in data["results"]}
    assert set(rows) == {(d, m) for d in ("wine", "cancer") for m in ("logreg", "knn_gcn", "knn_lds")}
    for r in rows.values():
        assert {"dataset", "method", "accuracy_mean", "accuracy_std", "seeds"} <= set(r)
    # one seed, short schedule: kNN-LDS within 5 points of the paper's Table 1 (97.3, 94.4); the issue's
    # 2.5-point bound is for the 5-seed full run
    assert rows[("wine", "knn_lds")]["accuracy_mean"] >= 97.3 - 5
    assert rows[("cancer", "knn_lds")]["accuracy_mean"] >= 94.4 - 5
    assert data["edge_removal"] == []  # the edge-removal experiment belongs to the full run
