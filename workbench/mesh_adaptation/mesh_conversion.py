"""Firedrake meshes to and from :class:`~workbench.mesh_adaptation.remeshing.TriMesh` arrays.

To Firedrake: a PETSc DMPlex from the cell list (interpolated, so it has edges), the boundary tags
written to its ``"Face Sets"`` label (each tagged edge found as the join of its two vertices), then
``firedrake.Mesh``. From Firedrake: the P1 coordinate field gives vertices and triangles; each exterior
facet is the edge of its cell opposite the local vertex with the facet's number (UFC numbering), with
the facet's boundary marker as its tag.
"""

from __future__ import annotations

import numpy as np

from workbench.mesh_adaptation.firedrake_support import require_firedrake
from workbench.mesh_adaptation.remeshing import TriMesh

__all__ = ["to_firedrake", "from_firedrake"]


def to_firedrake(mesh: TriMesh, name: str = "channel"):
    """A Firedrake mesh with the same vertices, triangles and boundary tags."""
    fd = require_firedrake()
    from firedrake.petsc import PETSc

    if not isinstance(mesh, TriMesh):
        raise TypeError(f"mesh: expected a TriMesh, got {type(mesh).__name__}")
    plex = PETSc.DMPlex().createFromCellList(2, mesh.triangles, mesh.vertices, comm=PETSc.COMM_WORLD)
    plex.createLabel("Face Sets")
    v_start, _ = plex.getDepthStratum(0)
    for (a, b), tag in zip(mesh.edges.tolist(), mesh.edge_tags.tolist()):
        join = plex.getJoin([v_start + a, v_start + b])
        if len(join) != 1:
            raise ValueError(f"edges: ({a}, {b}) is not an edge of the triangulation")
        plex.setLabelValue("Face Sets", int(join[0]), int(tag))
    return fd.Mesh(plex, name=name, reorder=False)


def from_firedrake(mesh) -> TriMesh:
    """Vertices, triangles and tagged boundary edges of a (serial) Firedrake triangle mesh."""
    require_firedrake()
    coords = mesh.coordinates
    if coords.function_space().ufl_element().degree() != 1:
        raise ValueError("mesh: expected straight-sided (P1 coordinate) triangles")
    vertices = np.array(coords.dat.data_ro, dtype=np.float64)
    triangles = np.array(coords.function_space().cell_node_list, dtype=np.int64)
    ext = mesh.exterior_facets
    cells = np.asarray(ext.facet_cell).reshape(-1)
    local = np.asarray(ext.local_facet_dat.data_ro).reshape(-1)
    edges, tags = [], []
    for tag in ext.unique_markers:
        idx = ext.subset(int(tag)).indices
        for f in idx:
            tri = triangles[cells[f]]
            edges.append(np.delete(tri, local[f]))
            tags.append(int(tag))
    return TriMesh(vertices, triangles, np.asarray(edges, dtype=np.int64).reshape(-1, 2), np.asarray(tags))
