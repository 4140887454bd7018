"""The flow over an adapted mesh as a 3-D surface (Plotly): height and colour are the flow speed |u| at the
mesh's vertices, so the turbines' wakes show as troughs, and the mesh's triangles, refined around them, are the
surface's facets. A view module (imports Plotly); core modules never import it."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from workbench.mesh_adaptation.farm import CASES
from workbench.mesh_adaptation.store import StoredIteration

__all__ = ["speed_surface", "MAX_SURFACE_TRIANGLES"]

MAX_SURFACE_TRIANGLES = 40_000  # a larger surface is sent decimated (an even subset of the triangles)


def speed_surface(it: StoredIteration, case: str, title: str) -> go.Figure:
    """A ``Mesh3d`` of ``it``'s triangles lifted to the flow speed at their vertices, turbines marked above it.

    Raises ``ValueError`` when the iteration stored no flow field (``it.speed is None``)."""
    if it.speed is None:
        raise ValueError("it: this iteration stored no flow speed (rerun it live, or pick another)")
    if case not in CASES:
        raise ValueError(f"case: expected one of {sorted(CASES)}, got {case!r}")
    tri = it.triangles
    if len(tri) > MAX_SURFACE_TRIANGLES:
        tri = tri[np.linspace(0, len(tri) - 1, MAX_SURFACE_TRIANGLES).astype(int)]
    v = it.vertices.astype(np.float64)
    speed = it.speed.astype(np.float64)
    surface = go.Mesh3d(x=v[:, 0], y=v[:, 1], z=speed, i=tri[:, 0], j=tri[:, 1], k=tri[:, 2], intensity=speed,
                        colorscale="Viridis", colorbar={"title": {"text": "|u| (m/s)"}, "len": 0.7},
                        flatshading=True, hovertemplate="x %{x:.0f} m<br>y %{y:.0f} m<br>|u| %{z:.2f} m/s"
                                                         "<extra></extra>", name="flow speed")
    c = CASES[case]
    top = float(speed.max()) * 1.05
    turbines = go.Scatter3d(x=[t[0] for t in c.turbines], y=[t[1] for t in c.turbines], z=[top] * len(c.turbines),
                            mode="markers", marker={"size": 5, "color": "white", "line": {"color": "black", "width": 1},
                                                    "symbol": "square"}, name="turbines", hoverinfo="name")
    fig = go.Figure([surface, turbines])
    fig.update_layout(title={"text": title, "font": {"size": 13}}, margin={"l": 0, "r": 0, "t": 36, "b": 0},
                      height=420, showlegend=False,
                      scene={"xaxis_title": "x (m)", "yaxis_title": "y (m)", "zaxis_title": "|u| (m/s)",
                             "aspectmode": "manual", "aspectratio": {"x": 2.4, "y": 1.0, "z": 0.5},
                             "camera": {"eye": {"x": -0.6, "y": -2.0, "z": 1.2}}})
    return fig
