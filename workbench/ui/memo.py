"""A page's shared caches: bounded, thread-safe, and able to say whether a result is there without computing it.

A page asks :meth:`Memo.cached` first: a cached result is shown at once, on the session's event loop; anything
else is computed in the job pool (:mod:`workbench.ui.jobs`), off the loop. ``pn.cache`` cannot be asked that
without computing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable

__all__ = ["Memo", "memo"]


class Memo:
    """``fn(*args, **kwargs)`` memoized on its positional ``args`` (keyword arguments, such as a cancel event, are
    not part of the key), at most ``max_items`` results, least recently used dropped first. A result of None is
    not kept (a cancelled computation). Two threads asking for the same missing key may both compute it."""

    def __init__(self, fn: Callable[..., Any], max_items: int):
        if isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 1:
            raise ValueError(f"max_items: expected an integer >= 1, got {max_items!r}")
        self._fn, self.max_items = fn, max_items
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.__doc__, self.__name__ = fn.__doc__, fn.__name__

    def cached(self, *args) -> bool:
        """Whether ``self(*args)`` would return without computing."""
        with self._lock:
            return args in self._items

    def __call__(self, *args, **kwargs):
        with self._lock:
            if args in self._items:
                self._items.move_to_end(args)
                return self._items[args]
        value = self._fn(*args, **kwargs)  # outside the lock: other keys are served meanwhile
        if value is not None:
            with self._lock:
                self._items[args] = value
                while len(self._items) > self.max_items:
                    self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def memo(max_items: int) -> Callable[[Callable[..., Any]], Memo]:
    """Decorator: ``@memo(max_items=8)`` makes a function a :class:`Memo`."""
    return lambda fn: Memo(fn, max_items)
