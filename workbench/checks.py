"""Argument checks every topic's core shares: a clear ``TypeError``/``ValueError`` that names the argument, the
expected and the received value."""

from __future__ import annotations

import numbers

__all__ = ["check_int"]


def check_int(name: str, value, minimum: int = 1) -> int:
    """``value`` as an ``int`` (Python or NumPy integers; bools and floats refused) that is at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int >= {minimum}, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value}")
    return int(value)
