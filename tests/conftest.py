import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"

# tests read real data sets from ../shared/data (never copied into the repo)
if "WORKBENCH_DATA" not in os.environ and SHARED_DATA.is_dir():
    os.environ["WORKBENCH_DATA"] = str(SHARED_DATA)

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(1234)


@pytest.fixture
def no_data(monkeypatch, tmp_path):
    """No ../shared/data, no data/ folder and no download: what a fresh offline checkout sees (pages fall back to
    their bundled or synthetic data)."""
    from workbench import data

    monkeypatch.setenv("WORKBENCH_DATA", str(tmp_path))
    monkeypatch.setattr(data, "REPO_DATA", tmp_path / "repo-data")
    monkeypatch.setattr(data, "_fetch", lambda url, path: (_ for _ in ()).throw(OSError("offline in tests")))
