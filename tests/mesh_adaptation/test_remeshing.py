import numpy as np
import pytest

from workbench.mesh_adaptation.features import geometry_features
from workbench.mesh_adaptation.farm import INFLOW_TAG, OUTFLOW_TAG, WALL_TAG
from workbench.mesh_adaptation.remeshing import TriMesh, rectangle_mesh, remesh, uniform_channel_mesh


def _boundary_length(mesh: TriMesh, tag: int) -> float:
    e = mesh.edges[mesh.edge_tags == tag]
    return float(np.linalg.norm(mesh.vertices[e[:, 0]] - mesh.vertices[e[:, 1]], axis=1).sum())


def test_uniform_mesh_covers_the_channel_with_its_tags():
    m = uniform_channel_mesh(20.0)
    assert m.areas().sum() == pytest.approx(600000.0, rel=1e-9)
    assert _boundary_length(m, INFLOW_TAG) == pytest.approx(500.0)
    assert _boundary_length(m, OUTFLOW_TAG) == pytest.approx(500.0)
    assert _boundary_length(m, WALL_TAG) == pytest.approx(2400.0)
    # the paper's initial meshes (gmsh, 20 m) have about 3.5k triangles
    assert 2500 < m.n_cells < 5000
    inflow = m.vertices[m.edges[m.edge_tags == INFLOW_TAG].ravel()]
    assert np.allclose(inflow[:, 0], 0.0)


def test_anisotropic_metric_gives_elements_stretched_as_asked():
    m = rectangle_mesh(24, 10)
    # ask for 5 m across x and 50 m along y everywhere: aspect ratio 10, long side along y
    M = np.broadcast_to(np.diag([1 / 5.0 ** 2, 1 / 50.0 ** 2]), (len(m.vertices), 2, 2)).copy()
    out = remesh(m, M)
    p = out.vertices[out.triangles]
    extent = np.abs(p.max(1) - p.min(1))
    ratio = np.median(extent[:, 1] / extent[:, 0])
    assert 5 < ratio < 20  # Mmg meets the metric within its unit-length tolerance
    # complexity 600000 / (5 * 50) = 2400 vertices expected; Mmg lands within a factor of 1.5
    assert 2400 / 1.5 < len(out.vertices) < 2400 * 1.5
    assert _boundary_length(out, INFLOW_TAG) == pytest.approx(500.0)
    assert _boundary_length(out, WALL_TAG) == pytest.approx(2400.0)


def test_bad_metric_is_rejected():
    m = rectangle_mesh(4, 2)
    with pytest.raises(ValueError, match="metric"):
        remesh(m, np.ones((3, 2, 2)))


@pytest.mark.timeout(30)  # the 1e6 I metric used to run Mmg up to 8.4 GB before it was killed
@pytest.mark.parametrize("scale, match", [(1e6, "complexity of at most"), (0.0, "positive-definite"),
                                          (-1.0, "positive-definite")])
def test_runaway_or_degenerate_metric_is_refused_before_mmg(monkeypatch, scale, match):
    import mmgpy

    def never(*args, **kwargs):
        raise AssertionError("Mmg was called")

    monkeypatch.setattr(mmgpy, "MmgMesh2D", never)
    m = rectangle_mesh(4, 2)
    with pytest.raises(ValueError, match=f"metric: expected .*{match}"):
        remesh(m, scale * np.broadcast_to(np.eye(2), (len(m.vertices), 2, 2)))


def test_geometry_features_of_known_triangles():
    v = np.array([[0, 0], [2, 0], [1, np.sqrt(3)], [0, 1], [10, 0], [0, 1]], float)
    tri = np.array([[0, 1, 2], [3, 4, 5][:0] or [0, 4, 3]])
    g = geometry_features(v, tri)
    # equilateral, side 2: |det J| = 2 * area = 2 * sqrt(3); J^T J has eigenvalues 2 and 6, but the aspect ratio of
    # J's singular values is sqrt(3): h1 = cos^2/ar + sin^2 ar stays finite and h2 is bounded by |1/ar - ar| / 2
    assert g[0, 0] == pytest.approx(2 * np.sqrt(3))
    assert g[1, 0] == pytest.approx(10.0)  # legs 10 and 1
    assert abs(g[1, 2]) <= abs(1 / 10 - 10) / 2 + 1e-12
