"""How the shipped hybrid was found: the variants it was chosen among, and what hand-written tick rules can add.

Research code, kept runnable so that its figures (``docs/execution_research.md``) can be reproduced; the shipped
agents are in :mod:`workbench.execution.agents` and :mod:`workbench.execution.hybrid`.

* :mod:`~workbench.execution.research.first_hybrid`: :class:`FirstHybridPolicy`, the first hybrid shipped (the
  variant ``hybrid_ppo``: both heads trained by PPO on the joint log-probability), the base of the variants;
* :mod:`~workbench.execution.research.hybrid_variants`: one change each to its fine-grained head, to how that
  head learns or to how training starts (:data:`VARIANTS`); ``workbench reproduce execution --only hybrid_staged``
  (or any name of :data:`VARIANTS`) trains a variant beside the shipped learners;
* :mod:`~workbench.execution.research.tick_rules`: state-dependent tick rules on top of the shipped continuous
  policy's scope (``python -m workbench.execution.research.tick_rules``).
"""

from workbench.execution.research.first_hybrid import FirstHybridPolicy
from workbench.execution.research.hybrid_variants import (
    VARIANTS, CounterfactualTraining, HybridAnchoredPolicy, HybridBookPolicy, HybridCounterfactualPolicy,
    HybridEntropyPolicy, HybridPricePolicy, HybridQPolicy, HybridStagedPolicy,
)

__all__ = ["FirstHybridPolicy", "VARIANTS", "CounterfactualTraining", "HybridAnchoredPolicy", "HybridBookPolicy",
           "HybridCounterfactualPolicy", "HybridEntropyPolicy", "HybridPricePolicy", "HybridQPolicy",
           "HybridStagedPolicy"]
