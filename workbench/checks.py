"""Argument checks every topic's core shares: a clear ``TypeError``/``ValueError`` that names the argument, the
expected and the received value."""

from __future__ import annotations

import math
import numbers

__all__ = ["check_int", "check_real", "check_names"]


def check_int(name: str, value, minimum: int = 1) -> int:
    """``value`` as an ``int`` (Python or NumPy integers; bools and floats refused) that is at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int >= {minimum}, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value}")
    return int(value)


def check_real(name: str, value, low: float = 0.0, high: float = math.inf, *, low_open: bool = True,
               high_open: bool = False) -> float:
    """``value`` as a finite ``float`` in the interval from ``low`` to ``high`` (open ends as flagged)."""
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open or math.isinf(high) else ']'}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a finite number in {interval}, got {type(value).__name__} {value!r}")
    v = float(value)
    inside = (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
    if not (math.isfinite(v) and inside):
        raise ValueError(f"{name}: expected a finite number in {interval}, got {value!r}")
    return v


def check_names(name: str, values, allowed) -> tuple:
    """``values`` (a non-empty list or tuple, each one of ``allowed``) as a tuple; a ``TypeError`` for a string or a
    non-sequence, a ``ValueError`` listing what is allowed otherwise (what every topic's run settings check)."""
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        raise TypeError(f"{name}: expected a list of names from {list(allowed)}, got {type(values).__name__} "
                        f"{values!r}")
    if not values or any(v not in allowed for v in values):
        raise ValueError(f"{name}: expected names from {list(allowed)}, got {list(values)}")
    return tuple(values)
