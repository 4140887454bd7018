"""What an exact price can add to a continuous scope: hand-written tick rules on top of a trained policy.

A :class:`ScopedRule` takes a policy's greedy offset in bps from the near touch, as fractional ticks ``f``, and
turns it into a tick by a rule that reads the book: ``round`` (the continuous agent itself), a constant shift,
``floor`` / ``ceil``, or one of the state-dependent rules of :data:`RULES`. :func:`headroom` scores each rule on an
evaluation set, paired by episode against the policy itself: if no rule beats the policy, no fine-grained head
can gain from those prices. ``python -m workbench.execution.research.tick_rules`` prints the table for the shipped
continuous policy on the full run's evaluation sets (about 6 minutes on one core).
"""

from __future__ import annotations

import argparse
from typing import Callable

import numpy as np

from workbench.execution.agents import ContinuousPolicy
from workbench.execution.ppo import evaluate

__all__ = ["ScopedRule", "RULES", "headroom"]


def _cap_at_opposite_best(f: float, env) -> int:
    """A scope that crosses the spread, capped at the opposite best price (a sell: the best bid)."""
    return max(int(round(f)), -int(round(env.spread_ticks)))


RULES: dict[str, Callable[[float, object], int]] = {
    "round": lambda f, env: int(round(f)),
    "shift -2": lambda f, env: int(round(f)) - 2,
    "shift -1": lambda f, env: int(round(f)) - 1,
    "shift +1": lambda f, env: int(round(f)) + 1,
    "shift +2": lambda f, env: int(round(f)) + 2,
    "floor (more aggressive)": lambda f, env: int(np.floor(f)),
    "ceil (more passive)": lambda f, env: int(np.ceil(f)),
    "improve when joining a spread with room": lambda f, env: (
        -1 if int(round(f)) == 0 and env.spread_ticks >= 2 else int(round(f))),
    "cap a crossing scope at the opposite best": _cap_at_opposite_best,
}


class ScopedRule:
    """An agent: a :class:`ContinuousPolicy`'s greedy offset, in fractional ticks, through ``rule(f, env)``."""

    def __init__(self, policy, rule: Callable[[float, object], int], name: str = "rule"):
        if not isinstance(policy, ContinuousPolicy):
            raise TypeError(f"policy: expected a ContinuousPolicy (a continuous scope), got {type(policy).__name__}")
        self.policy, self.rule, self.name = policy, rule, name

    def act(self, obs, env, greedy: bool = True):
        _, scope = self.policy.act(obs, env, greedy=True)
        ticks = int(self.rule(scope["ticks"], env))
        return np.array([env.ticks_to_bps(ticks)]), {"ticks": ticks}


def headroom(policy, env, episodes: list[dict], rules: dict | None = None) -> dict[str, tuple[float, float]]:
    """Each rule's shortfall minus ``policy``'s on the same ``episodes`` of ``env``: (mean, standard error), bps."""
    base = np.array([m["shortfall_bps"] for m in evaluate(policy, env, episodes)])
    out = {}
    for name, rule in (rules or RULES).items():
        x = np.array([m["shortfall_bps"] for m in evaluate(ScopedRule(policy, rule, name), env, episodes)])
        d = x - base
        out[name] = (float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan"))
    return out


def main(argv=None) -> int:
    from workbench.execution import experiments as E
    from workbench.execution.policies import load_policy

    p = argparse.ArgumentParser(prog="python -m workbench.execution.research.tick_rules",
                                description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="one short test day per stock (seconds)")
    args = p.parse_args(argv)
    cfg = E.QUICK if args.quick else E.FULL
    sets = E.evaluation_sets(cfg)
    policy = load_policy("continuous")
    print("tick rules on the shipped continuous policy's scope, minus the policy itself (bps, ± standard error)")
    for name, days in sets.items():
        env = E.task_env(days)
        eps = E.episode_starts(env, cfg.starts_per_day)
        print(f"{name} ({len(eps)} episodes)")
        for rule, (mean, se) in headroom(policy, env, eps).items():
            print(f"  {rule:44s} {mean:+.3f} ± {se:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
