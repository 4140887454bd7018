"""The learned agents by name: the three that ``reproduce`` trains and the app ships, and the hybrid's variants.

``continuous`` and ``discrete`` are :mod:`~workbench.execution.agents`' policies; ``hybrid`` is HALOP as the workbench
trains it, :class:`~workbench.execution.hybrid.HybridPolicy`: the continuous head scopes a centre in bps, one network
scores each of the ``2W+1`` prices around it from the state and that price's book features, and that head learns
from what every price of its window would have done over the step. It is the variant that beats the continuous
agent; the variants it was found among, the first hybrid (``hybrid_ppo``: both heads trained by PPO alone)
included, are :data:`~workbench.execution.research.hybrid_variants.VARIANTS`.
"""

from __future__ import annotations

from workbench.execution.agents import ContinuousPolicy, DiscretePolicy
from workbench.execution.hybrid import HybridPolicy
from workbench.execution.research.hybrid_variants import VARIANTS

__all__ = ["LEARNED_AGENTS", "make_policy", "make_learner"]

LEARNED_AGENTS = {"continuous": ContinuousPolicy, "discrete": DiscretePolicy, "hybrid": HybridPolicy}


def make_policy(name: str, **kwargs):
    """A fresh shipped learner by name (``continuous``, ``discrete``, ``hybrid``)."""
    if name not in LEARNED_AGENTS:
        raise ValueError(f"name: expected one of {sorted(LEARNED_AGENTS)}, got {name!r}")
    return LEARNED_AGENTS[name](**kwargs)


def make_learner(name: str, **kwargs):
    """A fresh learner by name: a shipped one, or a research variant of the hybrid (:data:`VARIANTS`)."""
    if name in VARIANTS:
        return VARIANTS[name](**kwargs)
    if name not in LEARNED_AGENTS:
        raise ValueError(f"name: expected one of {[*LEARNED_AGENTS, *VARIANTS]}, got {name!r}")
    return LEARNED_AGENTS[name](**kwargs)
