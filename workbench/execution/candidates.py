"""What the book says about each candidate limit price of a fine-grained head's window.

A hybrid's discrete head chooses among the ``2W+1`` prices ``near touch - side * ticks * tick`` around its
continuous centre (a sell's positive ticks are above the best ask: more passive). These functions describe each
candidate in the environment's current state (:class:`~workbench.execution.env.ExecutionEnv` after ``reset`` or
``step``), in units that carry over between stocks: the TWAP slice :math:`\\max(1, X / (T - t))` (shares left
over steps left) for sizes, basis points for prices.

Shapes: ``ticks`` a list of ``J`` integers; every function returns ``(J,)`` or ``(J, F)`` float32.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["N_CANDIDATE_FEATURES", "candidate_features", "opposite_depth_taken", "scope_distance"]

N_CANDIDATE_FEATURES = 4  # columns of candidate_features


def _prices_and_slice(env, ticks) -> tuple[np.ndarray, float]:
    """The candidates' prices ``(J,)`` int64 and the TWAP slice in shares (at least 1)."""
    prices = env.near_touch - env.side * np.asarray(ticks, dtype=np.int64) * env.tick
    return prices, max(1.0, env.remaining / max(1, env.steps - env.steps_done))


def candidate_features(env, ticks) -> np.ndarray:
    """Book features of the limit prices ``ticks`` ticks from the near touch, ``(J, 4)``.

    Per candidate price: 1 if it crosses the spread (executes at once), the log of one plus the visible queue
    at that price and the log of one plus the depth in front of it on our side (both in units of the TWAP
    slice, / 5), and the offset in ticks / 10.
    """
    d, i, side = env.day, env.index, env.side
    prices, slice_ = _prices_and_slice(env, ticks)
    opposite = d.best(i, -side)
    own_prices, own_sizes = d.side_levels(i, side)
    out = np.zeros((len(prices), N_CANDIDATE_FEATURES), dtype=np.float32)
    for j, p in enumerate(prices.tolist()):
        crosses = opposite is not None and (p <= opposite if side == -1 else p >= opposite)
        at = own_sizes[own_prices == p].sum()
        front = own_sizes[own_prices < p].sum() if side == -1 else own_sizes[own_prices > p].sum()
        out[j] = [float(crosses), math.log1p(at / slice_) / 5, math.log1p(front / slice_) / 5, ticks[j] / 10]
    return out


def opposite_depth_taken(env, ticks) -> np.ndarray:
    """Shares each candidate price would take at once from the opposite side (all of its visible levels at or
    better than the price), as :math:`\\log(1 + q / \\mathrm{slice}) / 5`, ``(J,)``: how deep a crossing order
    sweeps, which :func:`candidate_features` do not say."""
    side = env.side
    prices, slice_ = _prices_and_slice(env, ticks)
    opp_prices, opp_sizes = env.day.side_levels(env.index, -side)
    taken = [opp_sizes[opp_prices >= p].sum() if side == -1 else opp_sizes[opp_prices <= p].sum()
             for p in prices.tolist()]
    return (np.log1p(np.asarray(taken, dtype=np.float64) / slice_) / 5).astype(np.float32)


def scope_distance(env, ticks, u: float, scale_bps: float) -> np.ndarray:
    """Each candidate's distance from a continuous head's unrounded offset ``scale_bps * u`` (bps from the near
    touch), in units of ``scale_bps``: :math:`(k \\cdot \\mathrm{tick_{bps}} - \\mathrm{scale} \\cdot u) /
    \\mathrm{scale}`, ``(J,)``."""
    if not scale_bps > 0:
        raise ValueError(f"scale_bps: expected a positive number of basis points, got {scale_bps!r}")
    return ((np.asarray(ticks) * env.ticks_to_bps(1) - scale_bps * u) / scale_bps).astype(np.float32)
