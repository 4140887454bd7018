"""The results the pipeline ships: one compressed ``.npz`` per test case in ``mesh_adaptation/results/``.

Each file holds the rows of :func:`~workbench.mesh_adaptation.experiments.reproduce` for that case (JSON),
the run's settings, and for each method the meshes of a showcase run, iteration by iteration (float32
vertices, int32 triangles, the error indicators and the flow speed), so the explorer and the notebook
can show adapted meshes without Firedrake. :func:`load_case` reads one back.

Keys: ``rows``, ``meta`` (JSON strings); ``{method}/{k}/vertices (n, 2)``, ``/triangles (m, 3)``,
``/indicators (m,)``, ``/speed (n,)``, ``/summary`` (JSON: dofs, qoi, estimator, seconds).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["RESULTS", "StoredIteration", "StoredCase", "save_case", "load_case", "stored_cases"]

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class StoredIteration:
    vertices: np.ndarray
    triangles: np.ndarray
    indicators: np.ndarray | None
    speed: np.ndarray | None
    summary: dict

    @classmethod
    def from_iteration(cls, it) -> "StoredIteration":
        """From an :class:`~workbench.mesh_adaptation.adaptation.Iteration` (arrays kept as they are)."""
        return cls(it.mesh.vertices, it.mesh.triangles, it.indicators, it.speed,
                   {"dofs": it.dofs, "qoi": it.qoi, "estimator": it.estimator, "n_cells": it.n_cells,
                    "seconds": it.seconds})


@dataclass
class StoredCase:
    case: str
    rows: list[dict]
    meta: dict
    runs: dict[str, list[StoredIteration]] = field(default_factory=dict)


def save_case(case: str, rows: list[dict], meta: dict, runs: dict[str, list], folder: Path | None = None) -> Path:
    """Write ``runs`` (method -> list of :class:`~workbench.mesh_adaptation.adaptation.Iteration`)."""
    folder = Path(folder or RESULTS)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"rows": np.array(json.dumps(rows)), "meta": np.array(json.dumps(meta))}
    for method, iterations in runs.items():
        for k, it in enumerate(map(StoredIteration.from_iteration, iterations)):
            key = f"{method}/{k}"
            arrays[f"{key}/vertices"] = it.vertices.astype(np.float32)
            arrays[f"{key}/triangles"] = it.triangles.astype(np.int32)
            if it.indicators is not None:
                arrays[f"{key}/indicators"] = it.indicators.astype(np.float32)
            if it.speed is not None:
                arrays[f"{key}/speed"] = it.speed.astype(np.float32)
            arrays[f"{key}/summary"] = np.array(json.dumps(it.summary))
    path = folder / f"{case}.npz"
    np.savez_compressed(path, **arrays)
    return path


def load_case(case: str, folder: Path | None = None) -> StoredCase:
    """The stored results of ``case``; ``FileNotFoundError`` naming the file when missing."""
    path = Path(folder or RESULTS) / f"{case}.npz"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `workbench reproduce mesh_adaptation` with Firedrake "
                                f"installed to produce it")
    with np.load(path) as z:
        out = StoredCase(case, json.loads(str(z["rows"])), json.loads(str(z["meta"])))
        methods: dict[str, dict[int, StoredIteration]] = {}
        for key in z.files:
            parts = key.split("/")
            if len(parts) != 3 or parts[2] != "summary":
                continue
            method, k = parts[0], int(parts[1])
            base = f"{method}/{k}"
            methods.setdefault(method, {})[k] = StoredIteration(
                z[f"{base}/vertices"], z[f"{base}/triangles"],
                z[f"{base}/indicators"] if f"{base}/indicators" in z.files else None,
                z[f"{base}/speed"] if f"{base}/speed" in z.files else None,
                json.loads(str(z[f"{base}/summary"])))
        out.runs = {m: [its[k] for k in sorted(its)] for m, its in methods.items()}
    return out


def stored_cases(folder: Path | None = None) -> list[str]:
    return sorted(p.stem for p in Path(folder or RESULTS).glob("*.npz"))
