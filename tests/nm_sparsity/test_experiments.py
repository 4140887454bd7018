import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_reproduce_quick_json_from_the_cli():
    proc = subprocess.run([sys.executable, "-m", "workbench", "reproduce", "nm_sparsity", "--quick", "--json"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)  # stdout holds the JSON object and nothing else
    runs = data["runs"]
    for r in runs:
        assert {"weights", "activations", "gradients", "gradient_mask", "test_accuracy"} <= set(r)
    assert set(data["gradient_bias"]) == {"mse_1:2", "mvue_1:2", "mse_2:4", "mvue_2:4"}
    dense = next(r for r in runs if not (r["weights"] or r["activations"] or r["gradients"]))
    mvue24 = next(r for r in runs if r["gradients"] == [2, 4] and r["gradient_mask"] == "mvue" and not r["weights"])
    assert dense["test_accuracy"] > 0.9  # an MLP on digits reaches ~97 %
    assert mvue24["test_accuracy"] >= dense["test_accuracy"] - 0.02  # the 2-point bound
    # the MSE mask is biased on real gradients, MVUE only shows Monte-Carlo noise
    for nm in ("1:2", "2:4"):
        assert data["gradient_bias"][f"mvue_{nm}"] < data["gradient_bias"][f"mse_{nm}"]
        assert data["gradient_statistics"][f"mvue_{nm}"]["relative_bias_exact"] == 0
