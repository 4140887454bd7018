"""Metric-based anisotropic remeshing with Mmg (through PyPI's ``mmgpy``), on plain arrays.

A mesh here is :class:`TriMesh`: ``vertices (n, 2)`` float, ``triangles (m, 3)`` int (counter-clockwise),
``edges (b, 2)`` int boundary edges and ``edge_tags (b,)`` their boundary tags. Mmg keeps the tags on
the boundary edges it splits or merges and the channel's four corners (set as Mmg corners).
:mod:`mesh_conversion` converts to and from Firedrake meshes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.mesh_adaptation.farm import INFLOW_TAG, LENGTH, OUTFLOW_TAG, WALL_TAG, WIDTH
from workbench.mesh_adaptation.metric import check_metric, triangle_areas

__all__ = ["TriMesh", "rectangle_mesh", "remesh", "uniform_channel_mesh"]


@dataclass
class TriMesh:
    """A triangle mesh with tagged boundary edges (see the module docstring for the shapes)."""

    vertices: np.ndarray
    triangles: np.ndarray
    edges: np.ndarray
    edge_tags: np.ndarray

    def __post_init__(self):
        self.vertices = np.ascontiguousarray(self.vertices, dtype=np.float64)
        self.triangles = np.ascontiguousarray(self.triangles, dtype=np.int32)
        self.edges = np.ascontiguousarray(self.edges, dtype=np.int32)
        self.edge_tags = np.ascontiguousarray(self.edge_tags, dtype=np.int32)
        if self.vertices.ndim != 2 or self.vertices.shape[1] != 2:
            raise ValueError(f"vertices: expected shape (n, 2), got {self.vertices.shape}")
        if self.triangles.ndim != 2 or self.triangles.shape[1] != 3:
            raise ValueError(f"triangles: expected shape (m, 3), got {self.triangles.shape}")
        if len(self.triangles) and (self.triangles.min() < 0 or self.triangles.max() >= len(self.vertices)):
            raise ValueError("triangles: vertex indices out of range")
        if self.edges.shape != (len(self.edge_tags), 2):
            raise ValueError(f"edges, edge_tags: expected shapes (b, 2) and (b,), got {self.edges.shape} and "
                             f"{self.edge_tags.shape}")
        p = self.vertices[self.triangles]
        e1, e2 = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
        flip = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0] < 0
        self.triangles[flip] = self.triangles[flip][:, [0, 2, 1]]

    @property
    def n_cells(self) -> int:
        return len(self.triangles)

    def areas(self) -> np.ndarray:
        return triangle_areas(self.vertices, self.triangles)

    def corners(self) -> np.ndarray:
        """Vertices where two boundary edges of different tags meet, or where the boundary turns."""
        out = []
        lo, hi = self.vertices.min(0), self.vertices.max(0)
        for k, (x, y) in enumerate(self.vertices):
            if (np.isclose(x, lo[0]) or np.isclose(x, hi[0])) and (np.isclose(y, lo[1]) or np.isclose(y, hi[1])):
                out.append(k)
        return np.asarray(out, dtype=np.int32)


def rectangle_mesh(nx: int, ny: int, length: float = LENGTH, width: float = WIDTH) -> TriMesh:
    """A structured ``nx x ny`` rectangle mesh (two triangles per cell), tags 1 (x=0), 2 (x=L), 3 (walls)."""
    if not (isinstance(nx, (int, np.integer)) and isinstance(ny, (int, np.integer)) and nx >= 1 and ny >= 1):
        raise ValueError(f"nx, ny: expected positive integers, got {nx!r}, {ny!r}")
    x, y = np.meshgrid(np.linspace(0, length, nx + 1), np.linspace(0, width, ny + 1))
    vertices = np.c_[x.ravel(), y.ravel()]
    idx = np.arange((nx + 1) * (ny + 1)).reshape(ny + 1, nx + 1)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, 1:].ravel(), idx[1:, :-1].ravel()
    triangles = np.r_[np.c_[a, b, c], np.c_[a, c, d]]
    edges = np.r_[np.c_[idx[0, :-1], idx[0, 1:]], np.c_[idx[-1, :-1], idx[-1, 1:]],
                  np.c_[idx[:-1, 0], idx[1:, 0]], np.c_[idx[:-1, -1], idx[1:, -1]]]
    tags = np.r_[np.full(2 * nx, WALL_TAG), np.full(ny, INFLOW_TAG), np.full(ny, OUTFLOW_TAG)]
    return TriMesh(vertices, triangles, edges, tags)


def remesh(mesh: TriMesh, metric: np.ndarray, hgrad: float = 1.3, hausd: float | None = None) -> TriMesh:
    """A new mesh adapted to the vertex ``metric`` ``(n, 2, 2)`` (Mmg2d, anisotropic).

    The metric must be finite, symmetric and positive-definite, and its complexity may ask for at most
    :data:`~workbench.mesh_adaptation.metric.MAX_CELLS` cells: :func:`~workbench.mesh_adaptation.metric.check_metric`
    raises ``ValueError`` before Mmg runs.
    """
    try:
        import mmgpy
    except ImportError as e:  # pragma: no cover - part of the default install
        raise ImportError("remesh needs mmgpy: pip install mmgpy (or `make install`)") from e
    metric = check_metric(mesh.vertices, mesh.triangles, metric)
    m = mmgpy.MmgMesh2D()
    m.set_mesh_size(vertices=len(mesh.vertices), triangles=len(mesh.triangles), edges=len(mesh.edges))
    m.set_vertices(mesh.vertices)
    m.set_triangles(mesh.triangles)
    m.set_edges(mesh.edges, mesh.edge_tags)
    m.set_corners(mesh.corners())
    m.set_field("tensor", np.c_[metric[:, 0, 0], metric[:, 0, 1], metric[:, 1, 1]])
    opts = {"hgrad": hgrad, "verbose": -1}
    if hausd is not None:
        opts["hausd"] = hausd
    result = m.remesh(**opts)
    if isinstance(result, dict) and result.get("return_code", 0) != 0:
        raise RuntimeError(f"Mmg failed: {result}")
    edges, tags = m.get_edges_with_refs()
    return TriMesh(m.get_vertices(), m.get_triangles(), np.asarray(edges), np.asarray(tags))


def uniform_channel_mesh(h: float = 20.0, length: float = LENGTH, width: float = WIDTH) -> TriMesh:
    """A quasi-uniform unstructured mesh of element size ``h`` m (the paper's initial meshes: gmsh, 20 m)."""
    if not h > 0:
        raise ValueError(f"h: expected a positive element size in m, got {h!r}")
    coarse = rectangle_mesh(max(1, int(round(length / (4 * h)))), max(1, int(round(width / (4 * h)))), length, width)
    iso = np.broadcast_to(np.eye(2) / h ** 2, (len(coarse.vertices), 2, 2)).copy()
    return remesh(coarse, iso, hgrad=1.3)
