"""E2N: goal-oriented mesh adaptation for tidal-turbine farms, with a network in place of the DWR estimator
(Wallwork, Lu, Zhang, Piggott, 2022), on Firedrake.

Core, no Firedrake needed: :mod:`farm` (test cases, checked input), :mod:`metric` (goal-oriented
Riemannian metrics), :mod:`remeshing` (Mmg through mmgpy), :mod:`network` (E2N in PyTorch),
:mod:`store` (shipped results). With Firedrake (``make firedrake``): :mod:`solver` (steady shallow water,
farm power), :mod:`dwr` (enriched-adjoint indicators, Hessians), :mod:`features`, :mod:`mesh_conversion`,
:mod:`adaptation` (the fixed-point loop) and :mod:`experiments`.
"""

from workbench.mesh_adaptation.farm import CASES, FarmCase, training_case
from workbench.mesh_adaptation.firedrake_support import firedrake_available, require_firedrake
from workbench.mesh_adaptation.metric import anisotropic_dwr_metric, complexity
from workbench.mesh_adaptation.network import E2N, train_e2n
from workbench.mesh_adaptation.remeshing import TriMesh, remesh, uniform_channel_mesh
from workbench.mesh_adaptation.store import load_case

__all__ = ["CASES", "FarmCase", "training_case", "firedrake_available", "require_firedrake",
           "anisotropic_dwr_metric", "complexity", "E2N", "train_e2n", "TriMesh", "remesh", "uniform_channel_mesh",
           "load_case", "reproduce", "Explorer"]


def __getattr__(name):
    # lazy: the experiments import the runner, the explorer imports Panel
    if name == "reproduce":
        from workbench.mesh_adaptation.experiments import reproduce

        return reproduce
    if name == "Explorer":
        from workbench.mesh_adaptation.explorer import Explorer

        return Explorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
