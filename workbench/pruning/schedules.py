"""When to prune and how much: one-shot, or Zhu & Gupta's gradual cubic schedule (arXiv 1710.01878, eq. 1).

Cubic: ``s_t = s_f + (s_0 - s_f) (1 - (t - t_0) / (t_1 - t_0))^3`` for ``t_0 <= t <= t_1``, ``s_0`` before and
``s_f`` after; the mask is recomputed every ``every`` steps in between (Zhu & Gupta: 100-1000 steps matter
little). It prunes fast while the network has redundant weights and slowly near the end, when fewer remain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from workbench.checks import check_int

__all__ = ["cubic_sparsity", "Schedule", "check_sparsity"]


def check_sparsity(sparsity, name: str = "sparsity") -> float:
    """``sparsity`` as a float in [0, 1) (1 would remove every weight)."""
    if isinstance(sparsity, bool) or not isinstance(sparsity, (int, float)):
        raise TypeError(f"{name}: expected a float in [0, 1), got {type(sparsity).__name__} {sparsity!r}")
    if not (math.isfinite(sparsity) and 0 <= sparsity < 1):
        raise ValueError(f"{name}: expected a float in [0, 1), got {sparsity!r}")
    return float(sparsity)


def cubic_sparsity(step: int, final: float, start: int, end: int, initial: float = 0.0) -> float:
    """Zhu & Gupta's target sparsity at ``step`` (see the module's docstring); ``end > start``."""
    check_sparsity(final, "final")
    check_sparsity(initial, "initial")
    check_int("step", step, 0)
    check_int("start", start, 0)
    check_int("end", end, 0)
    if end <= start:
        raise ValueError(f"end: expected a schedule that ends after it starts (end > start = {start}), got {end}")
    if step <= start:
        return initial
    if step >= end:
        return final
    return final + (initial - final) * (1 - (step - start) / (end - start)) ** 3


@dataclass(frozen=True)
class Schedule:
    """``kind="one-shot"``: the whole sparsity at ``start``. ``kind="gradual"``: :func:`cubic_sparsity` from
    ``start`` to ``end`` (steps), the mask recomputed every ``every`` steps."""

    kind: str = "gradual"
    start: int = 0
    end: int = 1000
    every: int = 50

    def __post_init__(self):
        if self.kind not in ("one-shot", "gradual"):
            raise ValueError(f"schedule: expected kind 'one-shot' or 'gradual', got {self.kind!r}")
        check_int("start", self.start, 0)
        check_int("end", self.end, 0)
        check_int("every", self.every, 1)
        if self.kind == "gradual" and self.end <= self.start:
            raise ValueError(f"schedule: expected a schedule that ends after it starts (end > start = "
                             f"{self.start}), got end = {self.end}")

    def updates(self, total_steps: int) -> list[int]:
        """The steps (< ``total_steps``) at which the mask is recomputed."""
        if self.kind == "one-shot":
            return [self.start] if self.start < total_steps else []
        steps = list(range(self.start, min(self.end, total_steps - 1) + 1, self.every))
        if self.end < total_steps and steps[-1:] != [self.end]:
            steps.append(self.end)
        return steps

    def target(self, step: int, final: float) -> float:
        if self.kind == "one-shot":
            return final if step >= self.start else 0.0
        return cubic_sparsity(step, final, self.start, self.end)
