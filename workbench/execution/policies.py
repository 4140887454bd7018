"""The learned policies the workbench ships, and their weights as files and as JSON.

``weights/<name>.pt`` holds the state dict of the shipped ``continuous``, ``discrete`` and ``hybrid`` policies (a
few tens of kB each); ``python -m workbench.execution.ship`` writes them (:mod:`~workbench.execution.ship`) and
:func:`load_policy` reads them back for the explorer, the notebook and the tick-rule study. A full run's tasks
return each trained policy's weights as JSON (:func:`policy_params`), exact: every float32 value survives the trip
through a Python float, and :func:`policy_from_params` rebuilds the policy.
"""

from __future__ import annotations

from pathlib import Path

import torch

from workbench.execution.learners import LEARNED_AGENTS, make_learner, make_policy

__all__ = ["WEIGHTS", "load_policy", "weights_path", "policy_params", "policy_from_params", "state_from_params"]

WEIGHTS = Path(__file__).resolve().parent / "weights"


def _check_name(name) -> str:
    if name not in LEARNED_AGENTS:
        raise ValueError(f"name: expected one of {sorted(LEARNED_AGENTS)}, got {name!r}")
    return name


def weights_path(name: str) -> Path:
    """``weights/<name>.pt`` of a shipped policy (``continuous``, ``discrete``, ``hybrid``)."""
    return WEIGHTS / f"{_check_name(name)}.pt"


def load_policy(name: str):
    """The shipped policy ``name`` (``continuous``, ``discrete``, ``hybrid``), in eval mode."""
    path = weights_path(name)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `python -m workbench.execution.ship` to train it")
    policy = make_policy(name)
    policy.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return policy.eval()


def policy_params(policy: torch.nn.Module) -> dict:
    """A policy's state dict as JSON: ``{key: {"dtype": "float32", "values": nested lists}}`` (exact)."""
    if not isinstance(policy, torch.nn.Module):
        raise TypeError(f"policy: expected a torch.nn.Module, got {type(policy).__name__}")
    return {k: {"dtype": str(v.dtype).removeprefix("torch."), "values": v.tolist()}
            for k, v in policy.state_dict().items()}


def state_from_params(params: dict) -> dict[str, torch.Tensor]:
    """The inverse of :func:`policy_params`: a state dict of tensors."""
    if not isinstance(params, dict) or not all(isinstance(v, dict) and {"dtype", "values"} <= v.keys()
                                               for v in params.values()):
        raise ValueError(f"params: expected policy_params' {{key: {{'dtype', 'values'}}}}, got {str(params)[:80]!r}")
    return {k: torch.tensor(v["values"], dtype=getattr(torch, v["dtype"])) for k, v in params.items()}


def policy_from_params(name: str, params: dict, **kwargs):
    """A fresh learner ``name`` (a shipped one or a research variant; ``kwargs``: its constructor's, e.g. ``hidden``)
    with the weights of :func:`policy_params`, in eval mode."""
    policy = make_learner(name, **kwargs)
    policy.load_state_dict(state_from_params(params))
    return policy.eval()
